//! Stream locks while a run holds them: a lost lock session stops the run before its next
//! page, and the run is recorded failed saying why.

use std::time::Duration;

use sqlx::PgPool;

use crate::helpers::service::eventually;
use crate::helpers::*;
use feishu_sim::Fault;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::stream_lock::lock_key;
use feishu_sync::sync::{self, ReadMode};

async fn tasks_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The backend holding `endpoint`'s advisory lock in this database, if one does.
async fn lock_holder(pool: &PgPool, endpoint: Endpoint) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND objsubid = 1
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((classid::bigint << 32) | objid::bigint) = $1",
    )
    .bind(lock_key(endpoint))
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// The tasks pass has three pages. The first is answered at once, the second held for
/// 100 s, so the run is surely waiting for it when the test terminates the backend holding
/// the lock (as an idle-session timeout or a proxy cutting the connection would end it).
#[sqlx::test]
async fn a_run_whose_lock_session_is_terminated_writes_no_more_pages_and_fails_saying_so(
    pool: PgPool,
) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.timeout = Duration::from_secs(300);
    let ctx = context_with(&pool, settings, streams_config(&sim));
    sim.inject(Some(Endpoint::Tasks), Fault::Delay(Duration::ZERO), 1);
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Delay(Duration::from_secs(100)),
        1,
    );
    let pass = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            sync::run_pass(&ctx, &[Endpoint::Tasks], &ReadMode::Incremental).await
        })
    };

    let first_page = eventually(Duration::from_secs(30), || async {
        tasks_rows(&pool).await > 0
    })
    .await;
    let holder = lock_holder(&pool, Endpoint::Tasks).await;
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 10000)")
        .bind(holder.expect("the run holds the tasks lock"))
        .fetch_one(&pool)
        .await
        .unwrap();
    let rows_at_loss = tasks_rows(&pool).await;
    let reports = tokio::time::timeout(Duration::from_secs(60), pass)
        .await
        .expect("the run stops without waiting for the held page")
        .unwrap()
        .expect("the pass returns its reports");

    assert!(first_page, "the first page was written");
    assert!(terminated);
    let tasks = report(&reports, Endpoint::Tasks);
    assert_eq!(tasks.status, RunStatus::Failed);
    let error = tasks.error.clone().unwrap_or_default();
    assert!(error.contains("lost the stream lock"), "{error}");
    assert_eq!(tasks.counts.pages, 1, "only the page before the loss");
    assert_eq!(
        tasks_rows(&pool).await,
        rows_at_loss,
        "no page after the loss"
    );
    let (status, recorded): (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM feishu.sync_runs WHERE stream = 'tasks'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(recorded.as_deref(), Some(error.as_str()));
    assert_eq!(
        lock_holder(&pool, Endpoint::Tasks).await,
        None,
        "nothing holds the lock"
    );
}

#[sqlx::test]
async fn a_run_whose_lock_stays_held_is_not_disturbed_by_the_checks(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.timeout = Duration::from_secs(60);
    let ctx = context_with(&pool, settings, streams_config(&sim));
    // Slow enough that the lock's session is checked during the run.
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Delay(feishu_sync::stream_lock::CHECK_EVERY * 2),
        1,
    );

    let reports = sync::run_pass(&ctx, &[Endpoint::Tasks], &ReadMode::Incremental)
        .await
        .expect("pass runs");

    assert_all_succeeded(&reports);
    assert_eq!(lock_holder(&pool, Endpoint::Tasks).await, None, "released");
}
