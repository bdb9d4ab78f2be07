//! End-to-end passes of every stream together through the simulator into a fresh
//! database: completeness, incremental re-runs, changes, retirement and backfill. Each
//! stream's own cases live in the file named after it (`tasks`, `semesters`,
//! `stage_tasks`, `directory`, `performance_results`, …).

use chrono::{Duration, Utc};
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{Semester, Task};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::ReadMode;

#[sqlx::test]
async fn first_sync_fills_every_table_with_the_simulators_data(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_tables_match(&pool, &sim).await;
    assert_counts_match(&pool, &sim).await;
    assert!(
        report(&reports, Endpoint::Tasks).counts.pages >= 3,
        "tasks need several pages"
    );
    assert!(
        report(&reports, Endpoint::StageTasks).counts.pages >= 6,
        "2+ pages per semester"
    );
    let runs: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT stream, status, pages FROM feishu.sync_runs ORDER BY stream")
            .fetch_all(&pool)
            .await
            .unwrap();
    let streams: Vec<&str> = runs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        streams,
        [
            "activities",
            "approval_tasks",
            "departments",
            "indicators",
            "metric_details",
            "metric_fields",
            "review_data",
            "reviewees",
            "semesters",
            "stage_tasks",
            "tasks",
            "users"
        ]
    );
    assert!(
        runs.iter().all(|r| r.1 == "succeeded" && r.2 >= 1),
        "{runs:?}"
    );
    let children_after_parent: bool = sqlx::query_scalar(
        "SELECT bool_and(c.started_at >= p.finished_at) FROM feishu.sync_runs c, feishu.sync_runs p
          WHERE p.stream = 'semesters' AND c.stream IN ('activities', 'stage_tasks')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        children_after_parent,
        "activities and stage tasks start after semesters finished"
    );
}

#[sqlx::test]
async fn second_run_without_changes_writes_nothing_and_sends_watermarks(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    sim.clear_requests();

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    for r in &reports {
        assert_eq!(
            (r.stream, r.counts.rows_written, r.counts.rows_retired),
            (r.stream, 0, 0)
        );
    }
    let requests = sim.requests();
    let stage: Vec<_> = requests
        .iter()
        .filter(|r| r.endpoint == Endpoint::StageTasks)
        .collect();
    assert!(!stage.is_empty());
    for r in &stage {
        let body = r.body.as_ref().unwrap();
        assert!(
            body["after_time"].as_str().is_some(),
            "stage task request without after_time: {body}"
        );
    }
    let tasks: Vec<_> = requests
        .iter()
        .filter(|r| r.endpoint == Endpoint::Tasks)
        .collect();
    assert!(
        tasks
            .iter()
            .all(|r| r.query.iter().any(|(k, _)| k == "start_create_time"))
    );
    assert!(
        tasks.len() <= 2,
        "a no-change run read {} task pages",
        tasks.len()
    );
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn the_next_sync_reflects_every_change_a_watermark_can_see(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let heavy_user = approval_users(&sim)[0].clone();
    let moved = sim.with_tenant(|t| {
        // A new task, a finished stage, an approval moving topic, a new semester.
        let mut task: Task = t.tasks[0].clone();
        task.id = "aaaaaaaa-0000-4000-8000-000000000001".into();
        task.create_time_s = Utc::now().timestamp();
        t.tasks.push(task);
        let stage = recent_stage_task(&mut t.stage_tasks);
        stage.stage_task_status = "all_done".into();
        stage.task_option_id = 2;
        stage.need_todo_count = 0;
        let approval = t
            .approval_tasks
            .iter_mut()
            .find(|a| a.user_id == heavy_user && a.topic == "1")
            .unwrap();
        approval.topic = "2".into();
        let mut semester: Semester = t.semesters[0].clone();
        semester.id = "7999999999999999999".into();
        t.semesters.push(semester);
        approval.task_id.clone()
    });

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_tables_match(&pool, &sim).await;
    let topics: Vec<(String, bool)> = sqlx::query_as(
        "SELECT topic, deleted_at IS NOT NULL FROM feishu.approval_tasks WHERE task_id = $1 ORDER BY topic",
    )
    .bind(&moved)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        topics,
        [("1".to_string(), true), ("2".to_string(), false)],
        "retired in 1, current in 2"
    );
}

#[sqlx::test]
async fn backfill_since_reads_from_that_date_and_moves_watermarks_on(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    // Earlier than an incremental read would start (stage tasks look back 30 days): the
    // backfill covers its window, so the watermarks move on.
    let since = Utc::now() - Duration::days(40);
    let before: Vec<(String, chrono::DateTime<Utc>)> = sqlx::query_as(
        "SELECT partition_key, watermark FROM feishu.sync_state WHERE stream = 'stage_tasks'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    sim.clear_requests();

    let reports = sync_all(&ctx, ReadMode::Backfill { since: Some(since) }).await;

    assert_all_succeeded(&reports);
    let requests = sim.requests();
    let first_task_request = requests
        .iter()
        .find(|r| r.endpoint == Endpoint::Tasks)
        .unwrap();
    let sent: Vec<&str> = first_task_request
        .query
        .iter()
        .filter(|(k, _)| k == "start_create_time")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(sent, [since.timestamp().to_string()]);
    let stage = requests
        .iter()
        .find(|r| r.endpoint == Endpoint::StageTasks)
        .unwrap();
    assert_eq!(
        stage.body.as_ref().unwrap()["after_time"],
        since.timestamp_millis().to_string()
    );
    for (partition, old) in before {
        let new: chrono::DateTime<Utc> = sqlx::query_scalar(
            "SELECT watermark FROM feishu.sync_state WHERE stream = 'stage_tasks' AND partition_key = $1",
        )
        .bind(&partition)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(new > old, "watermark of {partition} moved on");
    }
}

#[sqlx::test]
async fn removed_records_are_retired_not_deleted_and_come_back_when_they_reappear(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let (semester, removed_task) = sim.with_tenant(|t| {
        // A semester deleted upstream takes its activities and stage tasks along.
        let semester = t.semesters.pop().unwrap();
        t.activities.retain(|a| a.semester_id != semester.id);
        t.stage_tasks.retain(|s| s.semester_id != semester.id);
        let newest = t.tasks.iter().map(|k| k.create_time_s).max().unwrap();
        let recent = t
            .tasks
            .iter()
            .position(|k| k.create_time_s == newest)
            .unwrap();
        (semester, t.tasks.remove(recent))
    });

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_tables_match(&pool, &sim).await;
    let retired_children: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.stage_tasks WHERE semester_id = $1 AND deleted_at IS NULL",
    )
    .bind(&semester.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        retired_children, 0,
        "stage tasks of a retired semester are retired"
    );
    sim.with_tenant(|t| t.tasks.push(removed_task.clone()));
    sync_all(&ctx, ReadMode::Incremental).await;
    let back: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT deleted_at FROM feishu.tasks WHERE id = $1")
            .bind(&removed_task.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(back, None, "a task that reappears is current again");
    let status: String =
        sqlx::query_scalar("SELECT status FROM feishu.sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, RunStatus::Succeeded.as_str());
}
