//! Tests of the configuration layers and of the start-up report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use secrecy::ExposeSecret;

use crate::feishu::Endpoint;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

const MINIMAL: &[(&str, &str)] = &[
    ("FEISHU_SYNC__FEISHU__APP_ID", "cli_a"),
    ("FEISHU_SYNC__FEISHU__APP_SECRET", "s3cr3t-value"),
    ("DATABASE_URL", "postgres://localhost/db"),
    (
        "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS",
        "ou_1,ou_2",
    ),
];

#[test]
fn environment_fills_a_config_without_file() {
    let config = Config::load_from(Path::new("/nonexistent.toml"), false, &env(MINIMAL)).unwrap();

    assert_eq!(config.feishu.app_id, "cli_a");
    assert_eq!(config.feishu.app_secret.expose_secret(), "s3cr3t-value");
    assert_eq!(config.database.url(), "postgres://localhost/db");
    assert_eq!(config.streams.approval_tasks.user_ids, ["ou_1", "ou_2"]);
    assert_eq!(config.streams.approval_tasks.topics, APPROVAL_TOPICS);
    assert_eq!(config.feishu.base_url, "https://open.feishu.cn");
    assert_eq!(config.feishu.rate_limits.stage_tasks, 20);
    assert_eq!(config.feishu.rate_limits.semesters, 10);
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let toml = file(
        "[feishu]\nuser_id_type = \"union_id\"\n[feishu.rate_limits]\ntasks = 50\nactivities = 5\n",
    );
    let mut vars = env(MINIMAL);
    vars.insert(
        "FEISHU_SYNC__FEISHU__RATE_LIMITS__TASKS".into(),
        "70".into(),
    );
    vars.insert(
        "FEISHU_SYNC__DATABASE__URL".into(),
        "postgres://explicit/db".into(),
    );

    let config = Config::load_from(toml.path(), true, &vars).unwrap();

    assert_eq!(config.feishu.rate_limits.tasks, 70);
    assert_eq!(config.feishu.rate_limits.activities, 5);
    assert_eq!(
        config.feishu.user_id_type,
        crate::feishu::UserIdType::UnionId
    );
    assert_eq!(
        config.database.url(),
        "postgres://explicit/db",
        "the prefixed variable beats DATABASE_URL"
    );
}

#[test]
fn every_unknown_key_is_named_at_once() {
    let toml = file(
        "[feishu]\napp_idd = \"x\"\n[streams.bogus]\nenabled = true\n[streams.tasks]\nschedul = \"x\"\n[databse]\nurl = \"x\"\n",
    );
    let mut vars = env(MINIMAL);
    vars.insert("FEISHU_SYNC__DATABASE__URLL".into(), "x".into());

    let error = Config::load_from(toml.path(), true, &vars).unwrap_err();

    let text = error.to_string();
    assert!(text.contains("`feishu.app_idd`"), "{text}");
    assert!(text.contains("`streams.bogus`"), "{text}");
    assert!(text.contains("`database.urll`"), "{text}");
    assert!(text.contains("`streams.tasks.schedul`"), "{text}");
    assert!(
        text.contains("`databse`"),
        "a whole unknown section: {text}"
    );
}

#[test]
fn a_wrongly_typed_value_names_its_key() {
    let toml = file("[feishu.rate_limits]\nsemesters = \"fast\"\n");

    let error = Config::load_from(toml.path(), true, &env(MINIMAL)).unwrap_err();

    assert!(error.to_string().contains("semesters"), "{error}");
}

#[test]
fn a_required_file_that_is_missing_is_an_error() {
    let error =
        Config::load_from(Path::new("/nonexistent/sync.toml"), true, &env(MINIMAL)).unwrap_err();

    assert!(
        error.to_string().contains("/nonexistent/sync.toml"),
        "{error}"
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let config = Config::load_from(Path::new("/nonexistent.toml"), false, &env(MINIMAL)).unwrap();

    let debug = format!("{config:?}");
    let serialized = serde_json::to_string(&config).unwrap();

    assert!(!debug.contains("s3cr3t-value"), "{debug}");
    assert!(!serialized.contains("s3cr3t-value"), "{serialized}");
}

#[test]
fn the_example_sync_toml_is_valid_once_the_secret_is_given() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sync.toml");
    let vars = env(&[("FEISHU_SYNC__FEISHU__APP_SECRET", "from-env")]);

    let config = Config::load_from(&path, true, &vars).unwrap();

    assert_eq!(config.feishu.app_id, "cli_a1b2c3d4e5f6");
    assert_eq!(config.streams.stage_tasks.lookback_hours, 720);
    assert!(
        config.streams.approval_tasks.user_ids.is_empty(),
        "approvals of everyone"
    );
    assert!(config.streams.departments.enabled && config.streams.users.enabled);
    assert_eq!(config.history.retain_days, None);
}

