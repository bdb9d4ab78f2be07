//! Tests of the start-up report's validation problems: which values are refused, all of
//! them at once, and in which order they are listed.

use super::*;

#[test]
fn missing_credentials_and_bad_values_are_reported_together() {
    let toml = file(
        "[feishu]\nuser_id_type = \"email\"\n[streams.approval_tasks]\ntopics = [\"1\", \"9\"]\n[streams.users]\nenabled = false\n",
    );

    let error = Config::load_from(toml.path(), true, &env(&[])).unwrap_err();

    let problems = error.problems.join("\n");
    for expected in [
        "feishu.app_id",
        "feishu.app_secret",
        "database.url",
        "user_id_type",
        "\"9\"",
        "streams.approval_tasks.user_ids is empty while streams.users.enabled = false",
    ] {
        assert!(
            problems.contains(expected),
            "missing {expected} in:\n{problems}"
        );
    }
    assert_eq!(error.problems.len(), 6, "{problems}");
}

#[test]
fn schedules_default_per_stream_and_bad_cron_is_named() {
    let mut vars = env(MINIMAL);
    vars.insert(
        "FEISHU_SYNC__STREAMS__TASKS__SCHEDULE".into(),
        "*/5 * * * * *".into(),
    );
    let config = Config::load_from(Path::new("/nonexistent.toml"), false, &vars).unwrap();
    vars.insert(
        "FEISHU_SYNC__STREAMS__SEMESTERS__SCHEDULE".into(),
        "0 0 * * *".into(),
    );

    let error = Config::load_from(Path::new("/nonexistent.toml"), false, &vars).unwrap_err();

    assert_eq!(config.streams.schedule(Endpoint::Tasks), "*/5 * * * * *");
    assert_eq!(config.streams.schedule(Endpoint::Semesters), "0 0 * * * *");
    assert_eq!(error.problems.len(), 1, "{error}");
    assert!(
        error.problems[0].contains("streams.semesters.schedule"),
        "{error}"
    );
    assert_eq!(config.server.listen, "127.0.0.1:9187");
    assert_eq!(config.server.shutdown_timeout_secs, 30);
}

#[test]
fn base_url_must_be_https_unless_insecure_http_is_allowed() {
    let mut pairs = MINIMAL.to_vec();
    pairs.push(("FEISHU_SYNC__FEISHU__BASE_URL", "http://open.feishu.cn"));
    let refused =
        Config::load_from(Path::new("/nonexistent.toml"), false, &env(&pairs)).unwrap_err();
    pairs.push(("FEISHU_SYNC__FEISHU__ALLOW_INSECURE_HTTP", "true"));
    let allowed = Config::load_from(Path::new("/nonexistent.toml"), false, &env(&pairs));

    assert!(
        refused
            .to_string()
            .contains("feishu.base_url must be https://"),
        "{refused}"
    );
    assert!(allowed.is_ok(), "{allowed:?}");
}

#[test]
fn values_that_would_overflow_times_and_durations_are_refused() {
    let mut pairs = MINIMAL.to_vec();
    pairs.extend([
        ("FEISHU_SYNC__STREAMS__TASKS__LOOKBACK_HOURS", "4294967295"),
        (
            "FEISHU_SYNC__STREAMS__STAGE_TASKS__LOOKBACK_HOURS",
            "100000",
        ),
        (
            "FEISHU_SYNC__FEISHU__RATE_LIMIT_WINDOW_SECS",
            "18446744073709551615",
        ),
        ("FEISHU_SYNC__FEISHU__REQUEST_TIMEOUT_SECS", "0"),
        ("FEISHU_SYNC__FEISHU__MAX_PAGES_PER_PARTITION", "0"),
    ]);

    let error = Config::load_from(Path::new("/nonexistent.toml"), false, &env(&pairs)).unwrap_err();

    let problems = error.problems.join("\n");
    for key in [
        "streams.tasks.lookback_hours",
        "streams.stage_tasks.lookback_hours",
        "feishu.rate_limit_window_secs",
        "feishu.request_timeout_secs",
        "feishu.max_pages_per_partition",
    ] {
        assert!(
            problems.contains(&format!("{key} = ")),
            "{key} in:\n{problems}"
        );
    }
    assert_eq!(error.problems.len(), 5, "{problems}");
}

#[test]
fn an_unknown_user_id_type_is_one_problem_beside_the_feishu_sections_others() {
    let mut pairs = MINIMAL.to_vec();
    pairs.push(("FEISHU_SYNC__FEISHU__USER_ID_TYPE", "Open_ID"));
    pairs.push(("FEISHU_SYNC__FEISHU__BASE_URL", "http://open.feishu.cn"));

    let error = Config::load_from(Path::new("/nonexistent.toml"), false, &env(&pairs)).unwrap_err();

    let problems = error.problems.join("\n");
    assert!(
        problems.contains("feishu.user_id_type \"Open_ID\" must be open_id, union_id or user_id"),
        "{problems}"
    );
    assert!(
        problems.contains("feishu.base_url must be https://"),
        "{problems}"
    );
    assert_eq!(error.problems.len(), 2, "{problems}");
}

#[test]
fn an_unknown_user_id_type_is_listed_in_its_place_among_the_others() {
    let toml = file(
        "[feishu]\nuser_id_type = \"email\"\nbase_url = \"http://open.feishu.cn\"\n\
         [database]\nmax_connections = 0\n",
    );

    let error = Config::load_from(toml.path(), true, &env(&[])).unwrap_err();

    let starts: Vec<&str> = error
        .problems
        .iter()
        .map(|p| p.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        starts,
        [
            "feishu.app_id",
            "feishu.app_secret",
            "feishu.user_id_type",
            "feishu.base_url",
            "database.url",
            "database.max_connections",
        ],
        "{:#?}",
        error.problems
    );
}
