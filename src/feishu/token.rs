//! The cached `tenant_access_token`: fetched on first use, refreshed before it expires,
//! one refresh at a time however many streams ask at once.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::feishu::TOKEN_PATH;
use crate::feishu::client::{log_id, reset_wait};
use crate::feishu::error::{ApiError, CODE_RATE_LIMITED, LogId};

/// Refresh this long before Feishu's `expire` runs out, so no request carries a token
/// that dies in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Frequency-limit answers one token fetch may wait out.
const MAX_RATE_LIMIT_WAITS: u32 = 20;

#[derive(Deserialize)]
struct TokenResponse {
    code: i64,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    tenant_access_token: Option<String>,
    #[serde(default)]
    expire: u64,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// Owns the app credentials and the current token.
pub struct TokenCache {
    url: String,
    app_id: String,
    app_secret: SecretString,
    retry: ExponentialBuilder,
    current: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// A cache that fetches tokens from `base_url`.
    pub fn new(
        base_url: &str,
        app_id: String,
        app_secret: SecretString,
        retry: ExponentialBuilder,
    ) -> Self {
        TokenCache {
            url: format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/')),
            app_id,
            app_secret,
            retry,
            current: Mutex::new(None),
        }
    }

    /// A valid token, fetching a new one if there is none or it is about to expire.
    /// The lock is held during the fetch, so concurrent callers wait for one refresh.
    pub async fn get(&self, http: &reqwest::Client) -> Result<SecretString, ApiError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch(http).await?;
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// Forgets `rejected` (if it is still the current token) so the next `get` fetches anew.
    pub async fn invalidate(&self, rejected: &SecretString) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            *current = None;
        }
    }

    /// Fetches a token, retrying what the data endpoints retry: transient failures with
    /// backoff, frequency limits after `x-ogw-ratelimit-reset`.
    async fn fetch(&self, http: &reqwest::Client) -> Result<Cached, ApiError> {
        let mut backoff = self.retry.build();
        let (mut attempts, mut rate_waits) = (0u32, 0u32);
        loop {
            attempts += 1;
            let (last, log_id) = match self.fetch_once(http).await {
                Ok(cached) => return Ok(cached),
                Err(TokenFailure::Fatal(error)) => return Err(error),
                Err(TokenFailure::RateLimited(wait, _)) if rate_waits < MAX_RATE_LIMIT_WAITS => {
                    rate_waits += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(TokenFailure::RateLimited(_, log_id)) => {
                    ("still rate limited".to_string(), log_id)
                }
                Err(TokenFailure::Transient(last, log_id)) => (last, log_id),
            };
            match backoff.next() {
                Some(delay) => {
                    tracing::warn!(attempts, error = %last, log_id = log_id.as_str(), "token request failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    let endpoint = "tenant_access_token".to_string();
                    return Err(ApiError::Unavailable {
                        endpoint,
                        attempts,
                        last,
                        log_id,
                    });
                }
            }
        }
    }

    async fn fetch_once(&self, http: &reqwest::Client) -> Result<Cached, TokenFailure> {
        let body = serde_json::json!({
            "app_id": self.app_id,
            "app_secret": self.app_secret.expose_secret(),
        });
        let transient = |last: String, log_id: LogId| TokenFailure::Transient(last, log_id);
        let response = http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| transient(describe_reqwest_error(&e), LogId(None)))?;
        let headers = response.headers().clone();
        let log_id = log_id(&headers);
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transient(describe_reqwest_error(&e), log_id.clone()))?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&bytes).ok();
        if status == 429 || parsed.as_ref().is_some_and(|p| p.code == CODE_RATE_LIMITED) {
            return Err(TokenFailure::RateLimited(reset_wait(&headers), log_id));
        }
        let Some(parsed) = parsed else {
            return Err(transient(
                format!("HTTP {status} with a non-JSON body"),
                log_id,
            ));
        };
        if status >= 500 {
            return Err(transient(
                format!("HTTP {status}, code {}: {}", parsed.code, parsed.msg),
                log_id,
            ));
        }
        match parsed.tenant_access_token {
            Some(token) if parsed.code == 0 && !token.is_empty() => {
                let lifetime = Duration::from_secs(parsed.expire);
                Ok(Cached {
                    token: SecretString::from(token),
                    refresh_at: Instant::now()
                        + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
                })
            }
            _ => Err(TokenFailure::Fatal(ApiError::Token {
                code: parsed.code,
                msg: parsed.msg,
                log_id,
            })),
        }
    }
}

/// Why one token request failed.
enum TokenFailure {
    Transient(String, LogId),
    RateLimited(Duration, LogId),
    Fatal(ApiError),
}

/// A reqwest error without its URL (URLs can carry query values) and with its cause chain.
pub(crate) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
