//! The stage-tasks stream end to end: paging announced inside `data`, and a removed stage
//! task retired only by a whole-semester read (beside a removed activity, retired at once),
//! and a backfill from a date after the watermark, which leaves the watermark.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::SimConfig;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::ReadMode;

#[sqlx::test]
async fn stage_task_paging_inside_data_is_followed_too(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        stage_tasks_paging_beside_data: false,
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert!(report(&reports, Endpoint::StageTasks).counts.pages >= 6);
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn a_removed_activity_is_retired_and_a_removed_stage_task_waits_for_a_whole_read(
    pool: PgPool,
) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let (activity, stage) = sim.with_tenant(|t| {
        (
            t.activities.remove(0),
            recent_stage_task(&mut t.stage_tasks).clone(),
        )
    });
    sim.with_tenant(|t| {
        t.stage_tasks.retain(|s| {
            (&s.user_id, &s.stage_id, &s.semester_id)
                != (&stage.user_id, &stage.stage_id, &stage.semester_id)
        })
    });
    let retired = |pool: PgPool, sql: &'static str, key: String| async move {
        sqlx::query_scalar::<_, bool>(sql)
            .bind(key)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let stage_sql = "SELECT deleted_at IS NOT NULL FROM feishu.stage_tasks WHERE user_id || '/' || stage_id = $1";
    let stage_key = format!("{}/{}", stage.user_id, stage.stage_id);

    sync_all(&ctx, ReadMode::Incremental).await;
    let activity_retired = retired(
        pool.clone(),
        "SELECT deleted_at IS NOT NULL FROM feishu.activities WHERE id = $1",
        activity.id.clone(),
    )
    .await;
    let stage_after_incremental = retired(pool.clone(), stage_sql, stage_key.clone()).await;
    sync_all(&ctx, ReadMode::Backfill { since: None }).await;
    let stage_after_backfill = retired(pool.clone(), stage_sql, stage_key).await;

    assert!(
        activity_retired,
        "a complete activity read retires what is gone"
    );
    assert!(
        !stage_after_incremental,
        "a windowed read cannot tell deleted from moved back, so it retires nothing"
    );
    assert!(stage_after_backfill, "a whole-semester read retires it");
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn a_backfill_from_a_date_after_the_watermark_leaves_it_for_the_next_incremental_read(
    pool: PgPool,
) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    // The last incremental read was a month ago; the operator backfills only the last
    // ten days.
    let old: DateTime<Utc> = Utc::now() - Duration::days(30);
    sqlx::query("UPDATE feishu.sync_state SET watermark = $1 WHERE stream = 'stage_tasks'")
        .bind(old)
        .execute(&pool)
        .await
        .unwrap();
    let since = Utc::now() - Duration::days(10);
    let watermarks = |pool: PgPool| async move {
        sqlx::query_scalar::<_, DateTime<Utc>>(
            "SELECT watermark FROM feishu.sync_state WHERE stream = 'stage_tasks'",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let after_times = |sim: &feishu_sim::SimHandle| -> Vec<i64> {
        sim.requests()
            .iter()
            .filter(|r| r.endpoint == Endpoint::StageTasks)
            .filter_map(|r| r.body.as_ref()?["after_time"].as_str()?.parse().ok())
            .collect()
    };
    sim.clear_requests();

    let backfill = sync_all(&ctx, ReadMode::Backfill { since: Some(since) }).await;
    let kept = watermarks(pool.clone()).await;
    let backfill_after = after_times(&sim);
    sim.clear_requests();
    let next = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&backfill);
    assert_all_succeeded(&next);
    assert!(!kept.is_empty());
    for watermark in kept {
        assert_eq!(
            watermark.timestamp(),
            old.timestamp(),
            "the watermark stays"
        );
    }
    assert!(
        backfill_after
            .iter()
            .all(|&t| t == since.timestamp_millis()),
        "{backfill_after:?}"
    );
    let incremental_after = after_times(&sim);
    assert!(!incremental_after.is_empty());
    assert!(
        incremental_after
            .iter()
            .all(|&t| t < old.timestamp_millis()),
        "the next read reaches back to the old watermark: {incremental_after:?}"
    );
    let moved = watermarks(pool.clone()).await;
    assert!(
        moved.iter().all(|w| *w > since),
        "and then moves it on: {moved:?}"
    );
}
