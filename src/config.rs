//! Configuration: built-in defaults, then `sync.toml`, then `FEISHU_SYNC__SECTION__KEY`
//! environment variables (and `DATABASE_URL`). Unknown keys and bad values are all reported
//! together at start-up, before anything is written.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::feishu::Endpoint;

/// Prefix of the environment variables that override the file, e.g.
/// `FEISHU_SYNC__FEISHU__APP_SECRET` for `feishu.app_secret`.
pub const ENV_PREFIX: &str = "FEISHU_SYNC";

/// Every approval topic the API knows: to-do, done, initiated, unread CC, read CC.
pub const APPROVAL_TOPICS: [&str; 5] = ["1", "2", "3", "17", "18"];

/// The whole configuration of feishu-sync.
///
/// Unknown keys are found by [`unknown_keys`] (comparing the given tree with the defaults)
/// rather than by serde's `deny_unknown_fields`, which stops at the first one: this way a
/// misspelt key and a missing secret are reported in the same message.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    pub feishu: FeishuConfig,
    pub database: DatabaseConfig,
    pub streams: StreamsConfig,
    pub server: ServerConfig,
}

/// The long-lived `run` service: where health and metrics are served, how long a
/// shutdown may take.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address of `/healthz` and `/metrics`.
    pub listen: String,
    /// Seconds in-flight runs get to finish their page after SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9187".into(),
            shutdown_timeout_secs: 30,
        }
    }
}

/// How to reach the Feishu Open Platform and as which app.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct FeishuConfig {
    /// `https://open.feishu.cn`, or `https://open.larksuite.com` for Lark.
    pub base_url: String,
    pub app_id: String,
    /// Never logged; serialized as an empty string.
    #[serde(serialize_with = "serialize_redacted")]
    pub app_secret: SecretString,
    /// `open_id`, `union_id` or `user_id`: which id every user column holds.
    pub user_id_type: String,
    /// Seconds before one HTTP request is abandoned and retried.
    pub request_timeout_secs: u64,
    /// Requests per `rate_limit_window_secs`, per endpoint.
    pub rate_limits: RateLimits,
    /// The window the rate limits count in: Feishu's is 60 s. Only a simulator with
    /// scaled-down windows (the benchmark) changes it.
    pub rate_limit_window_secs: u64,
}

/// Client-side request budget per endpoint, in requests per minute.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RateLimits {
    pub semesters: u32,
    pub activities: u32,
    pub stage_tasks: u32,
    pub approval_tasks: u32,
    pub tasks: u32,
}

/// Where the tables live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

/// Per-stream switches and settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StreamsConfig {
    pub semesters: StreamToggle,
    pub activities: StreamToggle,
    pub stage_tasks: StageTasksConfig,
    pub approval_tasks: ApprovalTasksConfig,
    pub tasks: TasksConfig,
}

/// A stream with nothing to set but whether and when it runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct StreamToggle {
    pub enabled: bool,
    /// 6-field cron (with seconds), UTC; `None` means the stream's default.
    pub schedule: Option<String>,
}

/// Stage tasks: how far back a deadline may lie and the task still change.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct StageTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass re-reads every task whose deadline is later than the previous
    /// pass's start minus this many hours.
    pub lookback_hours: u32,
}

/// Approval tasks are listed per user and topic, so the users must be named.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ApprovalTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// Ids of `feishu.user_id_type` whose approval tasks are copied.
    pub user_ids: Vec<String>,
    /// Topics to copy; default all five.
    pub topics: Vec<String>,
}

/// Task v1: how late a task may show up after its create time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass asks for tasks created after the newest create time seen
    /// minus this many hours.
    pub lookback_hours: u32,
}

impl Default for FeishuConfig {
    fn default() -> Self {
        FeishuConfig {
            base_url: "https://open.feishu.cn".into(),
            app_id: String::new(),
            app_secret: SecretString::from(String::new()),
            user_id_type: "open_id".into(),
            request_timeout_secs: 30,
            rate_limits: RateLimits::default(),
            rate_limit_window_secs: 60,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            semesters: Endpoint::Semesters.default_rate_per_minute(),
            activities: Endpoint::Activities.default_rate_per_minute(),
            stage_tasks: Endpoint::StageTasks.default_rate_per_minute(),
            approval_tasks: Endpoint::ApprovalTasks.default_rate_per_minute(),
            tasks: Endpoint::Tasks.default_rate_per_minute(),
        }
    }
}

