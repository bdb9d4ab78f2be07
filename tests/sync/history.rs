//! The change history: versions on first sight, change, retirement and return, written
//! with the upsert; nothing for a no-change run or a backfill; the as-of functions and the
//! duration views; pruning.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

async fn sync_approvals(ctx: &sync::SyncContext) {
    let reports = sync::run_pass(ctx, &[Endpoint::ApprovalTasks], &ReadMode::Incremental)
        .await
        .unwrap();
    assert_all_succeeded(&reports);
}

/// `(valid_from, valid_to, title)` of one approval task's versions, oldest first.
async fn versions(
    pool: &PgPool,
    task_id: &str,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>, String)> {
    sqlx::query_as(
        "SELECT valid_from, valid_to, title FROM feishu.approval_tasks_history
          WHERE task_id = $1 ORDER BY valid_from",
    )
    .bind(task_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test]
async fn a_version_opens_on_first_sight_change_and_return_and_closes_on_change_and_retirement(
    pool: PgPool,
) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_approvals(&ctx).await;
    let task = sim.with_tenant(|t| t.approval_tasks[0].clone());
    let first = versions(&pool, &task.task_id).await;
    assert_eq!(first.len(), 1, "one version on first sight");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM feishu.approval_tasks_history").await,
        count(&pool, "SELECT count(*) FROM feishu.approval_tasks").await
    );
    let first_seen: DateTime<Utc> = sqlx::query_scalar(
        "SELECT first_seen_at FROM feishu.approval_tasks WHERE task_id = $1 LIMIT 1",
    )
    .bind(&task.task_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(first[0].0, first_seen);

    sim.with_tenant(|t| t.approval_tasks[0].title = "Renamed".into());
    sync_approvals(&ctx).await;
    sim.with_tenant(|t| t.approval_tasks.remove(0));
    sync_approvals(&ctx).await;
    sim.with_tenant(|t| t.approval_tasks.insert(0, task.clone()));
    sync_approvals(&ctx).await;

    let all = versions(&pool, &task.task_id).await;
    let titles: Vec<&str> = all.iter().map(|v| v.2.as_str()).collect();
    assert_eq!(
        titles,
        [task.title.as_str(), "Renamed", task.title.as_str()]
    );
    assert_eq!(
        all[0].1,
        Some(all[1].0),
        "the old version ends when the new one begins"
    );
    assert!(
        all[1].1.is_some_and(|end| end < all[2].0),
        "retired, then back"
    );
    assert_eq!(all[2].1, None, "the returned row is current");
}

#[sqlx::test]
async fn a_no_change_run_and_a_backfill_write_no_version(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let before = history_rows(&pool).await;

    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let backfill = ReadMode::Backfill { since: None };
    assert_all_succeeded(&sync_all(&ctx, backfill).await);

    assert_eq!(history_rows(&pool).await, before);
    assert!(before > 0);
}

async fn history_rows(pool: &PgPool) -> i64 {
    let mut total = 0;
    for table in feishu_sync::tables::history_tables() {
        total += count(pool, &format!("SELECT count(*) FROM feishu.{table}")).await;
    }
    total
}

#[sqlx::test]
async fn the_as_of_functions_and_views_show_how_rows_changed(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let before: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (stage, approval) = sim.with_tenant(|t| {
        let stage = t
            .stage_tasks
            .iter_mut()
            .find(|s| s.task_option_id == 1)
            .unwrap();
        stage.stage_task_status = "all_done".into();
        stage.task_option_id = 2;
        let approval = &mut t.approval_tasks[0];
        approval.status = "2".into();
        (stage.clone(), approval.clone())
    });
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);

    let then: String = sqlx::query_scalar(
        "SELECT stage_task_status FROM feishu.stage_tasks_at($1)
          WHERE semester_id = $2 AND user_id = $3 AND stage_id = $4",
    )
    .bind(before)
    .bind(&stage.semester_id)
    .bind(&stage.user_id)
    .bind(&stage.stage_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let change: (Option<String>, String) = sqlx::query_as(
        "SELECT from_status, to_status FROM feishu.stage_task_status_changes
          WHERE semester_id = $1 AND user_id = $2 AND stage_id = $3 AND from_status IS NOT NULL",
    )
    .bind(&stage.semester_id)
    .bind(&stage.user_id)
    .bind(&stage.stage_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let old_status: String = sqlx::query_scalar(
        "SELECT status FROM feishu.approval_tasks_at($1) WHERE task_id = $2 AND user_id = $3 AND topic = $4",
    )
    .bind(before)
    .bind(&approval.task_id)
    .bind(&approval.user_id)
    .bind(&approval.topic)
    .fetch_one(&pool)
    .await
    .unwrap();
    let (first_seen, changed, listed): (DateTime<Utc>, DateTime<Utc>, bool) = sqlx::query_as(
        "SELECT first_seen_at, status_changed_at, still_listed FROM feishu.approval_task_durations
          WHERE task_id = $1 AND user_id = $2 AND topic = $3",
    )
    .bind(&approval.task_id)
    .bind(&approval.user_id)
    .bind(&approval.topic)
    .fetch_one(&pool)
    .await
    .unwrap();

    assert_eq!(then, "need_todo", "the stage task as it was");
    assert_eq!(change, (Some("need_todo".into()), "all_done".into()));
    assert_ne!(old_status, "2", "the approval's status before the change");
    assert!(first_seen < before && changed > before && listed);
}

#[sqlx::test]
async fn pruning_removes_only_versions_that_ended_long_ago(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_approvals(&ctx).await;
    sim.with_tenant(|t| {
        t.approval_tasks[0].title = "New".into();
        t.approval_tasks[1].title = "Newer".into();
    });
    sync_approvals(&ctx).await;
    // One closed version ended 40 days ago, the other just now.
    let old = sim.with_tenant(|t| t.approval_tasks[0].task_id.clone());
    sqlx::query(
        "UPDATE feishu.approval_tasks_history SET valid_from = valid_from - interval '50 days',
                valid_to = valid_to - interval '40 days'
          WHERE task_id = $1 AND valid_to IS NOT NULL",
    )
    .bind(&old)
    .execute(&pool)
    .await
    .unwrap();
    let before = history_rows(&pool).await;

    let pruned = feishu_sync::history::prune(&pool, 30).await.unwrap();

    assert_eq!(pruned, 1);
    assert_eq!(history_rows(&pool).await, before - 1);
    let open = count(
        &pool,
        "SELECT count(*) FROM feishu.approval_tasks_history WHERE valid_to IS NULL",
    )
    .await;
    assert_eq!(
        open,
        count(&pool, "SELECT count(*) FROM feishu.approval_tasks").await
    );
}
