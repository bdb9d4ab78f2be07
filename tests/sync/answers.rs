//! What the API's answers mean, read exactly: a refused parameter is not a stale page
//! token, and the approval list's `count` says when a read cannot be complete.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{Fault, SimConfig};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::{Endpoint, UserIdType};
use feishu_sync::sync::{self, ReadMode};

const DEPARTED: &str = "ou_00000000000000000000000000000bad";

#[sqlx::test]
async fn an_invalid_user_id_is_quarantined_with_one_request_per_topic_and_the_run_is_partial(
    pool: PgPool,
) {
    let sim = simulator().await;
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids.push(DEPARTED.into());
    let ctx = context_with(&pool, client_settings(&sim), streams.clone());

    let reports = sync::run_pass(&ctx, &[Endpoint::ApprovalTasks], &ReadMode::Incremental)
        .await
        .unwrap();

    let approvals = report(&reports, Endpoint::ApprovalTasks);
    assert_eq!(
        approvals.status,
        RunStatus::Partial,
        "{:?}",
        approvals.error
    );
    let asked = sim
        .requests()
        .iter()
        .filter(|r| r.query.iter().any(|(k, v)| k == "user_id" && v == DEPARTED))
        .count();
    assert_eq!(
        asked,
        streams.approval_tasks.topics.len(),
        "no restart from page 1"
    );
    let quarantined: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.sync_errors
          WHERE stream = 'approval_tasks' AND partition_key LIKE $1 AND resolved_at IS NULL
            AND reason LIKE '%1390001%'",
    )
    .bind(format!("{DEPARTED}/%"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(quarantined as usize, streams.approval_tasks.topics.len());
    assert_table_matches(&pool, &sim, "approval_tasks").await;
}

#[sqlx::test]
async fn a_stale_page_token_still_restarts_the_partition_once(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    // The heavy user's topic "2" needs two pages: the second one's token is refused.
    let heavy = approval_users(&sim)[0].clone();
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids = vec![heavy];
    streams.approval_tasks.topics = vec!["2".into()];
    let ctx = feishu_sync::sync::SyncContext { streams, ..ctx };
    sim.inject(
        Some(Endpoint::ApprovalTasks),
        Fault::Delay(std::time::Duration::ZERO),
        1,
    );
    sim.inject(Some(Endpoint::ApprovalTasks), Fault::BadPageToken, 1);

    let reports = sync::run_pass(&ctx, &[Endpoint::ApprovalTasks], &ReadMode::Incremental)
        .await
        .unwrap();

    assert_all_succeeded(&reports);
    assert_eq!(
        sim.stats(Endpoint::ApprovalTasks).requests,
        4,
        "two pages, the second refused, then both again"
    );
}

#[sqlx::test]
async fn a_list_the_api_caps_is_counted_and_retires_nothing(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        approval_list_cap: 5,
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let heavy = approval_users(&sim)[0].clone();
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids = vec![heavy.clone()];
    streams.approval_tasks.topics = vec!["2".into()];
    let ctx = context_with(&pool, client_settings(&sim), streams);
    const OPTIONS: ReadMode = ReadMode::Incremental;
    let run = || sync::run_pass(&ctx, &[Endpoint::ApprovalTasks], &OPTIONS);
    assert_all_succeeded(&run().await.unwrap());
    let (total, has_more): (i32, bool) = sqlx::query_as(
        "SELECT total, has_more FROM feishu.approval_task_counts WHERE user_id = $1 AND topic = '2'",
    )
    .bind(&heavy)
    .fetch_one(&pool)
    .await
    .unwrap();
    // The first listed task disappears upstream; the capped list now shows another.
    let first_listed: String = sqlx::query_scalar(
        "SELECT min(task_id) FROM feishu.approval_tasks WHERE user_id = $1 AND topic = '2'",
    )
    .bind(&heavy)
    .fetch_one(&pool)
    .await
    .unwrap();
    sim.with_tenant(|t| t.approval_tasks.retain(|a| a.task_id != first_listed));

    assert_all_succeeded(&run().await.unwrap());

    assert_eq!((total, has_more), (5, true));
    let retired: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.approval_tasks WHERE deleted_at IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(retired, 0, "an incomplete list retires nothing");
}

#[sqlx::test]
async fn approval_statuses_read_the_same_as_codes_or_words(pool: PgPool) {
    let codes: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT feishu.approval_status_code(s), feishu.approval_process_status_code(p)
           FROM (VALUES ('1', '1'), ('Todo', 'Running'), ('DONE', 'Approved'), ('Withdrawn', 'Rejected'),
                        ('mystery', 'mystery')) AS v(s, p)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let some = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
    assert_eq!(
        codes,
        [
            some("1", "1"),
            some("1", "1"),
            some("2", "2"),
            some("34", "3"),
            (None, None)
        ]
    );
}

#[sqlx::test]
async fn status_warns_when_a_run_outlasts_the_time_between_firings(pool: PgPool) {
    // Approvals fire every 15 minutes by default; tasks every 10.
    sqlx::query(
        "INSERT INTO feishu.sync_runs (stream, started_at, finished_at, status)
         VALUES ('approval_tasks', now() - interval '20 minutes', now(), 'succeeded'),
                ('tasks', now() - interval '1 minute', now(), 'succeeded')",
    )
    .execute(&pool)
    .await
    .unwrap();

    let statuses =
        feishu_sync::commands::status::collect(&pool, &feishu_sync::config::Config::default())
            .await
            .unwrap();

    let warning = |stream: &str| {
        statuses
            .iter()
            .find(|s| s.stream == stream)
            .and_then(|s| s.warning.clone())
    };
    let approvals = warning("approval_tasks").expect("a warning");
    assert!(
        approvals.contains("1200 s") && approvals.contains("900 s"),
        "{approvals}"
    );
    assert_eq!(warning("tasks"), None);
}

#[sqlx::test]
async fn stage_tasks_without_user_ids_fail_the_stream_naming_the_field_scope(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        grants_user_id_scope: false,
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let mut settings = client_settings(&sim);
    settings.user_id_type = UserIdType::UserId;
    let ctx = context_with(&pool, settings, streams_config(&sim));

    let reports = sync::run_pass(
        &ctx,
        &[Endpoint::Semesters, Endpoint::StageTasks],
        &ReadMode::Incremental,
    )
    .await
    .unwrap();

    let stage = report(&reports, Endpoint::StageTasks);
    let error = stage.error.as_deref().unwrap_or_default();
    assert_eq!(stage.status, RunStatus::Failed);
    assert!(
        error.contains("contact:user.employee_id:readonly"),
        "{error}"
    );
    assert_eq!(error.matches("without `user_id`").count(), 1, "{error}");
    assert_eq!(
        report(&reports, Endpoint::Semesters).status,
        RunStatus::Succeeded
    );
    let quarantined: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.sync_errors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(quarantined, 0, "nothing quarantined");
}
