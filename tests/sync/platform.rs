//! The platform's refusals: a used-up monthly quota (99991403), an endpoint that takes no
//! tenant token (99991663 again after a fresh token), a missing scope (99991672), and
//! tokens the token endpoint hands back with less life left.

use std::time::Duration;

use sqlx::PgPool;

use crate::helpers::binary::{run_binary, sim_env, text};
use crate::helpers::*;
use feishu_sim::SimConfig;
use feishu_sync::config::Config;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::feishu::quota::next_renewal;
use feishu_sync::sync::ReadMode;

/// Rows some complete pass has marked deleted, over every entity table.
async fn retired_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM feishu.semesters WHERE deleted_at IS NOT NULL)
              + (SELECT count(*) FROM feishu.activities WHERE deleted_at IS NOT NULL)
              + (SELECT count(*) FROM feishu.stage_tasks WHERE deleted_at IS NOT NULL)
              + (SELECT count(*) FROM feishu.approval_tasks WHERE deleted_at IS NOT NULL)
              + (SELECT count(*) FROM feishu.tasks WHERE deleted_at IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn answered(sim: &feishu_sim::SimHandle, code: i64) -> usize {
    sim.requests().iter().filter(|r| r.code == code).count()
}

#[sqlx::test]
async fn a_used_up_monthly_quota_stops_every_stream_at_once_and_retires_nothing(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    // Gone upstream: a complete backfill would retire these rows.
    sim.with_tenant(|t| {
        t.approval_tasks.clear();
        t.tasks.truncate(1);
    });
    sim.limit_quota(0);

    let backfill = ReadMode::Backfill { since: None };
    let reports = sync_all(&ctx, backfill).await;

    // Every stream stops with the quota named; those that start later send nothing.
    let mut stopped = 0i64;
    for report in &reports {
        let error = report.error.as_deref().unwrap_or_default();
        assert_eq!(
            report.status,
            RunStatus::Failed,
            "{}: {error}",
            report.stream
        );
        assert!(
            error.contains("99991403") && error.contains("monthly API quota"),
            "{}: {error}",
            report.stream
        );
        stopped += 1;
    }
    assert_eq!(stopped, Endpoint::ALL.len() as i64);
    // Streams start side by side: each request already in flight when the first refusal
    // arrives is refused too (approvals keep four partitions in flight), then none.
    let refused = answered(&sim, 99991403);
    assert!(
        (1..=8).contains(&refused),
        "a handful of requests after the first 99991403, not one per partition: {refused}"
    );
    assert_eq!(retired_rows(&pool).await, 0, "the broken pass retired rows");
    let stop = ctx.client.quota_stop().expect("the client stays stopped");
    assert_eq!(stop.until, next_renewal(stop.since));
    let journaled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.sync_runs WHERE status = 'failed' AND error LIKE '%99991403%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(journaled, stopped);
    let statuses = feishu_sync::commands::status::collect(&pool, &Config::default())
        .await
        .unwrap();
    let shown = statuses.iter().filter(|s| {
        s.last_run
            .as_ref()
            .and_then(|r| r.error.as_deref())
            .is_some_and(|e| e.contains("99991403"))
    });
    assert_eq!(shown.count() as i64, stopped, "status shows the error");
}

#[sqlx::test]
async fn sync_exits_1_on_a_used_up_quota_and_status_shows_it_with_the_api_cost(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        monthly_quota: Some(0),
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let env = sim_env(&sim, &pool);

    let output = run_binary(&["sync"], env.clone()).await;
    let status = run_binary(&["status", "--json"], env).await;

    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("monthly API quota is used up") && stdout.contains("upgrade the"),
        "{stdout}"
    );
    let (json, _) = text(&status);
    let statuses: serde_json::Value = serde_json::from_str(&json).expect("status prints JSON");
    let runs: Vec<&serde_json::Value> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["last_run"])
        .collect();
    assert!(
        runs.iter()
            .all(|r| r["error"].as_str().is_some_and(|e| e.contains("99991403"))),
        "{json}"
    );
    // Streams start side by side; once one is refused, the others send nothing.
    let sent: i64 = runs
        .iter()
        .map(|r| r["api_requests"].as_i64().unwrap())
        .sum();
    assert!((1..=8).contains(&sent), "{sent} requests: {json}");
    assert!(runs.iter().all(|r| r["rate_limited_requests"] == 0));
}

