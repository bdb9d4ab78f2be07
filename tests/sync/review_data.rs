//! Review data's semesters, ten to a request: the partition reader moves a group's
//! watermarks to the start of its pass only when every request of the group succeeded,
//! and not for a backfill from a date.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::Fault;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode, SyncContext};

/// Review data with its parents, which must complete for its run to count as clean.
const WITH_PARENTS: [Endpoint; 3] = [
    Endpoint::Semesters,
    Endpoint::Reviewees,
    Endpoint::ReviewData,
];

/// Review data's watermarks, by semester.
async fn watermarks(pool: &PgPool) -> BTreeMap<String, DateTime<Utc>> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT partition_key, watermark FROM feishu.sync_state
          WHERE stream = 'review_data' AND watermark IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

/// The current semesters with current reviewees: those review data reads.
async fn read_semesters(pool: &PgPool) -> BTreeSet<String> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT r.semester_id FROM feishu.reviewees r
           JOIN feishu.semesters s ON s.id = r.semester_id AND s.deleted_at IS NULL
          WHERE r.deleted_at IS NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn review_data_run(ctx: &SyncContext, mode: &ReadMode) -> RunStatus {
    let reports = sync::run_pass(ctx, &WITH_PARENTS, mode).await.unwrap();
    report(&reports, Endpoint::ReviewData).status
}

#[sqlx::test]
async fn a_groups_watermarks_move_only_when_every_request_of_it_succeeded(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let before = Utc::now();
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let first = watermarks(&pool).await;
    let semesters = read_semesters(&pool).await;
    assert!(!semesters.is_empty());
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), semesters);
    assert!(first.values().all(|w| *w >= before && *w <= Utc::now()));

    // A backfill from a date re-reads its window; the watermarks stay where they were.
    let dated = ReadMode::Backfill {
        since: Some(Utc::now() - Duration::days(1)),
    };
    assert_eq!(review_data_run(&ctx, &dated).await, RunStatus::Succeeded);
    assert_eq!(watermarks(&pool).await, first, "a dated backfill");

    // One request of the group fails: none of its semesters moves.
    let refusal = Fault::Code(400, 1580199, "invalid request".into());
    sim.inject(Some(Endpoint::ReviewData), refusal, 1);
    let failed = review_data_run(&ctx, &ReadMode::Incremental).await;
    assert_eq!(failed, RunStatus::Failed);
    assert_eq!(watermarks(&pool).await, first, "a failed request");

    // A clean pass moves every semester to its start.
    let again = Utc::now();
    let clean = review_data_run(&ctx, &ReadMode::Incremental).await;
    assert_eq!(clean, RunStatus::Succeeded);
    let moved = watermarks(&pool).await;
    assert_eq!(moved.keys().cloned().collect::<BTreeSet<_>>(), semesters);
    assert!(moved.values().all(|w| *w >= again), "{moved:?}");
}
