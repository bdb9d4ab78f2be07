//! What the client is built from and what a stream asks of it: the settings (from the
//! `[feishu]` section, or a test's) and one request to an endpoint.

use std::collections::HashMap;
use std::time::Duration;

use backon::ExponentialBuilder;
use secrecy::SecretString;
use serde_json::Value;

use crate::config::FeishuConfig;
use crate::feishu::{Endpoint, UserIdType};

/// Everything the client needs; built from [`FeishuConfig`] or by tests.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: String,
    pub app_id: String,
    pub app_secret: SecretString,
    pub user_id_type: UserIdType,
    /// Requests per `rate_window`, per endpoint.
    pub rate_limits: HashMap<Endpoint, u32>,
    /// 60 s for the real API; the simulator's tests shrink it.
    pub rate_window: Duration,
    pub timeout: Duration,
    /// Backoff for transient failures (5xx, timeouts, connection errors, non-JSON).
    pub retry: ExponentialBuilder,
    /// How many frequency-limit answers one request may wait out before giving up.
    pub max_rate_limit_waits: u32,
    /// The most pages one paged read takes (`feishu.max_pages_per_partition`).
    pub max_pages: u32,
    /// The largest response body read; a larger one fails its request.
    pub max_body_bytes: usize,
}

/// The largest response body the client reads: far above any documented page, far below
/// what would put the process at risk.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

impl ClientSettings {
    /// Settings for the real API from the `[feishu]` section.
    pub fn from_config(config: &FeishuConfig) -> Self {
        ClientSettings {
            base_url: config.base_url.trim_end_matches('/').to_string(),
            app_id: config.app_id.clone(),
            app_secret: config.app_secret.clone(),
            user_id_type: config.user_id_type,
            rate_limits: Endpoint::ALL
                .into_iter()
                .map(|e| (e, config.rate_limits.for_endpoint(e)))
                .collect(),
            rate_window: Duration::from_secs(config.rate_limit_window_secs),
            timeout: Duration::from_secs(config.request_timeout_secs),
            retry: ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(500))
                .with_max_delay(Duration::from_secs(30))
                .with_max_times(6)
                .with_jitter(),
            max_rate_limit_waits: 20,
            max_pages: config.max_pages_per_partition,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// One request to a list endpoint; the client adds `user_id_type` and the token.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The endpoint whose budget, metrics and request count the request goes to.
    pub endpoint: Endpoint,
    /// The concrete path, where it differs from `endpoint.path()`: a filled path
    /// parameter, or a related resource read on the endpoint's budget (the contact range).
    pub path: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ApiRequest {
    /// A request to `endpoint`'s own path, without parameters yet.
    pub fn new(endpoint: Endpoint) -> Self {
        ApiRequest {
            endpoint,
            path: None,
            query: Vec::new(),
            body: None,
        }
    }

    /// The path the request goes to.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(self.endpoint.path())
    }
}