#[sqlx::test]
async fn a_missing_scope_fails_only_its_stream_naming_the_scopes(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        missing_scope: vec![Endpoint::ApprovalTasks],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    let approvals = report(&reports, Endpoint::ApprovalTasks);
    let error = approvals.error.as_deref().unwrap_or_default();
    assert_eq!(approvals.status, RunStatus::Failed);
    assert!(
        error.contains("99991672") && error.contains("approval:approval:readonly"),
        "{error}"
    );
    assert_eq!(
        error.matches("99991672").count(),
        1,
        "one message for the stream, not one per partition: {error}"
    );
    // 5 users x several topics: at most the partitions already in flight are asked.
    let asked = sim.stats(Endpoint::ApprovalTasks).requests;
    assert!(
        asked <= 4,
        "{asked} approval requests after a missing scope"
    );
    for other in reports
        .iter()
        .filter(|r| r.stream != Endpoint::ApprovalTasks)
    {
        assert_eq!(other.status, RunStatus::Succeeded, "{}", other.stream);
    }
}

#[sqlx::test]
async fn an_endpoint_refusing_tenant_tokens_fails_its_stream_after_one_fresh_token(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        tenant_token_refused: vec![Endpoint::Tasks],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    let tasks = report(&reports, Endpoint::Tasks);
    let error = tasks.error.as_deref().unwrap_or_default();
    assert_eq!(tasks.status, RunStatus::Failed);
    assert!(
        error.contains("may not accept tenant tokens")
            && error.contains("/open-apis/task/v1/tasks"),
        "{error}"
    );
    assert_eq!(
        sim.stats(Endpoint::Tasks).requests,
        2,
        "one request and one retry with a fresh token, never a loop"
    );
    // The refused token is dropped, so one more stream may ask for the next one.
    assert!(
        sim.token_requests() <= 3,
        "{} token fetches",
        sim.token_requests()
    );
    for other in reports.iter().filter(|r| r.stream != Endpoint::Tasks) {
        assert_eq!(other.status, RunStatus::Succeeded, "{}", other.stream);
    }
}

#[sqlx::test]
async fn a_token_handed_back_with_less_life_is_refreshed_by_its_expire(pool: PgPool) {
    // The platform's rule at a small scale: the same token comes back while at least 1 s
    // of its 3 s remains, with `expire` saying how much.
    let sim = simulator_with(SimConfig {
        token_ttl: Duration::from_secs(3),
        token_reuse_above: Duration::from_secs(1),
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let mut settings = client_settings(&sim);
    settings.rate_limits.insert(Endpoint::ApprovalTasks, 6); // 26 requests: ~4.3 s
    let ctx = context_with(&pool, settings, streams_config(&sim));

    let reports =
        feishu_sync::sync::run_pass(&ctx, &[Endpoint::ApprovalTasks], &ReadMode::Incremental)
            .await
            .unwrap();

    assert_all_succeeded(&reports);
    assert_eq!(
        answered(&sim, 99991663),
        0,
        "no request carried an expired token"
    );
    assert!(
        sim.token_requests() >= 3,
        "{} token fetches",
        sim.token_requests()
    );
}

#[sqlx::test]
async fn a_missing_contact_scope_fails_the_directory_stream_naming_the_contact_scopes(
    pool: PgPool,
) {
    let sim = simulator_with(SimConfig {
        missing_scope: vec![Endpoint::Users],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    let users = report(&reports, Endpoint::Users);
    let error = users.error.as_deref().unwrap_or_default();
    assert_eq!(users.status, RunStatus::Failed);
    assert!(error.contains("contact:contact.base:readonly"), "{error}");
    for other in reports.iter().filter(|r| r.stream != Endpoint::Users) {
        assert_eq!(other.status, RunStatus::Succeeded, "{}", other.stream);
    }
}

#[sqlx::test]
async fn post_bodies_carry_the_documented_content_type(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);

    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);

    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| matches!(r.endpoint, Endpoint::Activities | Endpoint::StageTasks))
        .collect();
    assert!(!posts.is_empty());
    for post in posts {
        assert_eq!(
            post.content_type.as_deref(),
            Some("application/json; charset=utf-8"),
            "{}",
            post.endpoint
        );
    }
}
