//! What a data engineer meets in the first hour (issue 21): refused credentials said once,
//! sweeps only where they apply, `status` for monitoring, a stable demo, and the mistakes
//! that must give one clear message.

use std::collections::BTreeSet;
use std::process::Stdio;

use sqlx::PgPool;

use crate::helpers::binary::{database_url, run_binary as run, sim_env, text};
use crate::helpers::*;
use feishu_sync::feishu::Endpoint;

/// Streams with at least one row in `sync_runs`.
async fn streams_run(pool: &PgPool) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>("SELECT DISTINCT stream FROM feishu.sync_runs")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[sqlx::test(migrations = false)]
async fn a_wrong_app_secret_is_one_message_exit_2_and_no_failed_runs(pool: PgPool) {
    let sim = simulator().await;
    let mut env = sim_env(&sim, &pool);
    env.retain(|(k, _)| k != "FEISHU_SYNC__FEISHU__APP_SECRET");
    env.push((
        "FEISHU_SYNC__FEISHU__APP_SECRET".into(),
        "wrong-secret-123".into(),
    ));

    let output = run(&["sync"], env).await;

    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(stderr.matches("10014").count(), 1, "said once:\n{stderr}");
    assert!(stderr.contains("feishu.app_secret"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-123") && !stdout.contains("wrong-secret-123"));
    assert_eq!(stderr.matches(" ERROR ").count(), 0, "{stderr}");
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(runs, 0, "no stream started");
}

#[sqlx::test(migrations = false)]
async fn a_reconcile_sweep_runs_only_the_streams_that_have_one(pool: PgPool) {
    let sim = simulator().await;

    let output = run(&["sync", "--sweep", "reconcile"], sim_env(&sim, &pool)).await;

    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let expected: BTreeSet<String> = ["stage_tasks", "review_data", "tasks"]
        .map(String::from)
        .into();
    assert_eq!(streams_run(&pool).await, expected, "{stdout}");
    let sweeps: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT sweep FROM feishu.sync_runs")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(sweeps, [Some("reconcile".to_string())]);
}

#[sqlx::test(migrations = false)]
async fn a_sweep_named_with_a_stream_that_lacks_it_is_refused(pool: PgPool) {
    let sim = simulator().await;

    let output = run(
        &["sync", "--sweep", "open-tasks", "--stream", "users"],
        sim_env(&sim, &pool),
    )
    .await;

    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--sweep open-tasks does not apply to users: only tasks have it"),
        "{stderr}"
    );
    assert!(sim.requests().is_empty(), "nothing was sent");
}

#[sqlx::test(migrations = false)]
async fn sync_says_where_its_settings_came_from_in_one_line(pool: PgPool) {
    let sim = simulator().await;

    let output = run(&["sync", "--stream", "semesters"], sim_env(&sim, &pool)).await;

    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("feishu-sync "))
        .unwrap_or_else(|| panic!("no start-up line in:\n{stderr}"));
    assert!(line.contains("config file none;"), "{line}");
    assert!(line.contains("(env DATABASE_URL)"), "{line}");
    assert!(
        line.contains(&format!(
            "Feishu {} (env FEISHU_SYNC__FEISHU__BASE_URL)",
            sim.base_url()
        )),
        "{line}"
    );
}

