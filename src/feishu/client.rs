//! The one HTTP client every stream shares. It owns the token, the per-endpoint budgets,
//! retries with backoff, frequency-limit waits and the `code`/`msg` envelope, so no stream
//! repeats any of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

use crate::feishu::answer::{Attempt, classify, log_id};
use crate::feishu::budget::{Budgets, Departure, Reset};
use crate::feishu::error::{ApiError, LogId};
use crate::feishu::quota::QuotaFlag;
use crate::feishu::token::{Cached, TokenBudget, TokenCache};
use crate::feishu::{Endpoint, Method, TOKEN_PATH};
use crate::metrics::Metrics;

mod counters;
mod rounds;
mod transport;

use rounds::{Rounds, Target};
use transport::{BodyError, describe_reqwest_error, json_body, read_body};

pub use crate::feishu::answer::ApiReply;
pub use crate::feishu::request::{ApiRequest, ClientSettings};

/// The shared Feishu client.
pub struct FeishuClient {
    http: reqwest::Client,
    settings: ClientSettings,
    tokens: TokenCache,
    /// The token endpoint's budget, apart from the data endpoints'.
    token_budget: TokenBudget,
    budgets: Budgets,
    requests: HashMap<Endpoint, AtomicU64>,
    rate_limited: HashMap<Endpoint, AtomicU64>,
    /// Code points replaced by U+FFFD in answers of each endpoint (see `scrub`).
    replaced: HashMap<Endpoint, AtomicU64>,
    quota: QuotaFlag,
    metrics: Arc<Metrics>,
}

impl FeishuClient {
    /// A client with metrics of its own; no request is sent until the first call.
    pub fn new(settings: ClientSettings) -> anyhow::Result<Self> {
        FeishuClient::with_metrics(settings, Arc::new(Metrics::new()))
    }

    /// A client that records its requests in `metrics`.
    pub fn with_metrics(settings: ClientSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        // No redirects: a 3xx never re-posts the app secret (or a token) elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .user_agent(concat!("feishu-sync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let tokens = TokenCache::default();
        let budgets = Budgets::new(&settings.rate_limits, settings.rate_window);
        let counters = || {
            Endpoint::ALL
                .into_iter()
                .map(|e| (e, AtomicU64::new(0)))
                .collect()
        };
        Ok(FeishuClient {
            http,
            settings,
            tokens,
            token_budget: TokenBudget::default(),
            budgets,
            requests: counters(),
            rate_limited: counters(),
            replaced: counters(),
            quota: QuotaFlag::default(),
            metrics,
        })
    }

    /// The HTTP client and the settings, for the long connection's URL request
    /// ([`crate::feishu::long_connection`]), which is no Open API call.
    pub(super) fn http_and_settings(&self) -> (&reqwest::Client, &ClientSettings) {
        (&self.http, &self.settings)
    }

    /// Sends `request`, retrying what can be retried, and returns the `data` of the answer.
    /// The budget slot comes first, then the token: a token never ages while queued.
    pub async fn call(&self, request: &ApiRequest) -> Result<ApiReply, ApiError> {
        self.exchange(Target::Api(request.endpoint), || async {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let attempt = self.attempt(request, &token).await;
            Ok((attempt, Some(token)))
        })
        .await
    }

    /// Gets (or reuses) the tenant token, so a pass can stop before any stream starts
    /// when Feishu refuses the app's credentials.
    pub async fn ensure_token(&self) -> Result<(), ApiError> {
        self.tokens.get(|| self.fetch_token()).await.map(drop)
    }

    /// Asks the token endpoint for a `tenant_access_token`, through the same loop.
    async fn fetch_token(&self) -> Result<Cached, ApiError> {
        let reply = self
            .exchange(Target::Token, || async {
                let body = serde_json::json!({
                    "app_id": self.settings.app_id,
                    "app_secret": self.settings.app_secret.expose_secret(),
                });
                let url = format!("{}{TOKEN_PATH}", self.settings.base_url);
                Ok((self.send(json_body(self.http.post(url), &body)).await, None))
            })
            .await?;
        Cached::from_answer(&reply.beside_data, reply.log_id)
    }

