//! The `feishu-sync` binary as an operator runs it: configuration from the environment,
//! exit codes, one clear message for bad configuration, a failed run's reason on its log
//! line, and no secret in any output.

use sqlx::PgPool;

use crate::helpers::binary::{database_url, run_binary as run, sim_env, text};
use crate::helpers::*;
use feishu_sim::{Fault, SimConfig, SimHandle};
use feishu_sync::feishu::Endpoint;

const SECRET: &str = "SECRET-9f8e7d6c5b4a";

async fn secret_simulator() -> SimHandle {
    simulator_with(SimConfig {
        app_secret: SECRET.into(),
        ..SimConfig::default().with_window(WINDOW)
    })
    .await
}

#[sqlx::test(migrations = false)]
async fn sync_runs_every_stream_and_never_prints_the_secret_or_a_token(pool: PgPool) {
    let sim = secret_simulator().await;

    let output = run(&["sync"], sim_env(&sim, &pool)).await;

    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        stdout.matches("succeeded").count(),
        Endpoint::ALL.len(),
        "{stdout}"
    );
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!out.contains(SECRET), "the secret appears in {name}");
        assert!(
            !out.contains("t-0") && !contains_token(out),
            "a token appears in {name}"
        );
    }
    assert!(
        stderr.contains("stream run finished"),
        "logs are written: {stderr}"
    );
    assert_tables_match(&pool, &sim).await;
}

/// Whether `text` holds something shaped like a simulator token (`t-` + 32 hex digits).
fn contains_token(text: &str) -> bool {
    text.match_indices("t-").any(|(i, _)| {
        let rest = &text[i + 2..];
        rest.len() >= 32 && rest[..32].chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[sqlx::test(migrations = false)]
async fn a_failed_stream_makes_sync_exit_non_zero(pool: PgPool) {
    let sim = secret_simulator().await;
    sim.inject(Some(Endpoint::Tasks), Fault::BadPageToken, 2); // the restart fails too

    let output = run(
        &["sync", "--stream", "tasks", "--stream", "semesters"],
        sim_env(&sim, &pool),
    )
    .await;

    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("tasks failed") && stdout.contains("1470422"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET));
}

#[sqlx::test(migrations = false)]
async fn bad_configuration_is_one_message_naming_every_problem_and_writes_nothing(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.toml");
    std::fs::write(
        &path,
        "[feishu]\nuser_id_type = \"email\"\napp_sceret = \"x\"\n[streams.users]\nenabled = false\n",
    )
    .unwrap();
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];

    let output = run(&["--config", path.to_str().unwrap(), "sync"], env).await;

    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "invalid configuration",
        "feishu.app_sceret",
        "feishu.app_id",
        "user_id_type",
        "user_ids",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let schema: Option<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname = 'feishu'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(schema, None, "nothing was written");
}

#[sqlx::test(migrations = false)]
async fn an_unreachable_database_is_named_without_its_password(_pool: PgPool) {
    let env = vec![
        (
            "FEISHU_SYNC__FEISHU__APP_ID".to_string(),
            "cli_x".to_string(),
        ),
        (
            "FEISHU_SYNC__FEISHU__APP_SECRET".to_string(),
            SECRET.to_string(),
        ),
        (
            "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__ENABLED".to_string(),
            "false".to_string(),
        ),
        (
            "DATABASE_URL".to_string(),
            "postgres://u:hunter2@127.0.0.1:1/db".to_string(),
        ),
    ];

    let output = run(&["migrate"], env).await;

    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the database at postgres://u:***@127.0.0.1:1/db"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));
}

#[sqlx::test(migrations = false)]
async fn status_shows_each_streams_last_run_watermarks_and_next_run(pool: PgPool) {
    let sim = secret_simulator().await;
    let env = sim_env(&sim, &pool);
    sim.inject(Some(Endpoint::Tasks), Fault::BadPageToken, 2); // the restart fails too
    let sync = run(&["sync"], env.clone()).await;
    assert_eq!(sync.status.code(), Some(1), "tasks fails once");
    // status needs only the database: no Feishu credentials.
    let db_only: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k == "DATABASE_URL")
        .cloned()
        .collect();

    let json = run(&["status", "--json"], db_only.clone()).await;
    let table = run(&["status"], db_only).await;

    let (stdout, stderr) = text(&json);
    assert!(json.status.success(), "{stderr}");
    let statuses: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let by_name = |name: &str| {
        statuses
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stream"] == name)
            .unwrap()
            .clone()
    };
    let stage = by_name("stage_tasks");
    assert_eq!(stage["last_run"]["status"], "succeeded");
    assert!(stage["last_run"]["rows_written"].as_i64().unwrap() > 0);
    assert_eq!(
        stage["watermark_partitions"], 3,
        "one watermark per semester"
    );
    assert!(stage["next_run"].as_str().is_some(), "{stage}");
    let tasks = by_name("tasks");
    assert_eq!(tasks["last_run"]["status"], "failed");
    assert!(
        tasks["last_run"]["error"]
            .as_str()
            .unwrap()
            .contains("1470422")
    );
    let (table, _) = text(&table);
    assert!(
        table.contains("stage_tasks") && table.contains("succeeded") && table.contains("failed"),
        "{table}"
    );
    assert!(
        table.contains("tasks: Feishu tasks failed: code 1470422"),
        "{table}"
    );
}

