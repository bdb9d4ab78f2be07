//! Crashes: the process SIGKILLed at random points of a long sync, and PostgreSQL
//! restarted under a running one. Afterwards a new sync must leave the tables equal to the
//! source, redoing no more than the uncommitted pages.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sqlx::PgPool;

use feishu_sync::feishu::Endpoint;
use feishu_sync::simulator::{RateLimit, SimConfig, SimHandle, Simulator, Tenant, TenantSpec};
use feishu_sync::sync::{self, RunOptions};
use support::binary::{run_binary, sim_env, spawn_binary, text};
use support::*;

/// A tenant whose first sync takes several seconds at the limits below: 20 task pages,
/// 6 stage-task pages, 25 approval partitions.
async fn slow_simulator() -> SimHandle {
    let spec = TenantSpec {
        seed: 5,
        users: 120,
        semesters: 2,
        activities_per_semester: 2,
        stage_tasks_per_user: 3,
        approval_tasks_per_user: 12,
        tasks: 2_000,
    };
    let mut config = SimConfig::default().with_window(WINDOW);
    for (endpoint, requests) in [(Endpoint::Tasks, 4), (Endpoint::StageTasks, 3)] {
        config.rate_limits.insert(
            endpoint,
            RateLimit {
                requests,
                window: WINDOW,
            },
        );
    }
    Simulator::start(Tenant::generate(&spec), config)
        .await
        .expect("simulator starts")
}

/// Successful first-pass requests (no incremental filter) of `endpoint` asked again:
/// pages read twice.
fn first_pass_pages_read_again(sim: &SimHandle, endpoint: Endpoint, filter: &str) -> usize {
    let mut seen = HashSet::new();
    sim.requests()
        .into_iter()
        .filter(|r| r.endpoint == endpoint && r.status == 200 && r.code == 0)
        .filter(|r| {
            let in_query = r.query.iter().any(|(k, _)| k == filter);
            let in_body = r.body.as_ref().is_some_and(|b| b.get(filter).is_some());
            !in_query && !in_body
        })
        .filter(|r| !seen.insert(format!("{:?} {:?}", r.query, r.body)))
        .count()
}

#[sqlx::test]
async fn sigkill_at_random_points_then_a_new_sync_loses_nothing_and_redoes_little(pool: PgPool) {
    let sim = slow_simulator().await;
    let env = sim_env(&sim, &pool);
    let seed: u64 = rand::rng().random();
    println!("kill-point seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let kills = 3;
    let mut logs = Vec::new();

    for _ in 0..kills {
        let mut spawned = spawn_binary(&["sync"], env.clone());
        let after = Duration::from_millis(rng.random_range(800..2_500));
        tokio::time::sleep(after).await;
        spawned.child.kill().expect("SIGKILL");
        spawned.child.wait().unwrap();
        logs.push(spawned.output());
    }
    let output = run_binary(&["sync"], env).await;

    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "the sync after the kills: {stdout}\n{stderr}"
    );
    assert_tables_match(&pool, &sim).await;
    assert_counts_match(&pool, &sim).await;
    // At a kill, a partition has at most two pages in hand: one being written, one fetched.
    let tasks_again = first_pass_pages_read_again(&sim, Endpoint::Tasks, "start_create_time");
    let stage_again = first_pass_pages_read_again(&sim, Endpoint::StageTasks, "after_time");
    println!("pages read twice: {tasks_again} of tasks, {stage_again} of stage tasks");
    assert!(
        tasks_again <= 2 * kills,
        "{tasks_again} task pages read twice (seed {seed})"
    );
    assert!(
        stage_again <= 2 * 2 * kills,
        "{stage_again} stage-task pages read twice (seed {seed})"
    );
    logs.push(stderr);
    assert!(
        logs.iter()
            .any(|log| log.contains("resuming an unfinished pass")),
        "some pass was cut short and resumed (seed {seed})"
    );
}