#[sqlx::test(migrations = false)]
async fn status_check_fails_before_the_first_sync_and_passes_after_it(pool: PgPool) {
    let sim = simulator().await;
    let env = sim_env(&sim, &pool);
    assert!(run(&["migrate"], env.clone()).await.status.success());

    let before = run(&["status", "--check"], env.clone()).await;
    let synced = run(&["sync"], env.clone()).await;
    let after = run(&["status", "--check", "--json"], env.clone()).await;
    let strict = run(&["status", "--check", "--max-age", "0s"], env).await;

    let (_, stderr) = text(&before);
    assert_eq!(before.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tasks: no successful run yet"), "{stderr}");
    assert!(synced.status.success());
    let (stdout, stderr) = text(&after);
    assert_eq!(after.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for stream in json.as_array().unwrap() {
        let next = stream["next_run"].as_str().unwrap();
        assert_eq!(
            next.len(),
            "2026-12-01T20:00:00Z".len(),
            "to the second: {next}"
        );
        assert!(next.ends_with('Z'), "{next}");
    }
    let (_, stderr) = text(&strict);
    assert_eq!(strict.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("more than the 0s allowed"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn healthcheck_needs_no_database_url(_pool: PgPool) {
    let port = crate::helpers::service::free_port();
    let env = vec![(
        "FEISHU_SYNC__SERVER__LISTEN".to_string(),
        format!("127.0.0.1:{port}"),
    )];

    let output = run(&["healthcheck"], env).await;

    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(!stderr.contains("database.url"), "{stderr}");
}

#[sqlx::test]
async fn a_closed_stdout_ends_the_command_quietly(pool: PgPool) {
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];
    let status = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_feishu-sync"))
            .arg("status")
            .env_clear()
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away, like `| head -0`
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();

    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn a_directory_as_config_is_refused(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];

    let output = run(&["--config", dir.path().to_str().unwrap(), "status"], env).await;

    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn database_errors_say_their_cause_once(pool: PgPool) {
    let refused = vec![(
        "DATABASE_URL".to_string(),
        "postgres://u:hunter2@127.0.0.1:1/db".to_string(),
    )];
    let mut missing_url = url::Url::parse(&database_url(&pool)).unwrap();
    missing_url.set_path("feishu_sync_no_such_database");
    let missing = vec![("DATABASE_URL".to_string(), missing_url.to_string())];

    let refused = run(&["status"], refused).await;
    let missing = run(&["status"], missing).await;

    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("timed out"), "{stderr}");
    let (_, stderr) = text(&missing);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches("does not exist").count(), 1, "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn a_second_demo_writes_no_rows(pool: PgPool) {
    let url = database_url(&pool);

    let first = run(&["demo", "--database-url", &url], Vec::new()).await;
    let between: i64 = sqlx::query_scalar("SELECT max(id) FROM feishu.sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    let second = run(&["demo", "--database-url", &url], Vec::new()).await;

    assert!(first.status.success(), "{:?}", text(&first));
    assert!(second.status.success(), "{:?}", text(&second));
    let written: Vec<(String, i64)> = sqlx::query_as(
        "SELECT stream, rows_written FROM feishu.sync_runs WHERE id > $1 AND rows_written > 0",
    )
    .bind(between)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(written, [], "a re-run of the demo changed rows");
}

#[sqlx::test(migrations = false)]
async fn the_service_with_a_wrong_secret_stays_up_unready_and_runs_nothing(pool: PgPool) {
    use crate::helpers::service::{eventually, free_port, get, service_env, terminate};
    let sim = simulator().await;
    let port = free_port();
    let mut env = service_env(&sim, &pool, port);
    env.push((
        "FEISHU_SYNC__FEISHU__APP_SECRET".into(),
        "wrong-secret-123".into(),
    ));
    let child = crate::helpers::binary::spawn_binary(&["run"], env);
    let base = format!("http://127.0.0.1:{port}");

    let refused = eventually(std::time::Duration::from_secs(20), || async {
        get(&format!("{base}/readyz"))
            .await
            .is_some_and(|(status, body)| status == 503 && body.contains("10014"))
    })
    .await;
    let live = get(&format!("{base}/livez")).await;
    let (code, _, log) = terminate(child).await;

    assert!(refused, "/readyz never named the refusal:\n{log}");
    assert_eq!(live.map(|(s, _)| s), Some(200), "{log}");
    assert_eq!(
        log.matches("no stream is scheduled").count(),
        1,
        "one line per attempt, the next after 30 s:\n{log}"
    );
    assert!(!log.contains("wrong-secret-123"));
    assert_eq!(code, Some(0), "{log}");
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(runs, 0);
}

#[sqlx::test(migrations = false)]
async fn waiting_for_a_busy_stream_logs_no_slow_statement(pool: PgPool) {
    let sim = simulator().await;
    let env = sim_env(&sim, &pool);
    assert!(run(&["migrate"], env.clone()).await.status.success());
    let mut holder = pool.acquire().await.unwrap();
    let key = feishu_sync::stream_lock::lock_key(Endpoint::Semesters);
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();

    let mut child = crate::helpers::binary::spawn_binary(&["sync", "--stream", "semesters"], env);
    let waiting =
        crate::helpers::service::eventually(std::time::Duration::from_secs(20), || async {
            child.output().contains("stream busy")
        })
        .await;
    // Longer than sqlx's one-second slow-statement threshold.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = child.child.wait().unwrap();
        (status, child.output())
    })
    .await
    .unwrap();

    let (status, log) = status;
    assert!(waiting, "{log}");
    assert!(status.success(), "{log}");
    assert!(!log.contains("slow statement"), "{log}");
}

#[sqlx::test]
async fn history_start_labels_and_the_root_department_read_honestly(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.history_start")
        .fetch_one(&pool)
        .await
        .unwrap();

    assert_all_succeeded(&sync_all(&ctx, Default::default()).await);

    assert_eq!(before, 0, "no history before the first sync");
    let covered: Vec<String> = sqlx::query_scalar(
        "SELECT stream FROM feishu.history_start
          WHERE history_complete_from >= first_sync_started_at ORDER BY stream",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(covered.len(), Endpoint::ALL.len(), "{covered:?}");
    let unlabelled_root: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.people WHERE department_names = '{}' OR
                (department_ids = '{}' AND department_names <> '{(root)}')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unlabelled_root, 0);
    let (backlog, labelled): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status_label = 'to do' AND process_status_label IS NOT NULL)
           FROM feishu.approval_backlog",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        backlog > 0 && labelled == backlog,
        "{labelled} of {backlog}"
    );
    let words: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT feishu.stage_task_option_label(c) FROM unnest(ARRAY[1, 2, 3, 9]) c",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        words,
        [
            Some("to do".into()),
            Some("done".into()),
            Some("overdue".into()),
            None
        ]
    );
}
