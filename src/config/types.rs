//! The configuration's shape and its defaults: one struct per section of `sync.toml`,
//! each key documented in the README's configuration reference.

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::feishu::{Endpoint, UserIdType};

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
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct Config {
    pub feishu: FeishuConfig,
    pub database: DatabaseConfig,
    pub streams: StreamsConfig,
    pub server: ServerConfig,
    pub history: HistoryConfig,
    pub events: EventsConfig,
}

/// Real-time sync over Feishu's long connection (`run` only).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct EventsConfig {
    /// Off by default: the app's console must be switched to the long connection first.
    pub enabled: bool,
    /// Approval definition codes to subscribe besides those `feishu.approval_tasks` holds.
    pub approval_codes: Vec<String>,
    /// Processed events older than this many days are pruned hourly; `None` follows
    /// `history.retain_days` (and keeps everything when that is unset too).
    pub retain_days: Option<u32>,
}

/// The change history (`feishu.<table>_history`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct HistoryConfig {
    /// The service prunes versions that ended more than this many days ago, in small
    /// batches every hour; `None` (the default) keeps the whole history.
    pub retain_days: Option<u32>,
}

/// The long-lived `run` service: where health and metrics are served, how long a
/// shutdown may take.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the probes (`/livez`, `/readyz`) and `/metrics`.
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
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct FeishuConfig {
    /// `https://open.feishu.cn`, or `https://open.larksuite.com` for Lark.
    pub base_url: String,
    pub app_id: String,
    /// Never logged; serialized as an empty string.
    #[serde(serialize_with = "serialize_redacted")]
    #[schemars(with = "String")]
    pub app_secret: SecretString,
    /// `open_id`, `union_id` or `user_id`: which id every user column holds.
    // A string in the schema, as before the enum: the accepted words are in the text above.
    #[schemars(with = "String")]
    pub user_id_type: UserIdType,
    /// Seconds before one HTTP request is abandoned and retried.
    pub request_timeout_secs: u64,
    /// Requests per `rate_limit_window_secs`, per endpoint.
    pub rate_limits: RateLimits,
    /// The window the rate limits count in: Feishu's is 60 s. Only a simulator with
    /// scaled-down windows (the benchmark) changes it.
    pub rate_limit_window_secs: u64,
    /// The most pages one read of a partition may take: a server that keeps answering
    /// `has_more` with fresh tokens must not spend the tenant's monthly quota.
    pub max_pages_per_partition: u32,
    /// Allow an `http://` base URL (the simulator's tests and `demo`); otherwise it must
    /// be `https://`, since the app secret is posted to it.
    pub allow_insecure_http: bool,
}

/// Client-side request budget per endpoint, in requests per minute.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct RateLimits {
    pub semesters: u32,
    pub activities: u32,
    pub stage_tasks: u32,
    pub approval_tasks: u32,
    pub tasks: u32,
    pub departments: u32,
    pub users: u32,
    pub reviewees: u32,
    pub review_data: u32,
    pub metric_details: u32,
    pub indicators: u32,
    pub metric_fields: u32,
}

/// Where the tables live.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A secret: the URL usually carries the password. `Debug` prints it redacted, and
    /// serializing writes it with the password replaced.
    #[serde(serialize_with = "serialize_redacted_url")]
    #[schemars(with = "String")]
    pub url: SecretString,
    pub max_connections: u32,
}

impl DatabaseConfig {
    /// The URL, password included: only for connecting.
    pub fn url(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with its password replaced, for messages.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url())
    }
}