    /// The one retry loop of the code base. Each round checks the quota stop, takes the
    /// endpoint's budget slot, lets `send` make one exchange, and decides: done, fail,
    /// fetch a new token once, wait out a frequency limit (the whole endpoint pauses), or
    /// back off and retry.
    async fn exchange<F, Fut>(&self, target: Target, mut send: F) -> Result<ApiReply, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Attempt, Option<SecretString>), ApiError>>,
    {
        let mut round = Rounds::new(&self.settings.retry);
        loop {
            if let Some(stop) = self.quota_stop() {
                return Err(stop.error(target.to_string()));
            }
            let budgeted = self.depart(target).await;
            round.attempts += 1;
            let sent = send().await;
            if let Some((endpoint, departure)) = budgeted {
                self.budgets.answered(endpoint, departure);
                if let Ok((attempt, _)) = &sent {
                    self.metrics.request(endpoint, attempt.outcome());
                }
            }
            let (attempt, token) = sent?;
            match attempt {
                Attempt::Done(reply) => {
                    if let Target::Api(endpoint) = target {
                        if self.budgets.succeeded(endpoint) {
                            self.publish_budget(endpoint);
                        }
                        self.count_replaced(endpoint, &reply);
                    }
                    return Ok(reply);
                }
                Attempt::TokenRejected { code, msg, log_id } => {
                    self.on_token_rejected(target, &mut round, token, code, msg, log_id)
                        .await?;
                }
                Attempt::RateLimited(reset, announced, log_id) => {
                    self.rate_limited(target, &mut round, budgeted, reset, announced, log_id)
                        .await?;
                }
                Attempt::Transient(last, log_id) => {
                    let Some(delay) = round.backoff.next() else {
                        let (endpoint, attempts) = (target.to_string(), round.attempts);
                        return Err(ApiError::Unavailable {
                            endpoint,
                            attempts,
                            last,
                            log_id,
                        });
                    };
                    tracing::warn!(target = %target, attempts = round.attempts, error = %last, log_id = log_id.as_str(), "transient failure; retrying");
                    tokio::time::sleep(delay).await;
                }
                refused => return Err(self.refusal(target, refused)),
            }
        }
    }

    /// Waits for `target`'s budget: the endpoint and the departure its budget recorded,
    /// or none for the token request (its own budget records none).
    async fn depart(&self, target: Target) -> Option<(Endpoint, Departure)> {
        match target {
            Target::Api(endpoint) => Some((endpoint, self.budgets.acquire(endpoint).await)),
            Target::Token => {
                self.token_budget.acquire().await;
                None
            }
        }
    }

    /// Counts and logs the code points an answer had replaced, if any.
    fn count_replaced(&self, endpoint: Endpoint, reply: &ApiReply) {
        if reply.replaced == 0 {
            return;
        }
        self.replaced[&endpoint].fetch_add(reply.replaced, Ordering::Relaxed);
        self.metrics.replaced_code_points(endpoint, reply.replaced);
        tracing::warn!(%endpoint, replaced = reply.replaced, log_id = reply.log_id.as_str(),
            "replaced NUL, lone surrogates or invalid UTF-8 in an answer with U+FFFD");
    }

    /// A refused token: it leaves the cache, and the request goes round once more with a
    /// new one. A second refusal, or a refusal of the token request itself, fails.
    async fn on_token_rejected(
        &self,
        target: Target,
        round: &mut Rounds,
        token: Option<SecretString>,
        code: i64,
        msg: String,
        log_id: LogId,
    ) -> Result<(), ApiError> {
        let (Target::Api(endpoint), Some(token)) = (target, token) else {
            return Err(target.token_rejected(code, msg, log_id, false));
        };
        // Nothing refused stays cached, whether or not we try again.
        self.tokens.invalidate(&token).await;
        if let Some(refused) = &round.refused_token {
            let same = refused.expose_secret() == token.expose_secret();
            return Err(target.token_rejected(code, msg, log_id, same));
        }
        tracing::info!(%endpoint, code, log_id = log_id.as_str(), "token rejected; fetching a new one");
        round.refused_token = Some(token);
        Ok(())
    }

    /// A frequency-limit answer: counted, then the whole endpoint pauses for the server's
    /// reset, or a second less where its send log shows room (the next round's `acquire`
    /// sleeps it out), and its budget learns from the limit ([`Budgets::throttled`]); the
    /// token request just sleeps the reset. Fails once the request has waited
    /// `max_rate_limit_waits` times.
    async fn rate_limited(
        &self,
        target: Target,
        round: &mut Rounds,
        budgeted: Option<(Endpoint, Departure)>,
        reset: Reset,
        announced: Option<u32>,
        log_id: LogId,
    ) -> Result<(), ApiError> {
        let wait = reset.wait;
        round.rate_waits += 1;
        if round.rate_waits > self.settings.max_rate_limit_waits {
            return Err(target.still_rate_limited(round.rate_waits - 1, log_id));
        }
        tracing::warn!(target = %target, wait_ms = wait.as_millis() as u64, announced_limit = announced,
            log_id = log_id.as_str(), "frequency limit hit; waiting");
        match budgeted {
            Some((endpoint, departure)) => {
                self.rate_limited[&endpoint].fetch_add(1, Ordering::Relaxed);
                if let Some(limit) = announced {
                    self.metrics.announced_limit(endpoint, limit);
                }
                if self
                    .budgets
                    .throttled(endpoint, departure, reset, announced)
                    .is_some()
                {
                    self.publish_budget(endpoint);
                }
            }
            None => tokio::time::sleep(wait).await,
        }
        Ok(())
    }

    /// The error for an answer no retry can fix: a quota stop (which also stops every
    /// other request of this client), a missing scope, or another `code != 0`.
    fn refusal(&self, target: Target, attempt: Attempt) -> ApiError {
        match (attempt, target) {
            (Attempt::QuotaExhausted(log_id), _) => {
                let stop = self.quota.exhausted(Utc::now(), log_id);
                self.metrics.quota_stopped(Some(stop.until));
                tracing::error!(target = %target, until = %stop.until, log_id = stop.log_id.as_str(),
                    "monthly API quota used up (99991403); no more requests until it renews");
                stop.error(target.to_string())
            }
            (
                Attempt::Forbidden {
                    code,
                    msg,
                    scopes,
                    log_id,
                },
                Target::Api(endpoint),
            ) => ApiError::Forbidden {
                endpoint,
                code,
                msg,
                scopes: match scopes.is_empty() {
                    true => endpoint.scopes().iter().map(|s| s.to_string()).collect(),
                    false => scopes,
                },
                log_id,
            },
            (
                Attempt::Failed {
                    http_status,
                    code,
                    msg,
                    log_id,
                },
                _,
            ) => target.failed(http_status, code, msg, log_id),
            (
                Attempt::Forbidden {
                    code, msg, log_id, ..
                },
                Target::Token,
            ) => ApiError::Token { code, msg, log_id },
            (Attempt::TooLarge(limit, log_id), _) => ApiError::TooLarge {
                endpoint: target.to_string(),
                limit,
                log_id,
            },
            (other, _) => unreachable!(
                "retryable answers are handled by the loop: {:?}",
                other.outcome()
            ),
        }
    }

    /// One exchange with a data endpoint.
    async fn attempt(&self, request: &ApiRequest, token: &SecretString) -> Attempt {
        let endpoint = request.endpoint;
        self.requests[&endpoint].fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.settings.base_url, request.path());
        // A request with a body is a POST even on a GET endpoint's budget (the approval
        // subscription is billed to the approval endpoint).
        let builder = match (endpoint.method(), &request.body) {
            (Method::Get, None) => self.http.get(url),
            _ => self.http.post(url),
        };
        let mut builder = builder
            .bearer_auth(token.expose_secret())
            .query(&[("user_id_type", self.settings.user_id_type.as_str())])
            .query(&request.query);
        if let Some(body) = &request.body {
            builder = json_body(builder, body);
        }
        self.send(builder).await
    }

    /// Sends one HTTP request and classifies the answer.
    async fn send(&self, builder: reqwest::RequestBuilder) -> Attempt {
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return Attempt::Transient(describe_reqwest_error(&e), LogId(None)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let log_id = log_id(&headers);
        match read_body(response, self.settings.max_body_bytes).await {
            Ok(bytes) => classify(status, &headers, &bytes, log_id),
            Err(BodyError::TooLarge(limit)) => Attempt::TooLarge(limit, log_id),
            Err(BodyError::Read(e)) => Attempt::Transient(describe_reqwest_error(&e), log_id),
        }
    }
}