impl RateLimits {
    /// The budget of one endpoint.
    pub fn for_endpoint(&self, endpoint: Endpoint) -> u32 {
        match endpoint {
            Endpoint::Semesters => self.semesters,
            Endpoint::Activities => self.activities,
            Endpoint::StageTasks => self.stage_tasks,
            Endpoint::ApprovalTasks => self.approval_tasks,
            Endpoint::Tasks => self.tasks,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 8,
        }
    }
}

impl Default for StreamToggle {
    fn default() -> Self {
        StreamToggle {
            enabled: true,
            schedule: None,
        }
    }
}

impl Default for StageTasksConfig {
    fn default() -> Self {
        StageTasksConfig {
            enabled: true,
            schedule: None,
            lookback_hours: 30 * 24,
        }
    }
}

impl Default for ApprovalTasksConfig {
    fn default() -> Self {
        ApprovalTasksConfig {
            enabled: true,
            schedule: None,
            user_ids: Vec::new(),
            topics: APPROVAL_TOPICS.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Default for TasksConfig {
    fn default() -> Self {
        TasksConfig {
            enabled: true,
            schedule: None,
            lookback_hours: 24,
        }
    }
}

impl StreamsConfig {
    /// When a stream runs under `run`: its `schedule`, or the stream's default.
    pub fn schedule(&self, endpoint: Endpoint) -> String {
        let configured = match endpoint {
            Endpoint::Semesters => &self.semesters.schedule,
            Endpoint::Activities => &self.activities.schedule,
            Endpoint::StageTasks => &self.stage_tasks.schedule,
            Endpoint::ApprovalTasks => &self.approval_tasks.schedule,
            Endpoint::Tasks => &self.tasks.schedule,
        };
        configured
            .clone()
            .unwrap_or_else(|| default_schedule(endpoint).to_string())
    }

    /// Whether a stream is switched on.
    pub fn enabled(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::Semesters => self.semesters.enabled,
            Endpoint::Activities => self.activities.enabled,
            Endpoint::StageTasks => self.stage_tasks.enabled,
            Endpoint::ApprovalTasks => self.approval_tasks.enabled,
            Endpoint::Tasks => self.tasks.enabled,
        }
    }
}

/// Default schedules (UTC, with seconds): the performance configuration hourly, stage
/// tasks every half hour, approvals every 15 minutes, tasks every 10 minutes. Staggered
/// so streams that share nothing do not all start in the same second.
pub fn default_schedule(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Semesters => "0 0 * * * *",
        Endpoint::Activities => "0 5 * * * *",
        Endpoint::StageTasks => "0 10/30 * * * *",
        Endpoint::ApprovalTasks => "0 2/15 * * * *",
        Endpoint::Tasks => "0 */10 * * * *",
    }
}

/// Parses a 6-field cron expression (seconds first) exactly as the scheduler does.
pub fn parse_schedule(text: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(text)
        .map_err(|e| format!("{e}"))
}

fn serialize_redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

/// Start-up problems, every one of them, so an operator fixes them in one go.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: String) -> Self {
        ConfigError {
            problems: vec![problem],
        }
    }
}