#[test]
fn type_errors_in_one_section_do_not_hide_problems_elsewhere() {
    let toml = file(
        "[feishu.rate_limits]\nsemesters = \"fast\"\n[server]\nlisten = \"nowhere\"\n[streams.tasks]\nschedule = \"every minute\"\n[bogus]\nx = 1\n",
    );

    let error = Config::load_from(toml.path(), true, &env(&[])).unwrap_err();

    let text = error.to_string();
    for expected in [
        "semesters",
        "`bogus`",
        "server.listen",
        "streams.tasks.schedule",
        "database.url",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("feishu.app_id"),
        "the unreadable feishu section is not checked further:\n{text}"
    );
}

#[test]
fn commands_that_only_read_the_database_need_no_credentials() {
    let toml = file("[database]\nurl = \"postgres://localhost/db\"\n");
    let (config, problems) = Config::load_with_problems(toml.path(), true, &env(&[])).unwrap();

    assert_eq!(config.database.url(), "postgres://localhost/db");
    assert!(
        problems.iter().any(|p| p.starts_with("feishu.app_id")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .all(|p| p.starts_with("feishu.app_")
                || p.starts_with("streams.approval_tasks.user_ids"))
    );
}

#[test]
fn invalid_toml_is_one_clear_problem() {
    let toml = file("[feishu\napp_id = \"x\"\n");

    let error = Config::load_from(toml.path(), true, &env(MINIMAL)).unwrap_err();

    assert_eq!(error.problems.len(), 1, "{error}");
    assert!(
        error.problems[0].starts_with("cannot read configuration"),
        "{error}"
    );
    assert!(
        error.to_string().contains(".toml"),
        "names the file: {error}"
    );
}

#[test]
fn the_database_password_never_shows_in_debug_or_serialized_output() {
    let mut pairs = MINIMAL.to_vec();
    pairs.retain(|(k, _)| *k != "DATABASE_URL");
    pairs.push((
        "DATABASE_URL",
        "postgres://sync:pa55-w0rd@db.internal/feishu",
    ));
    let config = Config::load_from(Path::new("/nonexistent.toml"), false, &env(&pairs)).unwrap();

    let debug = format!("{config:?}");
    let serialized = serde_json::to_string(&config).unwrap();

    assert!(!debug.contains("pa55-w0rd"), "{debug}");
    assert!(!serialized.contains("pa55-w0rd"), "{serialized}");
    assert!(
        serialized.contains("postgres://sync:***@db.internal/feishu"),
        "{serialized}"
    );
    assert_eq!(
        config.database.url(),
        "postgres://sync:pa55-w0rd@db.internal/feishu"
    );
    assert_eq!(
        config.database.redacted_url(),
        "postgres://sync:***@db.internal/feishu"
    );
}

#[test]
fn a_toml_syntax_error_names_the_line_and_key_but_never_quotes_it() {
    let toml = file("[database]\nmax_connections = 4\nurl = \"postgres://u:PW-0f9e8d@db/feishu\n");

    let error = Config::load_from(toml.path(), true, &env(MINIMAL)).unwrap_err();

    let text = error.to_string();
    assert!(!text.contains("PW-0f9e8d"), "{text}");
    assert!(!text.contains("postgres://u"), "{text}");
    assert!(text.contains("line 3 (key `url`)"), "{text}");
}

#[test]
fn redacted_urls_mask_password_parameters_too() {
    let url = "postgres://sync@db/feishu?sslmode=require&password=pa55&application_name=x";

    let redacted = redact_url(url);

    assert!(!redacted.contains("pa55"), "{redacted}");
    assert!(
        redacted.contains("password=***") && redacted.contains("sslmode=require"),
        "{redacted}"
    );
    assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
}

mod validation;