/// A database URL with its password replaced, fit for messages.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparseable url>".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    // libpq takes the password as a parameter too: `?password=...`.
    let secret =
        |key: &str| key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword");
    if parsed.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| match secret(&k) {
                true => (k.into_owned(), "***".to_string()),
                false => (k.into_owned(), v.into_owned()),
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Per-stream switches and settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StreamsConfig {
    pub semesters: StreamToggle,
    pub activities: StreamToggle,
    pub stage_tasks: StageTasksConfig,
    pub approval_tasks: ApprovalTasksConfig,
    pub tasks: TasksConfig,
    pub departments: StreamToggle,
    pub users: StreamToggle,
    pub reviewees: StreamToggle,
    pub review_data: ReviewDataConfig,
    pub metric_details: StreamToggle,
    pub indicators: StreamToggle,
    pub metric_fields: StreamToggle,
}

/// Review data: which stage types to read and how far an incremental read looks back.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
pub struct ReviewDataConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// `stage_types` sent with every request: without one the API returns no stage data.
    /// Default: every type the document lists.
    pub stage_types: Vec<String>,
    /// An incremental pass asks for stages submitted after the oldest watermark of its
    /// semesters minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every stage whole (no `updated_later_than`), the only read that
    /// may retire stages and items: 6-field cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

/// A stream with nothing to set but whether and when it runs.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StreamToggle {
    pub enabled: bool,
    /// 6-field cron (with seconds), UTC; `None` means the stream's default.
    pub schedule: Option<String>,
}

/// Stage tasks: how far back a deadline may lie and the task still change.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StageTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass re-reads every task whose deadline is later than the previous
    /// pass's start minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every semester whole, to see what the deadline filter cannot
    /// (late completions of older tasks, tasks added with earlier deadlines, deletions):
    /// 6-field cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

/// Approval tasks are listed per user and topic: of the users named here, or, when none
/// are, of every current user of `feishu.users` (the directory).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct ApprovalTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// Ids of `feishu.user_id_type` whose approval tasks are copied; empty: everyone in
    /// `feishu.users` with `deleted_at IS NULL`.
    pub user_ids: Vec<String>,
    /// Topics to copy; default all five.
    pub topics: Vec<String>,
}

/// Task v1: how late a task may show up after its create time.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct TasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass asks for tasks created after the newest create time seen
    /// minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every open task (`task_completed=false`), whatever its create
    /// time, so edits of older open tasks arrive: cron, UTC, or `off`.
    pub open_sweep_schedule: String,
    /// When `run` reads every task, completing what the create-time filter cannot see
    /// (completions of older tasks) and retiring deleted ones: cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