impl Config {
    /// Loads defaults, then the file at `path` (required only if `required`), then the
    /// environment, and validates the result.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Config::load_from(path, required, &env)
    }

    /// Like [`Config::load`] with an explicit environment, so tests need not touch the
    /// process environment.
    pub fn load_from(
        path: &Path,
        required: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Config::load_with_problems(path, required, env)?;
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// For commands that only read the database (`status`, `healthcheck`): missing Feishu
    /// credentials and approval users do not matter there; every other problem does.
    pub fn load_for_database(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let (config, problems) = Config::load_with_problems(path, required, &env)?;
        let problems: Vec<String> = problems
            .into_iter()
            .filter(|p| {
                !p.starts_with("feishu.app_") && !p.starts_with("streams.approval_tasks.user_ids")
            })
            .collect();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The layered configuration and its validation problems; unknown keys and values
    /// that cannot be read at all are errors straight away.
    fn load_with_problems(
        path: &Path,
        required: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        if required && !path.exists() {
            return Err(ConfigError::one(format!(
                "config file {} not found: create it (see sync.toml in the repository) or pass --config",
                path.display()
            )));
        }
        let layered = layered_source(path, env)?;
        let mut problems = unknown_keys(&layered);
        let (mut config, unreadable) = read_sections(&layered);
        problems.extend(unreadable.iter().map(|(_, e)| e.clone()));
        config.apply_database_url_fallback(env);
        // A section that could not be read is checked no further: its defaults would only
        // produce misleading complaints.
        let unreadable: Vec<&str> = unreadable.iter().map(|(section, _)| *section).collect();
        problems.extend(config.problems().into_iter().filter(|p| {
            !unreadable
                .iter()
                .any(|section| p.starts_with(&format!("{section}.")))
        }));
        Ok((config, problems))
    }

    /// `DATABASE_URL` fills `database.url` unless `FEISHU_SYNC__DATABASE__URL` was given.
    fn apply_database_url_fallback(&mut self, env: &BTreeMap<String, String>) {
        let explicit = env.contains_key(&format!("{ENV_PREFIX}__DATABASE__URL"));
        if let (false, Some(url)) = (explicit, env.get("DATABASE_URL")) {
            self.database.url = url.clone();
        }
    }

    /// Validates the whole configuration and returns every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let feishu = &self.feishu;
        if url::Url::parse(&feishu.base_url).is_err() {
            problems.push(format!(
                "feishu.base_url {:?} is not a URL (e.g. https://open.feishu.cn)",
                feishu.base_url
            ));
        }
        if feishu.app_id.trim().is_empty() {
            problems.push(
                "feishu.app_id is missing: set it in the file or FEISHU_SYNC__FEISHU__APP_ID"
                    .into(),
            );
        }
        if feishu.app_secret.expose_secret().trim().is_empty() {
            problems
                .push("feishu.app_secret is missing: set FEISHU_SYNC__FEISHU__APP_SECRET".into());
        }
        if !["open_id", "union_id", "user_id"].contains(&feishu.user_id_type.as_str()) {
            problems.push(format!(
                "feishu.user_id_type {:?} must be open_id, union_id or user_id",
                feishu.user_id_type
            ));
        }
        if feishu.rate_limit_window_secs == 0 {
            problems.push("feishu.rate_limit_window_secs must be at least 1".into());
        }
        if feishu.request_timeout_secs == 0 {
            problems.push("feishu.request_timeout_secs must be at least 1".into());
        }
        for endpoint in Endpoint::ALL {
            if feishu.rate_limits.for_endpoint(endpoint) == 0 {
                problems.push(format!(
                    "feishu.rate_limits.{endpoint} must be at least 1 request per minute"
                ));
            }
        }
        problems.extend(self.database_problems());
        problems.extend(self.stream_problems());
        problems.extend(self.server_problems());
        problems
    }

    fn database_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = &self.database.url;
        if url.is_empty() {
            problems.push(
                "database.url is missing: set DATABASE_URL or FEISHU_SYNC__DATABASE__URL".into(),
            );
        } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push("database.url must start with postgres:// or postgresql://".into());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".into());
        }
        problems
    }

    fn server_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen {:?} is not an address like 127.0.0.1:9187",
                self.server.listen
            ));
        }
        if self.server.shutdown_timeout_secs == 0 {
            problems.push("server.shutdown_timeout_secs must be at least 1".into());
        }
        problems
    }

    fn stream_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for endpoint in Endpoint::ALL {
            let schedule = self.streams.schedule(endpoint);
            if let Err(e) = parse_schedule(&schedule) {
                problems.push(format!(
                    "streams.{endpoint}.schedule {schedule:?} is not a 6-field cron expression \
                     (sec min hour day month weekday, e.g. \"0 */10 * * * *\"): {e}"
                ));
            }
        }
        let approval = &self.streams.approval_tasks;
        if approval.enabled && approval.user_ids.is_empty() {
            problems.push(
                "streams.approval_tasks.user_ids is empty: list the users whose approval tasks \
                 to copy, or set streams.approval_tasks.enabled = false"
                    .into(),
            );
        }
        for topic in &approval.topics {
            if !APPROVAL_TOPICS.contains(&topic.as_str()) {
                problems.push(format!(
                    "streams.approval_tasks.topics: {topic:?} is not one of 1, 2, 3, 17, 18"
                ));
            }
        }
        if approval.enabled && approval.topics.is_empty() {
            problems.push("streams.approval_tasks.topics is empty".into());
        }
        problems
    }
}

