//! The cached `tenant_access_token`: fetched on first use, refreshed a few minutes before
//! the `expire` Feishu gave, one refresh at a time however many streams ask at once. The
//! fetch itself is the client's: it goes through the same retry and rate-limit loop as
//! every other request, so this module only caches and reads the answer.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::feishu::error::{ApiError, LogId};

/// Refresh this long before Feishu's `expire` runs out, so no request carries a token
/// that dies in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A token and when to fetch the next one.
pub struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

impl Cached {
    /// Reads the token answer `{code, msg, tenant_access_token, expire}` (its fields sit
    /// beside where `data` would be). `expire` is the remaining lifetime in seconds.
    pub fn from_answer(fields: &Map<String, Value>, log_id: LogId) -> Result<Cached, ApiError> {
        let token = fields
            .get("tenant_access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(ApiError::Token {
                code: 0,
                msg: "the answer carries no tenant_access_token".to_string(),
                log_id,
            });
        };
        let lifetime =
            Duration::from_secs(fields.get("expire").and_then(Value::as_u64).unwrap_or(0));
        Ok(Cached {
            token: SecretString::from(token.to_string()),
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
        })
    }
}

/// The current token, if any.
#[derive(Default)]
pub struct TokenCache {
    current: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// A valid token: the cached one, or one `fetch` gets when there is none or it is
    /// about to expire. The lock is held during the fetch, so concurrent callers wait for
    /// one refresh (single flight).
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<SecretString, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, ApiError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fresh = fetch().await?;
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
}