impl Default for FeishuConfig {
    fn default() -> Self {
        FeishuConfig {
            base_url: "https://open.feishu.cn".into(),
            app_id: String::new(),
            app_secret: SecretString::from(String::new()),
            user_id_type: UserIdType::OpenId,
            request_timeout_secs: 30,
            rate_limits: RateLimits::default(),
            rate_limit_window_secs: 60,
            max_pages_per_partition: 20_000,
            allow_insecure_http: false,
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
            departments: Endpoint::Departments.default_rate_per_minute(),
            users: Endpoint::Users.default_rate_per_minute(),
            reviewees: Endpoint::Reviewees.default_rate_per_minute(),
            review_data: Endpoint::ReviewData.default_rate_per_minute(),
            metric_details: Endpoint::MetricDetails.default_rate_per_minute(),
            indicators: Endpoint::Indicators.default_rate_per_minute(),
            metric_fields: Endpoint::MetricFields.default_rate_per_minute(),
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
            Endpoint::Departments => self.departments,
            Endpoint::Users => self.users,
            Endpoint::Reviewees => self.reviewees,
            Endpoint::ReviewData => self.review_data,
            Endpoint::MetricDetails => self.metric_details,
            Endpoint::Indicators => self.indicators,
            Endpoint::MetricFields => self.metric_fields,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: SecretString::from(String::new()),
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
            reconcile_schedule: "0 25 19 * * *".into(),
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

impl Default for ReviewDataConfig {
    fn default() -> Self {
        ReviewDataConfig {
            enabled: true,
            schedule: None,
            stage_types: feishu_endpoints::REVIEW_STAGE_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            lookback_hours: 24,
            reconcile_schedule: "0 15 20 * * *".into(),
        }
    }
}

impl Default for TasksConfig {
    fn default() -> Self {
        TasksConfig {
            enabled: true,
            schedule: None,
            lookback_hours: 24,
            open_sweep_schedule: "0 35 * * * *".into(),
            reconcile_schedule: "0 5 19 * * *".into(),
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
            Endpoint::Departments => &self.departments.schedule,
            Endpoint::Users => &self.users.schedule,
            Endpoint::Reviewees => &self.reviewees.schedule,
            Endpoint::ReviewData => &self.review_data.schedule,
            Endpoint::MetricDetails => &self.metric_details.schedule,
            Endpoint::Indicators => &self.indicators.schedule,
            Endpoint::MetricFields => &self.metric_fields.schedule,
        };
        configured
            .clone()
            .unwrap_or_else(|| default_schedule(endpoint).to_string())
    }

    /// The sweeps `run` schedules besides the incremental runs: `(stream, sweep,
    /// config key, schedule)`, `off` ones included.
    pub fn sweeps(&self) -> Vec<(Endpoint, Sweep, &'static str, &str)> {
        vec![
            (
                Endpoint::StageTasks,
                Sweep::Reconcile,
                "streams.stage_tasks.reconcile_schedule",
                &self.stage_tasks.reconcile_schedule,
            ),
            (
                Endpoint::Tasks,
                Sweep::OpenTasks,
                "streams.tasks.open_sweep_schedule",
                &self.tasks.open_sweep_schedule,
            ),
            (
                Endpoint::Tasks,
                Sweep::Reconcile,
                "streams.tasks.reconcile_schedule",
                &self.tasks.reconcile_schedule,
            ),
            (
                Endpoint::ReviewData,
                Sweep::Reconcile,
                "streams.review_data.reconcile_schedule",
                &self.review_data.reconcile_schedule,
            ),
        ]
    }

    /// Whether a stream is switched on.
    pub fn enabled(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::Semesters => self.semesters.enabled,
            Endpoint::Activities => self.activities.enabled,
            Endpoint::StageTasks => self.stage_tasks.enabled,
            Endpoint::ApprovalTasks => self.approval_tasks.enabled,
            Endpoint::Tasks => self.tasks.enabled,
            Endpoint::Departments => self.departments.enabled,
            Endpoint::Users => self.users.enabled,
            Endpoint::Reviewees => self.reviewees.enabled,
            Endpoint::ReviewData => self.review_data.enabled,
            Endpoint::MetricDetails => self.metric_details.enabled,
            Endpoint::Indicators => self.indicators.enabled,
            Endpoint::MetricFields => self.metric_fields.enabled,
        }
    }
}

/// Default schedules (UTC, with seconds): the performance configuration, the directory,
/// reviewees, review data and the two dictionaries hourly, metric details nightly (they
/// have no time filter), stage tasks every half hour, approvals every 15 minutes, tasks every 10
/// minutes. Staggered so streams that share nothing do not all start in the same second;
/// users follow departments, whose runs take seconds.
pub fn default_schedule(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Semesters => "0 0 * * * *",
        Endpoint::Activities => "0 5 * * * *",
        Endpoint::StageTasks => "0 10/30 * * * *",
        Endpoint::ApprovalTasks => "0 2/15 * * * *",
        Endpoint::Tasks => "0 */10 * * * *",
        Endpoint::Departments => "0 50 * * * *",
        Endpoint::Users => "0 55 * * * *",
        Endpoint::Reviewees => "0 15 * * * *",
        Endpoint::ReviewData => "0 20 * * * *",
        Endpoint::MetricDetails => "0 45 19 * * *",
        Endpoint::Indicators => "0 40 * * * *",
        Endpoint::MetricFields => "0 42 * * * *",
    }
}

/// A read besides the incremental one, for what a time filter cannot see: the subset of
/// `sync::ReadMode` that `run` schedules (see [`StreamsConfig::sweeps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Every partition read whole: retires what is gone, refreshes what changed outside
    /// the window, moves no watermark backwards.
    Reconcile,
    /// Task v1 only: every open task, whatever its create time.
    OpenTasks,
}

impl Sweep {
    /// The name in `sync_runs.sweep` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Sweep::Reconcile => "reconcile",
            Sweep::OpenTasks => "open_tasks",
        }
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

fn serialize_redacted_url<S: serde::Serializer>(
    url: &SecretString,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

fn serialize_redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}
