//! The one HTTP client every stream shares. It owns the token, the per-endpoint budgets,
//! retries with backoff, frequency-limit waits and the `code`/`msg` envelope, so no stream
//! repeats any of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::config::FeishuConfig;
use crate::feishu::budget::Budgets;
use crate::feishu::error::{ApiError, CODE_RATE_LIMITED, LogId, TOKEN_CODES};
use crate::feishu::token::{TokenCache, describe_reqwest_error};
use crate::feishu::{Endpoint, Method};
use crate::metrics::{Metrics, RequestOutcome};

/// Everything the client needs; built from [`FeishuConfig`] or by tests.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: String,
    pub app_id: String,
    pub app_secret: SecretString,
    pub user_id_type: String,
    /// Requests per `rate_window`, per endpoint.
    pub rate_limits: HashMap<Endpoint, u32>,
    /// 60 s for the real API; the simulator's tests shrink it.
    pub rate_window: Duration,
    pub timeout: Duration,
    /// Backoff for transient failures (5xx, timeouts, connection errors, non-JSON).
    pub retry: ExponentialBuilder,
    /// How many frequency-limit answers one request may wait out before giving up.
    pub max_rate_limit_waits: u32,
}

impl ClientSettings {
    /// Settings for the real API from the `[feishu]` section.
    pub fn from_config(config: &FeishuConfig) -> Self {
        ClientSettings {
            base_url: config.base_url.trim_end_matches('/').to_string(),
            app_id: config.app_id.clone(),
            app_secret: config.app_secret.clone(),
            user_id_type: config.user_id_type.clone(),
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
        }
    }
}

/// One request to a list endpoint; the client adds `user_id_type` and the token.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub endpoint: Endpoint,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// A successful (`code == 0`) answer.
#[derive(Debug)]
pub struct ApiReply {
    /// The `data` object.
    pub data: Value,
    /// Top-level fields besides `code`, `msg` and `data` (stage tasks put paging there).
    pub beside_data: Map<String, Value>,
    pub log_id: LogId,
}

/// Outcome of one HTTP exchange, before the retry policy decides what to do.
enum Attempt {
    Done(ApiReply),
    Transient(String, LogId),
    /// The server's wait and, if it sent `x-ogw-ratelimit-limit`, its limit.
    RateLimited(Duration, Option<u32>, LogId),
    TokenRejected {
        code: i64,
        msg: String,
        log_id: LogId,
    },
    Failed(ApiError),
}

impl Attempt {
    fn outcome(&self) -> RequestOutcome {
        match self {
            Attempt::Done(_) => RequestOutcome::Ok,
            Attempt::Transient(..) => RequestOutcome::Transient,
            Attempt::RateLimited(..) => RequestOutcome::RateLimited,
            Attempt::TokenRejected { .. } => RequestOutcome::TokenRejected,
            Attempt::Failed(_) => RequestOutcome::ApiError,
        }
    }
}

/// The shared Feishu client.
pub struct FeishuClient {
    http: reqwest::Client,
    settings: ClientSettings,
    tokens: TokenCache,
    budgets: Budgets,
    requests: HashMap<Endpoint, AtomicU64>,
    metrics: Arc<Metrics>,
}

impl FeishuClient {
    /// A client with metrics of its own; no request is sent until the first call.
    pub fn new(settings: ClientSettings) -> anyhow::Result<Self> {
        FeishuClient::with_metrics(settings, Arc::new(Metrics::new()))
    }

    /// A client that records its requests in `metrics`.
    pub fn with_metrics(settings: ClientSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("feishu-sync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let tokens = TokenCache::new(
            &settings.base_url,
            settings.app_id.clone(),
            settings.app_secret.clone(),
            settings.retry,
        );
        let budgets = Budgets::new(&settings.rate_limits, settings.rate_window);
        let requests = Endpoint::ALL
            .into_iter()
            .map(|e| (e, AtomicU64::new(0)))
            .collect();
        Ok(FeishuClient {
            http,
            settings,
            tokens,
            budgets,
            requests,
            metrics,
        })
    }

    /// The registry this client records into.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Requests per rate window currently allowed for `endpoint` (lowered after 429s).
    pub fn budget(&self, endpoint: Endpoint) -> u32 {
        self.budgets.current(endpoint)
    }