#[sqlx::test(migrations = false)]
async fn grant_reader_makes_a_role_that_can_only_select_the_feishu_tables(pool: PgPool) {
    let role = format!(
        "reader_{}",
        pool.connect_options()
            .get_database()
            .unwrap()
            .trim_start_matches('_')
            .to_lowercase()
    );
    let role: String = role
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(50)
        .collect();
    sqlx::raw_sql("CREATE TABLE public.private_notes (x int)")
        .execute(&pool)
        .await
        .unwrap();
    let env = vec![
        ("DATABASE_URL".to_string(), database_url(&pool)),
        (
            "FEISHU_SYNC_READER_PASSWORD".to_string(),
            "reader-pass".to_string(),
        ),
    ];

    let output = run(&["grant-reader", &role], env).await;

    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains("reader-pass") && !stderr.contains("reader-pass"));
    let mut url = url::Url::parse(&database_url(&pool)).unwrap();
    url.set_username(&role).unwrap();
    url.set_password(Some("reader-pass")).unwrap();
    let reader = sqlx::PgPool::connect(url.as_str())
        .await
        .expect("the reader can log in");
    let select = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&reader)
        .await;
    let view = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feishu.approval_backlog")
        .fetch_one(&reader)
        .await;
    let insert = sqlx::raw_sql("INSERT INTO feishu.semesters (id, raw) VALUES ('x', '{}')")
        .execute(&reader)
        .await;
    let create = sqlx::raw_sql("CREATE TABLE feishu.mine (x int)")
        .execute(&reader)
        .await;
    let other = sqlx::raw_sql("SELECT * FROM public.private_notes")
        .execute(&reader)
        .await;
    reader.close().await;
    sqlx::raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(select.unwrap(), 0, "SELECT on feishu tables works");
    assert_eq!(view.unwrap(), 0, "and on its views");
    for (what, result) in [
        ("INSERT", insert),
        ("CREATE", create),
        ("another schema", other),
    ] {
        let error = result.expect_err(what).to_string();
        assert!(error.contains("permission denied"), "{what}: {error}");
    }
}

#[sqlx::test(migrations = false)]
async fn every_log_line_of_a_run_carries_its_run_id_and_stream(pool: PgPool) {
    let sim = secret_simulator().await;
    sim.inject(Some(Endpoint::Tasks), Fault::ServerErrorHtml, 1); // a client log line

    let output = run(
        &["--log-format", "json", "sync", "--stream", "tasks"],
        sim_env(&sim, &pool),
    )
    .await;

    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let run_id: i64 = sqlx::query_scalar("SELECT id FROM feishu.sync_runs WHERE stream = 'tasks'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let of_the_run: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            let message = l["fields"]["message"].as_str().unwrap_or_default();
            message.contains("transient failure") || message.contains("stream run finished")
        })
        .collect();
    assert_eq!(of_the_run.len(), 2, "{stderr}");
    for line in of_the_run {
        assert_eq!(line["span"]["run_id"], run_id, "{line}");
        assert_eq!(line["span"]["stream"], "tasks", "{line}");
    }
}

#[sqlx::test(migrations = false)]
async fn switching_the_id_type_is_refused_until_the_ids_are_reset(pool: PgPool) {
    let sim = simulator().await;
    let mut env = sim_env(&sim, &pool);
    let directory = ["sync", "--stream", "departments", "--stream", "users"];
    let first = run(&directory, env.clone()).await;
    assert!(first.status.success(), "{:?}", text(&first));
    env.push(("FEISHU_SYNC__FEISHU__USER_ID_TYPE".into(), "user_id".into()));

    let refused = run(&["sync", "--stream", "users"], env.clone()).await;
    let reset = run(
        &[&directory[..], &["--backfill", "--reset-ids"]].concat(),
        env,
    )
    .await;

    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--reset-ids") && stderr.contains("\"open_id\""),
        "{stderr}"
    );
    assert!(reset.status.success(), "{:?}", text(&reset));
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM feishu.users WHERE deleted_at IS NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    let people = sim.with_tenant(|t| t.people.iter().filter(|p| !p.is_resigned).count());
    assert_eq!(ids.len(), people);
    assert!(
        ids.iter().all(|id| !id.starts_with("ou_")),
        "only user ids: {ids:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_failed_run_says_why_on_its_log_line(pool: PgPool) {
    use crate::helpers::binary::{run_binary, sim_env, text};
    let sim = simulator().await;
    sim.inject(
        Some(Endpoint::Tasks),
        Fault::Code(400, 1470500, "invalid request".into()),
        1,
    );
    let mut env = sim_env(&sim, &pool);
    env.retain(|(k, _)| k != "RUST_LOG");
    env.push(("RUST_LOG".into(), "info".into()));

    let output = run_binary(&["--log-format", "json", "sync", "--stream", "tasks"], env).await;

    let (_, stderr) = text(&output);
    let finished = stderr
        .lines()
        .find(|l| l.contains("stream run finished"))
        .unwrap_or_else(|| panic!("no finish line in {stderr}"));
    assert!(finished.contains(r#""status":"failed""#), "{finished}");
    assert!(
        finished.contains("code 1470500: invalid request"),
        "the reason: {finished}"
    );
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT error FROM feishu.sync_runs WHERE stream = 'tasks'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(recorded.unwrap_or_default().contains("code 1470500"));
}
