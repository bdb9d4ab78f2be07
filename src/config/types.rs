//! The configuration's shape and its defaults: one struct per section of `sync.toml`
//! (the `[streams]` section's in `streams.rs`, re-exported here), each key documented in
//! the README's configuration reference.

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::feishu::{Endpoint, UserIdType};

pub use super::streams::{
    APPROVAL_TOPICS, ApprovalTasksConfig, ReviewDataConfig, StageTasksConfig, StreamToggle,
    StreamsConfig, Sweep, TasksConfig, default_schedule, parse_schedule,
};

/// Prefix of the environment variables that override the file, e.g.
/// `FEISHU_SYNC__FEISHU__APP_SECRET` for `feishu.app_secret`.
pub const ENV_PREFIX: &str = "FEISHU_SYNC";

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

fn serialize_redacted_url<S: serde::Serializer>(
    url: &SecretString,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

fn serialize_redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}
