//! What the time filters cannot see, and the sweeps that see it: completions and edits of
//! older tasks, stage tasks whose deadline lies before the window, deletions.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode, SyncContext};

async fn run(ctx: &SyncContext, stream: Endpoint, mode: ReadMode) {
    let reports = sync::run_pass(ctx, &[Endpoint::Semesters, stream], &mode)
        .await
        .unwrap();
    assert_all_succeeded(&reports);
}

async fn watermark(pool: &PgPool, stream: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT max(watermark) FROM feishu.sync_state WHERE stream = $1")
        .bind(stream)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn completions_edits_and_deletions_of_older_tasks_arrive_with_the_sweeps(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    run(&ctx, Endpoint::Tasks, ReadMode::Incremental).await;
    let now = chrono::Utc::now().timestamp();
    // The two oldest open tasks, far older than the incremental window (newest - 24 h).
    let (completed, edited, deleted) = sim.with_tenant(|t| {
        t.tasks.sort_by_key(|task| task.create_time_s);
        let mut open = t.tasks.iter_mut().filter(|task| task.complete_time_s == 0);
        let completed = open.next().unwrap();
        completed.complete_time_s = now;
        completed.update_time_s = now;
        let completed = completed.id.clone();
        let edited = open.next().unwrap();
        edited.summary = "Edited long after".into();
        edited.update_time_s = now;
        let edited = edited.id.clone();
        let deleted = t.tasks.remove(5).id;
        (completed, edited, deleted)
    });
    let summary = |pool: PgPool, id: String| async move {
        sqlx::query_scalar::<_, String>("SELECT summary FROM feishu.tasks WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    run(&ctx, Endpoint::Tasks, ReadMode::Incremental).await;
    assert!(
        !task_completed(&pool, &completed).await,
        "the incremental read cannot see it"
    );
    run(&ctx, Endpoint::Tasks, ReadMode::OpenTasks).await;
    assert_eq!(
        summary(pool.clone(), edited).await,
        "Edited long after",
        "the open sweep refreshes"
    );
    let before = watermark(&pool, "tasks").await;
    run(&ctx, Endpoint::Tasks, ReadMode::Reconcile).await;

    assert!(
        task_completed(&pool, &completed).await,
        "the reconciliation sees the completion"
    );
    let gone: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM feishu.tasks WHERE id = $1")
            .bind(&deleted)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(gone, "and retires the deleted task");
    assert!(
        watermark(&pool, "tasks").await >= before,
        "no watermark moves back"
    );
    assert_table_matches(&pool, &sim, "tasks").await;
}

#[sqlx::test]
async fn a_stage_task_changed_before_the_window_arrives_with_the_reconciliation(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    run(&ctx, Endpoint::StageTasks, ReadMode::Incremental).await;
    let long_ago = chrono::Utc::now().timestamp_millis() - 90 * 86_400_000;
    let (moved, removed) = sim.with_tenant(|t| {
        let task = t
            .stage_tasks
            .iter_mut()
            .find(|s| s.task_option_id == 1)
            .unwrap();
        task.deadline_ms = long_ago;
        task.stage_task_status = "all_done".into();
        task.task_option_id = 2;
        let moved = (
            task.semester_id.clone(),
            task.user_id.clone(),
            task.stage_id.clone(),
        );
        let i = t
            .stage_tasks
            .iter()
            .position(|s| s.task_option_id == 3 || s.task_option_id == 1)
            .unwrap();
        t.stage_tasks[i].deadline_ms = long_ago;
        let removed = t.stage_tasks.remove(i);
        (
            moved,
            (removed.semester_id, removed.user_id, removed.stage_id),
        )
    });
    let status = |key: (String, String, String)| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, Option<DateTime<Utc>>)>(
                "SELECT stage_task_status, deleted_at FROM feishu.stage_tasks
                  WHERE semester_id = $1 AND user_id = $2 AND stage_id = $3",
            )
            .bind(key.0)
            .bind(key.1)
            .bind(key.2)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };

    run(&ctx, Endpoint::StageTasks, ReadMode::Incremental).await;
    assert_eq!(
        status(moved.clone()).await.0,
        "need_todo",
        "the window cannot see it"
    );
    let before = watermark(&pool, "stage_tasks").await;
    run(&ctx, Endpoint::StageTasks, ReadMode::Reconcile).await;

    assert_eq!(status(moved).await.0, "all_done");
    assert!(
        status(removed).await.1.is_some(),
        "a deleted stage task is retired"
    );
    assert!(
        watermark(&pool, "stage_tasks").await >= before,
        "no watermark moves back"
    );
    assert_counts_match(&pool, &sim).await;
}
