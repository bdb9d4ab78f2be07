//! The cached `tenant_access_token`: fetched on first use, refreshed before it expires,
//! one refresh at a time however many streams ask at once.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::feishu::TOKEN_PATH;
use crate::feishu::error::{ApiError, LogId};

/// Refresh this long before Feishu's `expire` runs out, so no request carries a token
/// that dies in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

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
    current: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// A cache that fetches tokens from `base_url`.
    pub fn new(base_url: &str, app_id: String, app_secret: SecretString) -> Self {
        TokenCache {
            url: format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/')),
            app_id,
            app_secret,
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

    async fn fetch(&self, http: &reqwest::Client) -> Result<Cached, ApiError> {
        let body = serde_json::json!({
            "app_id": self.app_id,
            "app_secret": self.app_secret.expose_secret(),
        });
        let unavailable = |last: String, log_id: LogId| ApiError::Unavailable {
            endpoint: "tenant_access_token".into(),
            attempts: 1,
            last,
            log_id,
        };
        let response = http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| unavailable(describe_reqwest_error(&e), LogId(None)))?;
        let log_id = super::client::log_id(response.headers());
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(describe_reqwest_error(&e), log_id.clone()))?;
        let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|_| {
            unavailable(
                format!("HTTP {status} with a non-JSON body"),
                log_id.clone(),
            )
        })?;
        match parsed.tenant_access_token {
            Some(token) if parsed.code == 0 && !token.is_empty() => {
                let lifetime = Duration::from_secs(parsed.expire);
                Ok(Cached {
                    token: SecretString::from(token),
                    refresh_at: Instant::now()
                        + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
                })
            }
            _ => Err(ApiError::Token {
                code: parsed.code,
                msg: parsed.msg,
                log_id,
            }),
        }
    }
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
