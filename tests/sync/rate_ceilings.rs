//! Frequency limits below the configured rate: the run still completes, the client learns
//! the ceiling (not confused by a limit counted in another window), `status` shows it, and
//! the next sync starts from it.

use std::time::Duration;

use sqlx::PgPool;

use crate::client_resilience::run_streams;
use crate::helpers::*;
use feishu_sim::{RateLimit, SimConfig, SimHandle};
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::SyncContext;

#[sqlx::test]
async fn a_server_limit_below_the_configured_budget_still_completes(pool: PgPool) {
    let mut config = SimConfig::default().with_window(WINDOW);
    config.rate_limits.insert(
        Endpoint::ApprovalTasks,
        RateLimit {
            requests: 8,
            window: WINDOW,
        },
    );
    let sim = simulator_with(config).await;
    let ctx = context(&pool, &sim);

    let reports = run_streams(&ctx, &[Endpoint::Semesters, Endpoint::ApprovalTasks]).await;

    assert_all_succeeded(&reports);
    let limited = sim.stats(Endpoint::ApprovalTasks).rate_limited;
    assert!(limited > 0, "the server did push back");
    assert!(
        ctx.client.budget(Endpoint::ApprovalTasks) < 100,
        "the budget came down from the configured 100 per window"
    );
    assert_all_succeeded(&run_streams(&ctx, &[Endpoint::ApprovalTasks]).await);
    assert!(
        ctx.client.budget(Endpoint::ApprovalTasks) < 100,
        "a second run keeps probing from below the configured rate"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.approval_tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    let users = approval_users(&sim);
    let expected = sim.with_tenant(|t| {
        t.approval_tasks
            .iter()
            .filter(|a| users.contains(&a.user_id))
            .count() as i64
    });
    assert_eq!(rows, expected);
}

/// A server allowing 10 approval requests per 2 s, its `x-ogw-ratelimit-limit` counting
/// per second ("5"), and a client configured at 15 per 2 s: 50 % above the ceiling.
async fn approvals_half_above_the_ceiling(pool: &PgPool) -> (SimHandle, SyncContext) {
    let window = Duration::from_secs(2);
    let mut config = SimConfig::default().with_window(window);
    config.announce_limit_per_second = true;
    config.rate_limits.insert(
        Endpoint::ApprovalTasks,
        RateLimit {
            requests: 10,
            window,
        },
    );
    let sim = simulator_with(config).await;
    let mut settings = client_settings(&sim);
    settings.rate_window = window;
    settings.rate_limits.insert(Endpoint::ApprovalTasks, 15);
    let ctx = context_with(pool, settings, streams_config(&sim));
    (sim, ctx)
}

/// The server enforces 10 per 2 s but its `x-ogw-ratelimit-limit` says "5" (per second);
/// the client counts 15 per 2 s, 50 % above (the low limit keeps the stream bound by its
/// budget, so its few dozen requests surely meet the limit, even on a loaded machine).
/// Reading "5" as a limit in the client's window would halve the rate for the life of the
/// process; the budget must learn the 10 its own requests show instead.
#[sqlx::test]
async fn a_rate_limit_header_counted_in_another_window_does_not_collapse_the_budget(pool: PgPool) {
    let (sim, ctx) = approvals_half_above_the_ceiling(&pool).await;

    let reports = run_streams(&ctx, &[Endpoint::ApprovalTasks]).await;

    assert_all_succeeded(&reports);
    let stats = sim.stats(Endpoint::ApprovalTasks);
    assert!(stats.rate_limited > 0, "the server did push back");
    assert!(
        stats.rate_limited <= 5,
        "a handful of frequency limits, each answered by a dip: {} of {}",
        stats.rate_limited,
        stats.requests
    );
    assert!(
        ctx.client.budget(Endpoint::ApprovalTasks) >= 9,
        "the budget came down to about the server's 10, not to the announced 5: {}",
        ctx.client.budget(Endpoint::ApprovalTasks)
    );
}

/// A server allowing 10 per 2 s (the header counting per second) with the budget 50 % too
/// high: the run learns the ceiling, exports it, and records it for `status`, which tells
/// the user what to configure. The low limit keeps the stream bound by its budget even on a
/// loaded machine.
#[sqlx::test]
async fn status_shows_a_learned_ceiling_below_the_configured_rate(pool: PgPool) {
    let (_sim, ctx) = approvals_half_above_the_ceiling(&pool).await;

    assert_all_succeeded(&run_streams(&ctx, &[Endpoint::ApprovalTasks]).await);

    // 10 per 2 s is 300 a minute; the count can miss a request that crossed the window's edge.
    let learned = ctx.client.rate_ceiling_per_minute(Endpoint::ApprovalTasks);
    assert!(
        learned.is_some_and(|c| (270..=300).contains(&c)),
        "{learned:?}"
    );
    let metrics = ctx.client.metrics().encode();
    let exported = format!(
        r#"feishu_sync_rate_ceiling_per_minute{{endpoint="approval_tasks"}} {}"#,
        learned.unwrap()
    );
    assert!(metrics.contains(&exported), "{metrics}");
    let recorded: Option<i32> = sqlx::query_scalar(
        "SELECT rate_ceiling_per_minute FROM feishu.sync_runs WHERE stream = 'approval_tasks'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(recorded.map(|c| c as u32), learned);
    let mut status_config = feishu_sync::config::Config::default();
    status_config.feishu.rate_limit_window_secs = 2;
    status_config.feishu.rate_limits.approval_tasks = 15;
    let statuses = feishu_sync::commands::status::collect(&pool, &status_config)
        .await
        .unwrap();
    let advice = |stream: &str| {
        statuses
            .iter()
            .find(|s| s.stream == stream)
            .and_then(|s| s.rate_advice.clone())
    };
    let approvals = advice("approval_tasks").expect("advice");
    assert!(
        approvals.contains("below the configured 450")
            && approvals.contains("feishu.rate_limits.approval_tasks = "),
        "{approvals}"
    );
    assert_eq!(advice("tasks"), None, "no limit met, nothing learned");
}

/// Issue 25: a `sync` after one that learned a ceiling starts from it (the recorded
/// `rate_ceiling_per_minute`) instead of learning it again through frequency limits. Both
/// runs are configured at 15 per 2 s. The first server allows 10, and the first run meets
/// its limit; the second server allows 12, a little above the learned ceiling, so a run
/// starting at the ceiling meets none, even with a request late on a loaded machine, while
/// one starting at the configured 15 would.
#[sqlx::test(migrations = false)]
async fn a_second_sync_starts_from_the_ceiling_the_first_learned(pool: PgPool) {
    use crate::helpers::binary::{run_binary, sim_env, text};
    let window = Duration::from_secs(2);
    let server = |requests| {
        let mut config = SimConfig::default().with_window(window);
        config.announce_limit_per_second = true;
        config
            .rate_limits
            .insert(Endpoint::ApprovalTasks, RateLimit { requests, window });
        config
    };
    let env = |sim: &feishu_sim::SimHandle| {
        let mut env = sim_env(sim, &pool);
        env.retain(|(k, _)| {
            k != "RUST_LOG" && k != "FEISHU_SYNC__FEISHU__RATE_LIMITS__APPROVAL_TASKS"
        });
        env.push(("RUST_LOG".into(), "info".into()));
        env.push((
            "FEISHU_SYNC__FEISHU__RATE_LIMITS__APPROVAL_TASKS".into(),
            "15".into(),
        ));
        env
    };
    let args = ["sync", "--stream", "approval_tasks"];
    let first_server = simulator_with(server(10)).await;
    let first = run_binary(&args, env(&first_server)).await;
    let recorded: Option<i32> = sqlx::query_scalar(
        "SELECT rate_ceiling_per_minute FROM feishu.sync_runs ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let second_server = simulator_with(server(12)).await;

    let second = run_binary(&args, env(&second_server)).await;

    let (_, first_log) = text(&first);
    let (_, second_log) = text(&second);
    assert!(first.status.success(), "{first_log}");
    assert!(second.status.success(), "{second_log}");
    let first_limited = first_server.stats(Endpoint::ApprovalTasks).rate_limited;
    let second_limited = second_server.stats(Endpoint::ApprovalTasks).rate_limited;
    assert!(first_limited > 0, "the first run met the limit");
    let recorded = recorded.expect("the first run recorded the ceiling it learned");
    let started = second_log
        .lines()
        .find(|l| l.contains("starting from the rate ceiling an earlier run learned"))
        .unwrap_or_else(|| panic!("no start from the ceiling in {second_log}"));
    assert!(
        started.contains(&format!("ceiling_per_minute={recorded}")),
        "{started}"
    );
    assert_eq!(
        second_limited, 0,
        "starting at the learned ceiling meets no limit (the first met {first_limited})"
    );
}
