//! Answers that must never wedge a stream or exhaust the process: text PostgreSQL cannot
//! store, times it cannot hold, pages that never end, bodies too large to hold, absurd
//! token lifetimes, cursors that can never succeed.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::Fault;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

async fn run_tasks(ctx: &feishu_sync::sync::SyncContext) -> sync::StreamReport {
    let mut reports = sync::run_pass(ctx, &[Endpoint::Tasks], &ReadMode::Incremental)
        .await
        .expect("pass runs");
    reports.remove(0)
}

#[sqlx::test]
async fn nul_and_lone_surrogates_are_stored_as_replacement_characters(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let (with_nul, with_surrogate, total) = sim.with_tenant(|t| {
        (
            t.tasks[3].id.clone(),
            t.tasks[150].id.clone(),
            t.tasks.len(),
        )
    });
    sim.corrupt(
        Endpoint::Tasks,
        &with_nul,
        json!({"summary": "before\u{0}after"}),
    );
    sim.corrupt(
        Endpoint::Tasks,
        &with_surrogate,
        json!({"summary": "LONE-SURROGATE-HERE"}),
    );
    sim.rewrite_answers("LONE-SURROGATE-HERE", "x\\ud800y");

    let report = run_tasks(&ctx).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, summary, raw->>'summary' FROM feishu.tasks WHERE id = ANY($1) ORDER BY id = $2 DESC",
    )
    .bind(vec![with_nul.clone(), with_surrogate.clone()])
    .bind(&with_nul)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                with_nul,
                "before\u{fffd}after".into(),
                "before\u{fffd}after".into()
            ),
            (with_surrogate, "x\u{fffd}y".into(), "x\u{fffd}y".into()),
        ]
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, total, "the rest of the page landed");
    assert_eq!(ctx.client.replaced_count(Endpoint::Tasks), 2);
    assert!(
        ctx.metrics
            .encode()
            .contains(r#"feishu_sync_replaced_code_points_total{endpoint="tasks"} 2"#),
        "counted in the metric"
    );
}

#[sqlx::test]
async fn times_out_of_range_are_quarantined_and_never_move_the_watermark(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let (ancient, future, newest, total) = sim.with_tenant(|t| {
        let newest = t.tasks.iter().map(|t| t.create_time_s).max().unwrap();
        (
            t.tasks[5].id.clone(),
            t.tasks[60].id.clone(),
            newest,
            t.tasks.len(),
        )
    });
    // Year -7536: chrono takes it, PostgreSQL refuses it (and with it the whole batch).
    sim.corrupt(
        Endpoint::Tasks,
        &ancient,
        json!({"create_time": "-300000000000"}),
    );
    // Year 5138: storable, but a task cannot be created in the future.
    sim.corrupt(
        Endpoint::Tasks,
        &future,
        json!({"create_time": "99999999999"}),
    );

    let first = run_tasks(&ctx).await;
    let quarantined: Vec<String> = sqlx::query_scalar(
        "SELECT record_key FROM feishu.sync_errors WHERE resolved_at IS NULL ORDER BY record_key = $1 DESC",
    )
    .bind(&ancient)
    .fetch_all(&pool)
    .await
    .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    sim.repair(Endpoint::Tasks, &ancient);
    sim.repair(Endpoint::Tasks, &future);
    let second = run_tasks(&ctx).await;
    let watermark = feishu_sync::sync_state::watermark(&pool, Endpoint::Tasks, "")
        .await
        .unwrap();

    assert_eq!(first.status, RunStatus::Partial, "{:?}", first.error);
    assert_eq!(quarantined, [ancient, future]);
    assert_eq!(stored as usize, total - 2, "the rest of the page landed");
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(
        watermark.map(|w| w.timestamp()),
        Some(newest),
        "the watermark is the newest real create time"
    );
}

/// A tasks pass whose page 1 landed and whose page 2 failed: a cursor to page 2 stands.
async fn leave_a_cursor(ctx: &feishu_sync::sync::SyncContext, sim: &feishu_sim::SimHandle) {
    sim.inject(Some(Endpoint::Tasks), Fault::Delay(Duration::ZERO), 1);
    sim.inject(Some(Endpoint::Tasks), Fault::ServerErrorJson, 6);
    let failed = run_tasks(ctx).await;
    assert_eq!((failed.status, failed.counts.pages), (RunStatus::Failed, 1));
}

#[sqlx::test]
async fn a_resume_token_refused_with_any_code_restarts_the_partition(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    leave_a_cursor(&ctx, &sim).await;
    // A code no document ties to page tokens.
    let refusal = Fault::Code(400, 1470500, "invalid request".into());
    sim.inject(Some(Endpoint::Tasks), refusal, 1);

    let report = run_tasks(&ctx).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!(report.counts.pages, 3, "read again from its first page");
    assert_table_matches(&pool, &sim, "tasks").await;
}

#[sqlx::test]
async fn a_cursor_that_failed_three_runs_is_dropped(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    leave_a_cursor(&ctx, &sim).await;
    let mut failures = Vec::new();
    for _ in 0..2 {
        sim.inject(Some(Endpoint::Tasks), Fault::ServerErrorJson, 6);
        let again = run_tasks(&ctx).await;
        assert_eq!((again.status, again.counts.pages), (RunStatus::Failed, 0));
        failures.push(cursor_failures(&pool).await);
    }
    sim.clear_requests();

    let report = run_tasks(&ctx).await;

    assert_eq!(failures, [Some(2), Some(3)], "each failed run counted");
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!(
        report.counts.pages, 3,
        "from the first page, not the cursor"
    );
    let first_request = &sim.requests()[0];
    assert!(
        first_request.query.iter().all(|(k, _)| k != "page_token"),
        "{:?}",
        first_request.query
    );
    assert_eq!(
        cursor_failures(&pool).await,
        Some(0),
        "a finished pass resets it"
    );
}

