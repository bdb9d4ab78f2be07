//! Faults that must lose nothing: malformed records (filed in `feishu.sync_errors`, the
//! rest of the page written, the run `partial`, the record retried), a server failing at
//! random, and passes cut short that resume at their next page.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::binary::{run_binary, sim_env, text};
use crate::helpers::*;
use feishu_sim::Fault;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

/// The open rows of `feishu.sync_errors`: stream, partition, key, reason, raw.
async fn open_errors(
    pool: &PgPool,
) -> Vec<(
    String,
    String,
    Option<String>,
    String,
    serde_json::Value,
    i32,
)> {
    sqlx::query_as(
        "SELECT stream, partition_key, record_key, reason, raw, occurrences FROM feishu.sync_errors
          WHERE resolved_at IS NULL ORDER BY stream",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_malformed_record_is_filed_the_rest_lands_and_the_next_run_retries_it(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let (bad_task, task_count) = sim.with_tenant(|t| (t.tasks[120].id.clone(), t.tasks.len()));
    let heavy_user = approval_users(&sim)[0].clone();
    let bad_approval = sim.with_tenant(|t| {
        let a = t
            .approval_tasks
            .iter()
            .find(|a| a.user_id == heavy_user)
            .unwrap();
        (a.task_id.clone(), format!("{}/{}", a.user_id, a.topic))
    });
    sim.corrupt(
        Endpoint::Tasks,
        &bad_task,
        json!({"create_time": "yesterday"}),
    );
    sim.corrupt(
        Endpoint::ApprovalTasks,
        &bad_approval.0,
        json!({"task_id": null}),
    );

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    for stream in [Endpoint::Tasks, Endpoint::ApprovalTasks] {
        let r = report(&reports, stream);
        assert_eq!(r.status, RunStatus::Partial, "{stream}: {:?}", r.error);
        assert_eq!(r.counts.rows_rejected, 1);
        assert!(
            r.error.as_deref().unwrap().contains("feishu.sync_errors"),
            "{:?}",
            r.error
        );
    }
    let errors = open_errors(&pool).await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    let (stream, partition, key, reason, raw, _) = &errors[0];
    assert_eq!(
        (stream.as_str(), partition.as_str()),
        ("approval_tasks", bad_approval.1.as_str())
    );
    assert_eq!(key, &None, "the record had no task_id");
    assert!(reason.contains("task_id"), "{reason}");
    assert!(raw.get("title").is_some() && raw.get("task_id").is_none());
    let (stream, partition, key, reason, raw, _) = &errors[1];
    assert_eq!((stream.as_str(), partition.as_str()), ("tasks", ""));
    assert_eq!(key.as_deref(), Some(bad_task.as_str()));
    assert!(reason.contains("create_time"), "{reason}");
    assert_eq!(raw["create_time"], "yesterday");
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM feishu.tasks")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        task_count - 1,
        "every other task of the page landed"
    );
    assert!(!stored.contains(&bad_task));
    let watermark: Option<Option<chrono::DateTime<chrono::Utc>>> = sqlx::query_scalar(
        "SELECT watermark FROM feishu.sync_state WHERE stream = 'tasks' AND partition_key = ''",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(
        watermark.flatten(),
        None,
        "the watermark did not move past the record"
    );

    // Still malformed upstream: the same rows count another occurrence.
    let again = sync_all(&ctx, ReadMode::Incremental).await;
    assert_eq!(report(&again, Endpoint::Tasks).status, RunStatus::Partial);
    let errors = open_errors(&pool).await;
    assert_eq!(errors.iter().map(|e| e.5).collect::<Vec<_>>(), [2, 2]);

    // Fixed upstream: the next run writes the records and closes the errors.
    sim.repair(Endpoint::Tasks, &bad_task);
    sim.repair(Endpoint::ApprovalTasks, &bad_approval.0);
    let fixed = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&fixed);
    assert_tables_match(&pool, &sim).await;
    assert_eq!(open_errors(&pool).await, []);
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM feishu.sync_runs WHERE stream = 'tasks' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(statuses, ["partial", "partial", "succeeded"]);
}

#[sqlx::test]
async fn the_binary_exits_non_zero_after_a_partial_run(pool: PgPool) {
    let sim = simulator().await;
    let bad_task = sim.with_tenant(|t| t.tasks[3].id.clone());
    sim.corrupt(Endpoint::Tasks, &bad_task, json!({"id": 42}));

    let output = run_binary(&["sync", "--stream", "tasks"], sim_env(&sim, &pool)).await;

    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("tasks partial: 1 malformed records skipped (see feishu.sync_errors)"),
        "{stdout}"
    );
    assert!(stderr.contains("malformed record skipped"), "{stderr}");
}

#[sqlx::test]
async fn fifteen_percent_of_responses_failing_or_too_slow_lose_nothing(pool: PgPool) {
    let sim = simulator().await;
    let mut settings = client_settings(&sim);
    settings.timeout = Duration::from_millis(800);
    settings.retry = settings.retry.with_max_times(8);
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids = sim.with_tenant(|t| t.users.clone());
    let ctx = context_with(&pool, settings, streams);
    sim.make_flaky(0.15, Duration::from_millis(1200), 11);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_tables_match_for(&pool, &sim, &ctx.streams.approval_tasks.user_ids).await;
    assert_counts_match(&pool, &sim).await;
    let requests = sim.requests();
    let failed = requests.iter().filter(|r| r.status >= 500).count();
    assert!(
        failed * 100 >= requests.len() * 5,
        "{failed} of {} requests failed",
        requests.len()
    );
    let [html, json, slow] = sim.random_faults();
    assert!(
        html > 0 && json > 0 && slow > 0,
        "every kind of fault was served: {html} HTML 502s, {json} JSON 500s, {slow} slow answers"
    );
}

#[sqlx::test]
async fn a_pass_that_failed_midway_resumes_at_its_next_page(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let first = sync::run_pass(&ctx, &[Endpoint::Tasks], &ReadMode::Incremental)
        .await
        .unwrap();
    assert_eq!(first[0].counts.pages, 3);
    sim.clear_requests();
    sim.with_tenant(|t| t.tasks.iter_mut().for_each(|task| task.summary.push('!')));
    let backfill = ReadMode::Backfill { since: None };
    // Page 1 lands; page 2 fails more often than the client retries.
    sim.inject(Some(Endpoint::Tasks), Fault::Delay(Duration::ZERO), 1);
    sim.inject(Some(Endpoint::Tasks), Fault::ServerErrorJson, 6);

    let failed = sync::run_pass(&ctx, &[Endpoint::Tasks], &backfill)
        .await
        .unwrap();
    assert_eq!(failed[0].status, RunStatus::Failed);
    assert_eq!(failed[0].counts.pages, 1);
    let resumed = sync::run_pass(&ctx, &[Endpoint::Tasks], &backfill)
        .await
        .unwrap();

    assert_all_succeeded(&resumed);
    assert_eq!(resumed[0].counts.pages, 2, "pages 2 and 3 only");
    assert_table_matches(&pool, &sim, "tasks").await;
    assert_eq!(
        pages_read_again(&sim, Endpoint::Tasks, "start_create_time"),
        0
    );
    let cursor: Option<String> = sqlx::query_scalar(
        "SELECT resume_page_token FROM feishu.sync_state WHERE stream = 'tasks'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(cursor, None, "a finished pass leaves no cursor");
}
