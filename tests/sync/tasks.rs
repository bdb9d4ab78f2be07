//! The tasks stream end to end: what its create-time watermark cannot see, and a page
//! token the server rejects mid-pass.

use chrono::Utc;
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::Fault;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::ReadMode;

#[sqlx::test]
async fn completing_an_old_task_is_seen_by_backfill_only(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let old_id = sim.with_tenant(|t| {
        let cutoff = Utc::now().timestamp() - 30 * 86_400;
        let task = t
            .tasks
            .iter_mut()
            .find(|k| k.complete_time_s == 0 && k.create_time_s < cutoff)
            .unwrap();
        task.complete_time_s = Utc::now().timestamp();
        task.id.clone()
    });
    sync_all(&ctx, ReadMode::Incremental).await;
    let after_incremental = task_completed(&pool, &old_id).await;
    let reports = sync_all(&ctx, ReadMode::Backfill { since: None }).await;
    let after_backfill = task_completed(&pool, &old_id).await;

    assert!(
        !after_incremental,
        "a create-time watermark cannot see an old task complete"
    );
    assert!(after_backfill, "a backfill re-reads everything");
    assert_all_succeeded(&reports);
    assert_tables_match(&pool, &sim).await;
    assert_counts_match(&pool, &sim).await;
}

#[sqlx::test]
async fn a_rejected_page_token_restarts_the_partition_and_loses_nothing(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    // The first task page goes through; the request carrying its token is rejected.
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Delay(std::time::Duration::ZERO),
        1,
    );
    sim.inject(Some(Endpoint::Tasks), Fault::BadPageToken, 1);
    // (Approvals read four partitions at once, so their second request is another
    // partition's first page: see answers::a_stale_page_token_still_restarts_the_partition_once.)

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    let rejected = sim.requests().iter().filter(|r| r.code == 1470422).count();
    assert_eq!(rejected, 1);
    let first_pages = sim
        .requests()
        .iter()
        .filter(|r| {
            r.endpoint == Endpoint::Tasks && !r.query.iter().any(|(k, _)| k == "page_token")
        })
        .count();
    assert_eq!(
        first_pages, 2,
        "the partition was read again from its first page"
    );
    assert_tables_match(&pool, &sim).await;
}
