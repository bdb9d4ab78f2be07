//! `feishu-sync run` as a process: every stream on a one-second schedule, overlapping
//! firings skipped, health and metrics served, SIGTERM ending it cleanly; and two replicas
//! never running one stream at the same time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::helpers::binary::{Spawned, run_binary, spawn_binary, text};
use crate::helpers::service::{
    SHUTDOWN_TIMEOUT_SECS, eventually, free_port, get, quiet_env, service_env, terminate,
};
use crate::helpers::*;
use feishu_sim::{Fault, SimHandle};
use feishu_sync::feishu::Endpoint;

/// Streams with fewer than `n` succeeded runs.
async fn streams_below(pool: &PgPool, n: i64) -> Vec<String> {
    let mut short = Vec::new();
    for endpoint in Endpoint::ALL {
        let runs: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM feishu.sync_runs WHERE stream = $1 AND status = 'succeeded'",
        )
        .bind(endpoint.name())
        .fetch_one(pool)
        .await
        .unwrap_or(0);
        if runs < n {
            short.push(endpoint.name().to_string());
        }
    }
    short
}

/// A service on a free port firing every stream every second, and its base URL.
fn start_service(sim: &SimHandle, pool: &PgPool) -> (Spawned, String) {
    let port = free_port();
    let child = spawn_binary(&["run"], service_env(sim, pool, port));
    (child, format!("http://127.0.0.1:{port}"))
}

/// `/metrics` as served now, empty when it does not answer.
async fn metrics(base: &str) -> String {
    get(&format!("{base}/metrics"))
        .await
        .map(|(_, body)| body)
        .unwrap_or_default()
}

