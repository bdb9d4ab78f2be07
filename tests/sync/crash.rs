//! Crashes: the process SIGKILLed at random points of a long sync, and PostgreSQL
//! restarted under a running one. Afterwards a new sync must leave the tables equal to the
//! source, redoing no more than the uncommitted pages.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use sqlx::PgPool;

use crate::helpers::binary::{run_binary, sim_env, spawn_binary, text};
use crate::helpers::*;
use feishu_sim::{RateLimit, SimConfig, SimHandle, Simulator, Tenant, TenantSpec};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

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

/// The environment variable that replays a failed run's kill points.
const SEED_VARIABLE: &str = "FEISHU_SYNC_CRASH_SEED";

/// The seed of the kill points: `FEISHU_SYNC_CRASH_SEED` when set (to replay a failure),
/// else a fresh one.
fn kill_point_seed() -> u64 {
    seed_from(std::env::var(SEED_VARIABLE).ok())
}

/// `given` as a seed, or a fresh one without it.
fn seed_from(given: Option<String>) -> u64 {
    match given {
        Some(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VARIABLE}={text:?} is not a u64")),
        None => rand::rng().random(),
    }
}

/// Says, should the test fail (panic) while it is alive, how to replay its kill points.
struct ReplayHint(u64);

impl Drop for ReplayHint {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "the kill points came from seed {seed}; replay them with \
                 {SEED_VARIABLE}={seed} cargo nextest run -E 'test(sigkill_at_random_points)'",
                seed = self.0
            );
        }
    }
}

#[test]
fn a_given_kill_point_seed_is_used_and_none_draws_a_fresh_one() {
    assert_eq!(seed_from(Some(" 1234567 ".into())), 1_234_567);
    let drawn = [seed_from(None), seed_from(None)];
    assert_ne!(drawn[0], drawn[1], "a fresh seed each time");
}

#[sqlx::test]
async fn sigkill_at_random_points_then_a_new_sync_loses_nothing_and_redoes_little(pool: PgPool) {
    let sim = slow_simulator().await;
    let env = sim_env(&sim, &pool);
    let seed = kill_point_seed();
    let _hint = ReplayHint(seed);
    println!("kill-point seed: {seed} (replay with {SEED_VARIABLE}={seed})");
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
    let tasks_again = pages_read_again(&sim, Endpoint::Tasks, "start_create_time");
    let stage_again = pages_read_again(&sim, Endpoint::StageTasks, "after_time");
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

/// A PostgreSQL server of the test's own (initdb in a temporary directory, its own
/// port), so restarting it disturbs no other test. Stopped when dropped.
pub(crate) struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    /// Root may not run PostgreSQL: the tools then run as the `postgres` user.
    as_root: bool,
}

impl PrivateCluster {
    /// `initdb` and start; as root, the server runs as the `postgres` user.
    pub(crate) fn start() -> Self {
        let bin = std::process::Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|dir| std::path::Path::new(dir).join("initdb").exists())
            .expect("PostgreSQL server binaries (initdb, pg_ctl): install the server package");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = PrivateCluster {
            dir,
            bin: bin.into(),
            port,
            as_root: std::process::Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
        };
        if cluster.as_root {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(cluster.dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.pg_ctl(&["start"]);
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl ACTION` with the cluster's port, socket directory and log.
    pub(crate) fn pg_ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-o", &options, "-l", &log, "-w", "-m", "fast"];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let output = command.args(args).output().expect("a PostgreSQL tool runs");
        assert!(
            output.status.success(),
            "{} {args:?}: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.pg_ctl(&["stop"])));
    }
}

#[tokio::test]
async fn postgres_restarted_mid_run_fails_the_run_cleanly_and_the_next_run_completes() {
    let cluster = PrivateCluster::start();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&cluster.url())
        .await
        .expect("the private cluster accepts connections");
    feishu_sync::db::migrate(&pool).await.unwrap();
    let sim = slow_simulator().await;
    let ctx = context(&pool, &sim);
    let total = sim.with_tenant(|t| t.tasks.len()) as i64;
    let run = tokio::spawn({
        let ctx = ctx.clone();
        async move { sync::run_pass(&ctx, &[Endpoint::Tasks], &ReadMode::Incremental).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl(&["restart"]);
        cluster
    })
    .await
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run ends instead of hanging")
        .expect("the run does not panic");

    // Failed (the page in flight was lost) or reconnected and finished: both say so.
    match &outcome {
        Ok(reports) => {
            let r = &reports[0];
            println!("first run: {:?} {:?}", r.status, r.error);
            assert!(
                r.status == RunStatus::Succeeded
                    || (r.status == RunStatus::Failed && r.error.is_some()),
                "{r:?}"
            );
        }
        Err(error) => println!("first run: {error:#}"),
    }
    let restarted_inside_the_run: bool = sqlx::query_scalar(
        "SELECT started_at < pg_postmaster_start_time()
                AND coalesce(finished_at, now()) > pg_postmaster_start_time()
           FROM feishu.sync_runs ORDER BY id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        restarted_inside_the_run,
        "the server restarted while the run ran"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    let state: Option<(Option<chrono::DateTime<chrono::Utc>>, Option<String>, i32)> =
        sqlx::query_as(
            "SELECT watermark, resume_page_token, pass_pages FROM feishu.sync_state
              WHERE stream = 'tasks'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
    match state {
        Some((Some(_), _, _)) => assert_eq!(stored, total, "a watermark means every task landed"),
        Some((None, Some(_), pages)) => {
            assert_eq!(
                i64::from(pages) * 100,
                stored,
                "the cursor counts committed pages only"
            )
        }
        _ => {}
    }
    let next = sync::run_pass(&ctx, &[Endpoint::Tasks], &ReadMode::Incremental)
        .await
        .expect("the next run reaches the database");
    assert_all_succeeded(&next);
    assert_table_matches(&pool, &sim, "tasks").await;
    drop(cluster);
}