    /// HTTP requests sent to `endpoint` so far (retries and waits included).
    pub fn requests_sent(&self, endpoint: Endpoint) -> u64 {
        self.requests[&endpoint].load(Ordering::Relaxed)
    }

    /// Sends `request`, retrying what can be retried, and returns the `data` of the answer.
    pub async fn call(&self, request: &ApiRequest) -> Result<ApiReply, ApiError> {
        let endpoint = request.endpoint;
        let mut backoff = self.settings.retry.build();
        let (mut attempts, mut rate_waits, mut token_retried) = (0u32, 0u32, false);
        loop {
            // The budget first, then the token: a token never ages while queued.
            self.budgets.acquire(endpoint).await;
            let token = self.tokens.get(&self.http).await?;
            attempts += 1;
            let sent_at = Instant::now();
            let attempt = self.attempt(request, &token).await;
            self.metrics.request(endpoint, attempt.outcome());
            match attempt {
                Attempt::Done(reply) => {
                    self.budgets.succeeded(endpoint);
                    return Ok(reply);
                }
                Attempt::Failed(error) => return Err(error),
                Attempt::TokenRejected { code, msg, log_id } => {
                    if token_retried {
                        return Err(ApiError::TokenRejected {
                            endpoint,
                            code,
                            msg,
                            log_id,
                        });
                    }
                    tracing::info!(%endpoint, code, log_id = log_id.as_str(), "token rejected; fetching a new one");
                    self.tokens.invalidate(&token).await;
                    token_retried = true;
                }
                Attempt::RateLimited(wait, server_limit, log_id) => {
                    rate_waits += 1;
                    if rate_waits > self.settings.max_rate_limit_waits {
                        return Err(ApiError::RateLimited {
                            endpoint,
                            waits: rate_waits - 1,
                            log_id,
                        });
                    }
                    tracing::warn!(%endpoint, wait_ms = wait.as_millis() as u64, log_id = log_id.as_str(), "frequency limit hit; waiting");
                    // Every request of the endpoint waits, not just this one; the next
                    // attempt's `acquire` sleeps out the pause.
                    self.budgets
                        .throttled(endpoint, sent_at, wait, server_limit);
                }
                Attempt::Transient(last, log_id) => match backoff.next() {
                    Some(delay) => {
                        tracing::warn!(%endpoint, attempts, error = %last, log_id = log_id.as_str(), "transient failure; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => {
                        let endpoint = endpoint.to_string();
                        return Err(ApiError::Unavailable {
                            endpoint,
                            attempts,
                            last,
                            log_id,
                        });
                    }
                },
            }
        }
    }

    async fn attempt(&self, request: &ApiRequest, token: &SecretString) -> Attempt {
        let endpoint = request.endpoint;
        self.requests[&endpoint].fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.settings.base_url, endpoint.path());
        let builder = match endpoint.method() {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
        };
        let mut builder = builder
            .bearer_auth(token.expose_secret())
            .query(&[("user_id_type", self.settings.user_id_type.as_str())])
            .query(&request.query);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return Attempt::Transient(describe_reqwest_error(&e), LogId(None)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let log_id = log_id(&headers);
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return Attempt::Transient(describe_reqwest_error(&e), log_id),
        };
        classify(endpoint, status, &headers, &bytes, log_id)
    }
}

/// Decides what one HTTP answer means.
fn classify(
    endpoint: Endpoint,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
    log_id: LogId,
) -> Attempt {
    let envelope = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
    let Some(envelope) = envelope else {
        if status == 429 {
            return Attempt::RateLimited(reset_wait(headers), server_limit(headers), log_id);
        }
        return Attempt::Transient(format!("HTTP {status} with a non-JSON body"), log_id);
    };
    let code = envelope.get("code").and_then(Value::as_i64);
    let msg = envelope
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if status == 429 || code == Some(CODE_RATE_LIMITED) {
        return Attempt::RateLimited(reset_wait(headers), server_limit(headers), log_id);
    }
    let Some(code) = code else {
        return Attempt::Transient(format!("HTTP {status} with no `code` in the body"), log_id);
    };
    if TOKEN_CODES.contains(&code) {
        return Attempt::TokenRejected { code, msg, log_id };
    }
    if status >= 500 {
        return Attempt::Transient(format!("HTTP {status}, code {code}: {msg}"), log_id);
    }
    if code != 0 {
        return Attempt::Failed(ApiError::Api {
            endpoint,
            http_status: status,
            code,
            msg,
            log_id,
        });
    }
    Attempt::Done(ApiReply::from_envelope(envelope, log_id))
}