/// Reads each top-level section on its own, so a wrongly typed value in one section does
/// not hide the problems of the others. Returns the config (defaults for unreadable
/// sections) and `(section, message)` for each section that could not be read.
fn read_sections(layered: &config::Config) -> (Config, Vec<(&'static str, String)>) {
    fn section<T: serde::de::DeserializeOwned + Default>(
        layered: &config::Config,
        name: &'static str,
        errors: &mut Vec<(&'static str, String)>,
    ) -> T {
        match layered.get::<Option<T>>(name) {
            Ok(value) => value.unwrap_or_default(),
            Err(config::ConfigError::NotFound(_)) => T::default(),
            Err(e) => {
                errors.push((name, e.to_string()));
                T::default()
            }
        }
    }
    let mut errors = Vec::new();
    let config = Config {
        feishu: section(layered, "feishu", &mut errors),
        database: section(layered, "database", &mut errors),
        streams: section(layered, "streams", &mut errors),
        server: section(layered, "server", &mut errors),
    };
    // The crate names only the section; name every offending key instead.
    let known = serde_json::to_value(Config::default()).expect("defaults serialize");
    let given: serde_json::Value = layered.clone().try_deserialize().unwrap_or_default();
    let errors = errors
        .into_iter()
        .flat_map(|(name, message)| {
            let mut precise = Vec::new();
            leaf_type_errors(layered, name, &given[name], &known[name], &mut precise);
            if precise.is_empty() {
                precise.push(message);
            }
            precise.into_iter().map(move |m| (name, m))
        })
        .collect();
    (config, errors)
}

/// Checks each given leaf under `path` against the type of its default.
fn leaf_type_errors(
    layered: &config::Config,
    path: &str,
    given: &serde_json::Value,
    known: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    let result = match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (key, value) in given {
                if let Some(default) = known.get(key) {
                    leaf_type_errors(layered, &format!("{path}.{key}"), value, default, out);
                }
            }
            return;
        }
        (_, Value::Number(_)) => layered.get::<u64>(path).map(drop),
        (_, Value::Bool(_)) => layered.get::<bool>(path).map(drop),
        (_, Value::Array(_)) => layered.get::<Vec<String>>(path).map(drop),
        (_, _) => layered.get::<String>(path).map(drop),
    };
    if let Err(e) = result {
        out.push(e.to_string());
    }
}

/// Keys whose environment variable holds a comma-separated list.
const LIST_KEYS: [&str; 2] = [
    "streams.approval_tasks.user_ids",
    "streams.approval_tasks.topics",
];

/// The file and environment layered by the `config` crate; defaults come from serde.
/// Values stay strings (no guessing that `007` is a number); the crate converts them to
/// each field's type, and list variables are split on commas here.
fn layered_source(
    path: &Path,
    env: &BTreeMap<String, String>,
) -> Result<config::Config, ConfigError> {
    let env_key = |key: &str| format!("{ENV_PREFIX}__{}", key.to_uppercase().replace('.', "__"));
    let scalars: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .filter(|(k, _)| !LIST_KEYS.iter().any(|list| env_key(list) == **k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut builder = config::Config::builder()
        .add_source(config::File::from(path).required(false))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(scalars)),
        );
    for key in LIST_KEYS {
        if let Some(value) = env.get(&env_key(key)) {
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect();
            builder = builder
                .set_override(key, items)
                .map_err(|e| ConfigError::one(e.to_string()))?;
        }
    }
    builder
        .build()
        .map_err(|e| ConfigError::one(format!("cannot read configuration: {e}")))
}

/// Every key the user gave that the configuration does not have, found by comparing the
/// user's tree with the tree of the defaults.
fn unknown_keys(layered: &config::Config) -> Vec<String> {
    let known = serde_json::to_value(Config::default()).expect("defaults serialize");
    let given: serde_json::Value = match layered.clone().try_deserialize() {
        Ok(value) => value,
        Err(_) => return Vec::new(),
    };
    let mut unknown = Vec::new();
    collect_unknown("", &given, &known, &mut unknown);
    unknown
        .into_iter()
        .map(|key| format!("unknown key `{key}` (check the spelling against sync.toml)"))
        .collect()
}

fn collect_unknown(
    prefix: &str,
    given: &serde_json::Value,
    known: &serde_json::Value,
    out: &mut Vec<String>,
) {
    let (Some(given), Some(known)) = (given.as_object(), known.as_object()) else {
        return;
    };
    for (key, value) in given {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match known.get(key) {
            Some(known_value) => collect_unknown(&path, value, known_value, out),
            None => out.push(path),
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
