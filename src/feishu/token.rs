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
        let lifetime = lifetime(fields.get("expire"));
        let now = Instant::now();
        let refresh_in = lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2));
        Ok(Cached {
            token: SecretString::from(token.to_string()),
            refresh_at: now.checked_add(refresh_in).unwrap_or(now),
        })
    }
}

/// The longest lifetime Feishu gives a token (2 h); a larger `expire` is garbled.
const MAX_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// The lifetime assumed when `expire` is missing, zero or not a number: short enough that
/// a token is renewed well before the 2 h the platform gives, long enough that the client
/// never fetches a token before every request (an expired one is replaced on 99991663).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// `expire` as a lifetime: at most [`MAX_LIFETIME`], [`ASSUMED_LIFETIME`] when unusable.
fn lifetime(expire: Option<&Value>) -> Duration {
    match expire.and_then(Value::as_f64).filter(|s| s.is_finite()) {
        Some(seconds) if seconds >= 1.0 => {
            Duration::from_secs_f64(seconds.min(MAX_LIFETIME.as_secs_f64()))
        }
        _ => {
            tracing::warn!(expire = ?expire, "the token answer's expire is missing or unusable; assuming 15 minutes");
            ASSUMED_LIFETIME
        }
    }
}

/// The token endpoint's own budget, apart from every data endpoint's: a burst of
/// [`TOKEN_BURST`] fetches, then one every [`TOKEN_PERIOD`]. However a server answers
/// (tokens that die at once, refusals of fresh tokens), the client cannot hammer the
/// token endpoint with the app secret.
pub struct TokenBudget(std::sync::Mutex<Bucket>);

/// A token bucket on tokio's clock: `fetches` refill at one per [`TOKEN_PERIOD`] up to
/// [`TOKEN_BURST`].
struct Bucket {
    fetches: f64,
    refilled_at: tokio::time::Instant,
}

impl Bucket {
    fn refill(&mut self) {
        let now = tokio::time::Instant::now();
        let earned = (now - self.refilled_at).as_secs_f64() / TOKEN_PERIOD.as_secs_f64();
        self.fetches = (self.fetches + earned).min(f64::from(TOKEN_BURST));
        self.refilled_at = now;
    }

    /// Takes a fetch if one is there, else says how long until one is.
    fn take(&mut self) -> Result<(), Duration> {
        self.refill();
        if self.fetches >= 1.0 {
            self.fetches -= 1.0;
            Ok(())
        } else {
            Err(TOKEN_PERIOD.mul_f64(1.0 - self.fetches))
        }
    }
}

/// Token fetches allowed at once.
pub const TOKEN_BURST: u32 = 5;

/// One more token fetch per this long once the burst is spent (10 a minute).
pub const TOKEN_PERIOD: Duration = Duration::from_secs(6);

impl Default for TokenBudget {
    fn default() -> Self {
        TokenBudget(std::sync::Mutex::new(Bucket {
            fetches: f64::from(TOKEN_BURST),
            refilled_at: tokio::time::Instant::now(),
        }))
    }
}

impl TokenBudget {
    fn take(&self) -> Result<(), Duration> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Waits for the token endpoint's next slot.
    pub async fn acquire(&self) {
        while let Err(wait) = self.take() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a slot if one is free now.
    pub fn try_acquire(&self) -> bool {
        self.take().is_ok()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(expire: Value) -> Map<String, Value> {
        let mut fields = json!({"code": 0, "msg": "ok", "tenant_access_token": "t-1"});
        if !expire.is_null() {
            fields["expire"] = expire;
        }
        fields.as_object().cloned().unwrap()
    }

    #[test]
    fn the_documented_answer_is_cached_for_its_lifetime_less_the_margin() {
        // The token document's example answer.
        let fields: Map<String, Value> = serde_json::from_str(
            r#"{"code":0,"msg":"ok","tenant_access_token":"t-caecc734c2e3328a62489fe0648c4b98779515d3","expire":7200}"#,
        )
        .unwrap();

        let cached = Cached::from_answer(&fields, LogId(None)).unwrap();

        let refresh_in = cached.refresh_at - Instant::now();
        assert!(refresh_in > Duration::from_secs(6890) && refresh_in <= Duration::from_secs(6900));
    }

    #[test]
    fn absurd_missing_or_zero_expire_neither_panics_nor_expires_at_once() {
        for expire in [
            json!(u64::MAX),
            json!(1e300),
            json!(-5),
            json!(0),
            json!("soon"),
            Value::Null,
        ] {
            let cached = Cached::from_answer(&answer(expire.clone()), LogId(None)).unwrap();

            let refresh_in = cached.refresh_at.saturating_duration_since(Instant::now());
            assert!(
                refresh_in > Duration::from_secs(60),
                "{expire}: {refresh_in:?}"
            );
            assert!(refresh_in <= MAX_LIFETIME, "{expire}: {refresh_in:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_token_budget_allows_a_burst_then_waits() {
        let budget = TokenBudget::default();

        let taken = (0..TOKEN_BURST + 3)
            .filter(|_| budget.try_acquire())
            .count();

        assert_eq!(taken, TOKEN_BURST as usize);
        tokio::time::advance(TOKEN_PERIOD).await;
        assert!(budget.try_acquire(), "one more fetch a period later");
        assert!(!budget.try_acquire(), "and only one");
    }
}