impl ApiReply {
    /// Splits a `code == 0` envelope into `data` and the fields beside it.
    pub fn from_envelope(mut envelope: Map<String, Value>, log_id: LogId) -> ApiReply {
        let data = envelope.remove("data").unwrap_or(Value::Null);
        envelope.remove("code");
        envelope.remove("msg");
        ApiReply {
            data,
            beside_data: envelope,
            log_id,
        }
    }

    /// `has_more` and `page_token`, read inside `data` as the SDKs do, else beside it as
    /// the stage-task document's example shows.
    pub fn paging(&self) -> (bool, &str) {
        let field = |name: &str| {
            self.data
                .get(name)
                .filter(|v| !v.is_null())
                .or_else(|| self.beside_data.get(name))
        };
        let has_more = field("has_more").and_then(Value::as_bool).unwrap_or(false);
        let token = field("page_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        (has_more, token)
    }
}

/// How long the server asks us to wait: `x-ogw-ratelimit-reset` seconds, else one second.
pub(crate) fn reset_wait(headers: &HeaderMap) -> Duration {
    let seconds = headers
        .get("x-ogw-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(seconds.clamp(0.05, 300.0))
}

/// `x-ogw-ratelimit-limit`: the server's own limit, when it says.
fn server_limit(headers: &HeaderMap) -> Option<u32> {
    headers
        .get("x-ogw-ratelimit-limit")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `X-Tt-Logid` header, which Feishu support asks for.
pub(crate) fn log_id(headers: &HeaderMap) -> LogId {
    LogId(
        headers
            .get("x-tt-logid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Attempt {
        classify(
            Endpoint::Tasks,
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            LogId(None),
        )
    }

    #[test]
    fn answers_are_classified_as_the_sdks_do() {
        let ok = r#"{"code":0,"msg":"","data":{"items":[]}}"#;
        let limited = r#"{"code":99991400,"msg":"request trigger frequency limit"}"#;
        assert!(matches!(answer(200, ok), Attempt::Done(_)));
        assert!(matches!(answer(429, limited), Attempt::RateLimited(..)));
        assert!(
            matches!(answer(400, limited), Attempt::RateLimited(..)),
            "older endpoints use 400"
        );
        assert!(matches!(
            answer(429, "<html>slow down</html>"),
            Attempt::RateLimited(..)
        ));
        assert!(matches!(
            answer(400, r#"{"code":99991663,"msg":"token"}"#),
            Attempt::TokenRejected { .. }
        ));
        assert!(matches!(
            answer(502, "<html>Bad Gateway</html>"),
            Attempt::Transient(..)
        ));
        assert!(matches!(
            answer(500, r#"{"code":1580101,"msg":"internal error"}"#),
            Attempt::Transient(..)
        ));
        assert!(matches!(
            answer(200, r#"{"msg":"no code"}"#),
            Attempt::Transient(..)
        ));
        let Attempt::Failed(ApiError::Api {
            code, http_status, ..
        }) = answer(400, r#"{"code":1470422,"msg":"bad"}"#)
        else {
            panic!("an API error");
        };
        assert_eq!((code, http_status), (1470422, 400));
    }

    #[test]
    fn the_reset_header_sets_the_wait() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ogw-ratelimit-reset", "3".parse().unwrap());
        headers.insert("x-ogw-ratelimit-limit", "20".parse().unwrap());

        assert_eq!(reset_wait(&headers), Duration::from_secs(3));
        assert_eq!(server_limit(&headers), Some(20));
        assert_eq!(
            reset_wait(&HeaderMap::new()),
            Duration::from_secs(1),
            "one second when absent"
        );
    }

    proptest::proptest! {
        /// Any status and any bytes are classified, never a panic.
        #[test]
        fn any_body_is_classified_without_panicking(status in 100u16..600, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = classify(Endpoint::Tasks, status, &HeaderMap::new(), &body, LogId(None));
        }
    }
}