async fn cursor_failures(pool: &PgPool) -> Option<i32> {
    sqlx::query_scalar("SELECT resume_failures FROM feishu.sync_state WHERE stream = 'tasks'")
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_server_that_pages_for_ever_is_stopped_at_once(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sim.inject(Some(Endpoint::Tasks), Fault::EndlessPage, 1000);

    let report = run_tasks(&ctx).await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap_or_default();
    assert!(error.contains("repeating an earlier one"), "{error}");
    assert_eq!(
        sim.stats(Endpoint::Tasks).requests,
        2,
        "the second page repeats the first"
    );
}

#[sqlx::test]
async fn a_read_stops_at_the_page_cap(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.max_pages = 2; // the tenant's tasks take 3 pages
    let ctx = context_with(&pool, settings, streams_config(&sim));

    let report = run_tasks(&ctx).await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap_or_default();
    assert!(error.contains("feishu.max_pages_per_partition"), "{error}");
    assert_eq!(sim.stats(Endpoint::Tasks).requests, 2);
    assert_eq!(report.counts.pages, 2, "the pages read are kept");
}

#[sqlx::test]
async fn an_oversize_body_fails_its_request_without_a_retry(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.max_body_bytes = 1 << 20;
    let ctx = context_with(&pool, settings, streams_config(&sim));
    sim.inject(Some(Endpoint::Semesters), Fault::Oversize(3 << 20), 1);

    let reports = sync::run_pass(&ctx, &[Endpoint::Semesters], &ReadMode::Incremental)
        .await
        .unwrap();

    assert_eq!(reports[0].status, RunStatus::Failed);
    let error = reports[0].error.clone().unwrap_or_default();
    assert!(error.contains("larger than 1048576 bytes"), "{error}");
    assert_eq!(sim.stats(Endpoint::Semesters).requests, 1, "not retried");
}

#[tokio::test]
async fn the_token_request_follows_no_redirect() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let stolen = Arc::new(AtomicUsize::new(0));
    let thief = {
        let stolen = stolen.clone();
        axum::Router::new().fallback(move || {
            stolen.fetch_add(1, Ordering::SeqCst);
            async { "{}" }
        })
    };
    let thief_addr = serve(thief).await;
    let redirect = axum::Router::new().fallback(move || async move {
        let location = format!("http://{thief_addr}/collect");
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, location)],
        )
    });
    let base = serve(redirect).await;
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.base_url = format!("http://{base}");
    let client = feishu_sync::feishu::FeishuClient::new(settings).unwrap();

    let result = client
        .call(&feishu_sync::feishu::ApiRequest::new(Endpoint::Semesters))
        .await;

    let error = result.expect_err("a redirect is refused").to_string();
    assert!(error.contains("redirect, not followed"), "{error}");
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "the app secret went nowhere else"
    );
}

pub(crate) async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Every token answer carries the bad `expire`, so a client that trusted it would fetch a
/// token before every one of the pass's requests (or panic on a huge one).
#[sqlx::test]
async fn an_absurd_or_missing_token_expire_neither_panics_nor_refetches_per_request(pool: PgPool) {
    let expires = [
        json!(u64::MAX),
        json!(1e300),
        json!(0),
        json!(-5),
        json!("7200"),
        serde_json::Value::Null,
    ];
    for expire in expires {
        let sim = simulator().await;
        let ctx = context(&pool, &sim);
        sim.inject(None, Fault::TokenExpire(expire.clone()), 1000);

        let reports = sync::run_pass(
            &ctx,
            &[Endpoint::Semesters, Endpoint::Tasks],
            &ReadMode::Incremental,
        )
        .await
        .expect("pass runs");

        assert_all_succeeded(&reports);
        let requests =
            sim.stats(Endpoint::Tasks).requests + sim.stats(Endpoint::Semesters).requests;
        assert!(requests >= 2, "expire {expire}: {requests} requests");
        assert_eq!(
            sim.token_requests(),
            1,
            "expire {expire}: one token for every request"
        );
    }
}

#[sqlx::test]
async fn a_panic_in_a_run_marks_it_failed_with_its_message(pool: PgPool) {
    let sim = simulator().await;
    let mut streams = streams_config(&sim);
    // Unvalidated (validation refuses it): watermark − lookback overflows chrono.
    streams.tasks.lookback_hours = u32::MAX;
    let ctx = context_with(&pool, client_settings(&sim), streams);
    assert_eq!(
        run_tasks(&ctx).await.status,
        RunStatus::Succeeded,
        "no watermark yet"
    );

    let inner = ctx.clone();
    let joined = tokio::spawn(async move {
        sync::run_journaled(&inner, Endpoint::Tasks, &ReadMode::Incremental).await
    })
    .await;

    assert!(joined.expect_err("the panic goes on").is_panic());
    let (status, error): (String, Option<String>) = sqlx::query_as(
        "SELECT status, error FROM feishu.sync_runs WHERE stream = 'tasks' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "failed", "not left running");
    let error = error.unwrap_or_default();
    assert!(
        error.starts_with("the run panicked: ") && error.contains("overflow"),
        "{error}"
    );
}