/// The value of `series` (name and labels, as exposed) in a `/metrics` body; 0 when absent.
/// Every stream's series exist at zero from the start, so a test waits for a count.
fn counted(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[sqlx::test(migrations = false)]
async fn run_fires_every_stream_again_and_again_on_its_schedule(pool: PgPool) {
    let sim = simulator().await;
    let (child, _) = start_service(&sim, &pool);

    let twice = eventually(Duration::from_secs(60), || async {
        streams_below(&pool, 2).await.is_empty()
    })
    .await;
    let (_, _, stderr) = terminate(child).await;

    assert!(
        twice,
        "streams with fewer than two runs: {:?}\n{stderr}",
        streams_below(&pool, 2).await
    );
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test(migrations = false)]
async fn run_skips_a_firing_while_the_streams_previous_run_lasts(pool: PgPool) {
    let sim = simulator().await;
    // Semesters' first runs take 2.5 s each, longer than their one-second schedule.
    sim.inject(
        Some(Endpoint::Semesters),
        Fault::Delay(Duration::from_millis(2500)),
        2,
    );
    let (child, base) = start_service(&sim, &pool);
    let skipped = r#"feishu_sync_skipped_overlaps_total{stream="semesters"}"#;

    let skipped_one = eventually(Duration::from_secs(60), || async {
        counted(&metrics(&base).await, skipped) >= 1.0
    })
    .await;
    let metrics = metrics(&base).await;
    let (_, _, stderr) = terminate(child).await;

    assert!(metrics.contains(skipped), "no overlap skipped:\n{metrics}");
    assert!(skipped_one, "no overlap skipped:\n{metrics}\n{stderr}");
    assert!(stderr.contains("skipping this firing"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn run_serves_health_and_the_metrics_of_its_runs_and_requests(pool: PgPool) {
    let sim = simulator().await;
    let (child, base) = start_service(&sim, &pool);
    let expected = [
        r#"feishu_sync_runs_total{stream="tasks",outcome="succeeded"}"#,
        r#"feishu_sync_requests_total{endpoint="stage_tasks",outcome="ok"}"#,
    ];

    let healthy = eventually(Duration::from_secs(30), || async {
        get(&format!("{base}/healthz"))
            .await
            .is_some_and(|(s, _)| s == 200)
    })
    .await;
    let each_counted = eventually(Duration::from_secs(60), || async {
        let body = metrics(&base).await;
        expected.iter().all(|series| counted(&body, series) >= 1.0)
    })
    .await;
    let metrics = metrics(&base).await;
    let (_, _, stderr) = terminate(child).await;

    assert!(healthy, "/healthz never answered 200:\n{stderr}");
    for series in expected {
        assert!(
            metrics.contains(series),
            "{series} missing from:\n{metrics}"
        );
    }
    assert!(each_counted, "a run and a request counted:\n{metrics}");
}

#[sqlx::test(migrations = false)]
async fn sigterm_stops_run_quickly_with_exit_code_0_and_no_run_left_open(pool: PgPool) {
    let sim = simulator().await;
    let (child, _) = start_service(&sim, &pool);
    let ran = eventually(Duration::from_secs(60), || async {
        streams_below(&pool, 1).await.is_empty()
    })
    .await;

    let (code, took, stderr) = terminate(child).await;

    assert!(ran, "not every stream ran before the SIGTERM:\n{stderr}");
    assert_eq!(code, Some(0), "exit code after SIGTERM; stderr:\n{stderr}");
    assert!(
        took < Duration::from_secs(SHUTDOWN_TIMEOUT_SECS),
        "shutdown took {took:?}"
    );
    let unfinished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.sync_runs WHERE status = 'running' OR finished_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unfinished, 0, "no run row left unfinished");
}

#[sqlx::test(migrations = false)]
async fn two_replicas_never_run_one_stream_at_the_same_time(pool: PgPool) {
    let sim = simulator().await;
    // Slow task pages make each tasks run outlast a firing interval.
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Delay(Duration::from_millis(700)),
        12,
    );
    let first = spawn_binary(&["run"], service_env(&sim, &pool, free_port()));
    let second = spawn_binary(&["run"], service_env(&sim, &pool, free_port()));

    let ran = eventually(Duration::from_secs(60), || async {
        streams_below(&pool, 3).await.is_empty()
    })
    .await;
    let (code_a, _, stderr_a) = terminate(first).await;
    let (code_b, _, stderr_b) = terminate(second).await;

    assert!(
        ran,
        "streams short of runs: {:?}\n{stderr_a}\n{stderr_b}",
        streams_below(&pool, 3).await
    );
    assert_eq!(
        (code_a, code_b),
        (Some(0), Some(0)),
        "{stderr_a}\n{stderr_b}"
    );
    let runs: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT stream, started_at, finished_at FROM feishu.sync_runs ORDER BY stream, started_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for pair in runs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.0 == b.0 {
            let a_end = a.2.expect("finished");
            assert!(b.1 >= a_end, "{} ran twice at once: {a:?} and {b:?}", a.0);
        }
    }
    let skipped = stderr_a.contains("another replica or a one-off sync is running")
        || stderr_b.contains("another replica or a one-off sync is running");
    assert!(skipped, "the replicas never met at a lock");
}

/// `(backfill, status, started_at, finished_at)` of a `sync_runs` row.
type RunSpan = (bool, String, DateTime<Utc>, Option<DateTime<Utc>>);

#[sqlx::test(migrations = false)]
async fn run_with_backfill_backfills_every_stream_first(pool: PgPool) {
    let sim = simulator().await;
    let child = spawn_binary(
        &["run", "--backfill", "--since", "2020-01-01"],
        quiet_env(&sim, &pool, free_port()),
    );
    let backfilled = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(DISTINCT stream) FROM feishu.sync_runs WHERE backfill AND status = 'succeeded'")
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
            == Endpoint::ALL.len() as i64
    };

    let done = eventually(Duration::from_secs(60), backfilled).await;
    let (code, _, log) = terminate(child).await;

    assert!(done, "not every stream was backfilled:\n{log}");
    assert_eq!(code, Some(0), "{log}");
    let since_sent = sim.requests().iter().any(|r| {
        r.endpoint == Endpoint::Tasks
            && r.query
                .iter()
                .any(|(k, v)| k == "start_create_time" && v == "1577836800")
    });
    assert!(since_sent, "the backfill started at --since");
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test(migrations = false)]
async fn sigterm_mid_run_commits_the_page_in_hand_and_records_the_run_as_interrupted(pool: PgPool) {
    let sim = simulator().await;
    // Every approval page takes 300 ms: the first run lasts about 8 s.
    sim.inject(
        Some(Endpoint::ApprovalTasks),
        Fault::Delay(Duration::from_millis(300)),
        1000,
    );
    let mut env = quiet_env(&sim, &pool, free_port());
    env.push((
        "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__SCHEDULE".into(),
        "* * * * * *".into(),
    ));
    let child = spawn_binary(&["run"], env);
    let some_pages = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feishu.approval_tasks")
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
            > 0
    };

    let started = eventually(Duration::from_secs(30), some_pages).await;
    let (code, took, log) = terminate(child).await;

    assert!(started, "{log}");
    assert_eq!(code, Some(0), "{log}");
    assert!(
        took < Duration::from_secs(SHUTDOWN_TIMEOUT_SECS),
        "{took:?}"
    );
    let runs: Vec<(String, i32)> = sqlx::query_as(
        "SELECT status, pages FROM feishu.sync_runs WHERE stream = 'approval_tasks'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].0, "interrupted");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.approval_tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        runs[0].1 > 0 && rows > 0,
        "committed pages stay: {runs:?}, {rows} rows"
    );
}

#[sqlx::test(migrations = false)]
async fn a_one_off_sync_beside_the_service_never_writes_a_stream_at_the_same_time(pool: PgPool) {
    let sim = simulator().await;
    // Every task page takes 400 ms, so each tasks run lasts a while.
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Delay(Duration::from_millis(400)),
        1000,
    );
    let mut env = quiet_env(&sim, &pool, free_port());
    env.push((
        "FEISHU_SYNC__STREAMS__TASKS__SCHEDULE".into(),
        "* * * * * *".into(),
    ));
    let service = spawn_binary(&["run"], env.clone());
    let service_started = eventually(Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feishu.sync_runs WHERE stream = 'tasks'")
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
            > 0
    })
    .await;

    let one_off = run_binary(&["sync", "--stream", "tasks", "--backfill"], env).await;
    let (code, _, log) = terminate(service).await;

    assert!(service_started, "{log}");
    let (stdout, stderr) = text(&one_off);
    assert_eq!(one_off.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(code, Some(0), "{log}");
    let runs: Vec<RunSpan> = sqlx::query_as(
        "SELECT backfill, status, started_at, finished_at FROM feishu.sync_runs
          WHERE stream = 'tasks' ORDER BY started_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(runs.iter().any(|r| r.0 && r.1 == "succeeded"), "{runs:?}");
    assert!(runs.iter().all(|r| r.1 != "abandoned"), "{runs:?}");
    for pair in runs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let a_end = a.3.expect("finished");
        assert!(b.2 >= a_end, "two tasks runs at once: {a:?} and {b:?}");
    }
}
