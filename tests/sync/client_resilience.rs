//! The shared client against a misbehaving simulator: revoked and expiring tokens,
//! frequency limits (429, and 400 + 99991400), gateway errors, and failures that must end
//! in a clear message. The ceilings the client learns from limits are in `rate_ceilings`.

use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{Fault, SimConfig};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

pub(crate) async fn run_streams(
    ctx: &feishu_sync::sync::SyncContext,
    streams: &[Endpoint],
) -> Vec<sync::StreamReport> {
    sync::run_pass(ctx, streams, &ReadMode::Incremental)
        .await
        .expect("pass runs")
}

#[sqlx::test]
async fn a_revoked_token_is_replaced_and_the_request_retried_once(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    sim.revoke_tokens();

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_eq!(
        sim.token_requests(),
        2,
        "one token, then one replacement shared by every stream"
    );
    let rejected = sim.requests().iter().filter(|r| r.code == 99991663).count();
    // Streams run side by side: each request in flight at the revocation is rejected
    // once, then retried with the one new token.
    assert!((1..=10).contains(&rejected), "{rejected} rejections");
}

#[sqlx::test]
async fn a_token_is_refreshed_before_it_expires_during_a_long_run(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        token_ttl: Duration::from_secs(2),
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let mut settings = client_settings(&sim);
    settings.rate_limits.insert(Endpoint::ApprovalTasks, 10); // 26 requests: ~2.6 s
    let ctx = context_with(&pool, settings, streams_config(&sim));

    let reports = run_streams(&ctx, &[Endpoint::ApprovalTasks]).await;

    assert_all_succeeded(&reports);
    assert!(
        sim.token_requests() >= 2,
        "refreshed during the run: {}",
        sim.token_requests()
    );
    assert!(
        sim.requests().iter().all(|r| r.code != 99991663),
        "no request carried an expired token"
    );
}

#[sqlx::test]
async fn frequency_limits_answered_with_429_are_waited_out(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sim.inject(Some(Endpoint::Tasks), Fault::RateLimited, 3);

    let reports = run_streams(&ctx, &[Endpoint::Tasks]).await;

    assert_all_succeeded(&reports);
    assert_eq!(sim.stats(Endpoint::Tasks).rate_limited, 3);
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.status == 429 && r.code == 99991400)
    );
    sync_all(&ctx, ReadMode::Incremental).await;
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn frequency_limits_answered_with_http_400_are_waited_out(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        legacy_rate_limit_status: true,
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);
    sim.inject(Some(Endpoint::ApprovalTasks), Fault::RateLimited, 2);

    let reports = run_streams(&ctx, &[Endpoint::ApprovalTasks]).await;

    assert_all_succeeded(&reports);
    let limited: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.code == 99991400)
        .map(|r| r.status)
        .collect();
    assert_eq!(limited, [400, 400]);
}

#[sqlx::test]
async fn gateway_errors_and_broken_bodies_are_retried(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    for fault in [
        Fault::ServerErrorHtml,
        Fault::ServerErrorJson,
        Fault::MalformedJson,
        Fault::ServerErrorHtml,
    ] {
        sim.inject(Some(Endpoint::StageTasks), fault, 1);
    }

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_eq!(sim.stats(Endpoint::StageTasks).faults, 4);
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn a_timeout_is_retried(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.timeout = Duration::from_millis(300);
    let ctx = context_with(&pool, settings, streams_config(&sim));
    sim.inject(
        Some(Endpoint::Semesters),
        Fault::Delay(Duration::from_secs(2)),
        1,
    );

    let reports = run_streams(&ctx, &[Endpoint::Semesters]).await;

    assert_all_succeeded(&reports);
    assert_eq!(report(&reports, Endpoint::Semesters).requests, 2);
}

#[sqlx::test]
async fn failures_that_outlast_retries_name_the_code_and_log_id(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sim.inject(Some(Endpoint::Semesters), Fault::ServerErrorJson, 100);
    sim.inject(Some(Endpoint::Tasks), Fault::BadPageToken, 2); // the restart fails too

    let reports = run_streams(&ctx, &[Endpoint::Semesters, Endpoint::Tasks]).await;

    let semesters = report(&reports, Endpoint::Semesters);
    assert_eq!(semesters.status, RunStatus::Failed);
    let error = semesters.error.as_deref().unwrap();
    assert!(
        error.contains("unavailable after 6 attempts") && error.contains("1580101"),
        "{error}"
    );
    assert!(error.contains("log id "), "{error}");
    let tasks = report(&reports, Endpoint::Tasks);
    let error = tasks.error.as_deref().unwrap();
    assert!(
        error.contains("code 1470422") && error.contains("log id "),
        "{error}"
    );
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT error FROM feishu.sync_runs WHERE status = 'failed' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 2);
}

#[sqlx::test]
async fn wrong_credentials_fail_clearly_without_showing_the_secret(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.app_secret = SecretString::from("wrong-secret-123".to_string());
    let ctx = context_with(&pool, settings, streams_config(&sim));

    let reports = run_streams(&ctx, &[Endpoint::Semesters]).await;

    let error = report(&reports, Endpoint::Semesters).error.clone().unwrap();
    assert!(
        error.contains("10014") && error.contains("feishu.app_secret"),
        "{error}"
    );
    let stored: String = sqlx::query_scalar("SELECT error FROM feishu.sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.contains("wrong-secret-123") && !error.contains("wrong-secret-123"));
}

#[sqlx::test]
async fn a_frequency_limit_is_waited_out_for_the_seconds_the_server_asks(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sim.inject(Some(Endpoint::Semesters), Fault::RateLimited, 1);

    let reports = run_streams(&ctx, &[Endpoint::Semesters]).await;

    assert_all_succeeded(&reports);
    let requests = sim.requests();
    let limited = requests.iter().find(|r| r.code == 99991400).unwrap();
    let retried = requests.iter().find(|r| r.code == 0).unwrap();
    let waited = retried.at.duration_since(limited.at);
    assert!(
        waited >= Duration::from_secs(1),
        "x-ogw-ratelimit-reset is 1 s; waited {waited:?}"
    );
}

#[sqlx::test]
async fn the_token_endpoint_is_retried_like_any_other(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sim.inject(None, Fault::ServerErrorHtml, 1);
    sim.inject(None, Fault::RateLimited, 1);

    let reports = run_streams(&ctx, &[Endpoint::Semesters]).await;

    assert_all_succeeded(&reports);
    assert_eq!(
        sim.token_requests(),
        3,
        "a gateway error, a frequency limit, then a token"
    );
}
