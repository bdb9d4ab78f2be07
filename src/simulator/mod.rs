//! An in-process fake of the Feishu Open Platform: the token endpoint and the five list
//! endpoints feishu-sync reads, served over real HTTP (axum) from a synthetic [`Tenant`],
//! with documented rate limits, page tokens and injectable faults. Tests, the benchmark
//! and `feishu-sync demo` use it instead of the real Feishu.

mod generate;
mod handlers;
mod limits;
mod names;
mod paging;
mod routes;
mod tenant;
mod wire;

#[cfg(test)]
mod generate_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use tenant::*;

use crate::feishu::Endpoint;
use limits::{Faults, Tokens, Windows};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// App id the token endpoint accepts; default `cli_sim_app`.
    pub app_id: String,
    /// App secret the token endpoint accepts; default `sim-secret`.
    pub app_secret: String,
    /// Lifetime of issued tokens, returned as `expire` (seconds); default 7200 s.
    pub token_ttl: Duration,
    /// Sliding-window limit per endpoint; endpoints missing from the map are unlimited.
    /// Default: each endpoint's documented (or conservative) requests per 60 s.
    pub rate_limits: HashMap<Endpoint, RateLimit>,
    /// When true, approval and task v1 answer frequency limits with HTTP 400 (as older
    /// endpoints do) instead of 429; default false.
    pub legacy_rate_limit_status: bool,
    /// Default true: stage tasks put `has_more`/`page_token` at the top level beside
    /// `data`, as the document's example does; false: inside `data`.
    pub stage_tasks_paging_beside_data: bool,
}

/// At most `requests` accepted requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Accepted requests allowed per window.
    pub requests: u32,
    /// Length of the sliding window.
    pub window: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        let rate_limits = Endpoint::ALL
            .into_iter()
            .map(|e| {
                let limit = RateLimit {
                    requests: e.default_rate_per_minute(),
                    window: Duration::from_secs(60),
                };
                (e, limit)
            })
            .collect();
        SimConfig {
            app_id: "cli_sim_app".to_string(),
            app_secret: "sim-secret".to_string(),
            token_ttl: Duration::from_secs(7200),
            rate_limits,
            legacy_rate_limit_status: false,
            stage_tasks_paging_beside_data: true,
        }
    }
}

impl SimConfig {
    /// Same limits, every window scaled to `window` (tests use e.g. 1 s windows).
    pub fn with_window(mut self, window: Duration) -> Self {
        for limit in self.rate_limits.values_mut() {
            limit.window = window;
        }
        self
    }
}

/// A fault to inject into upcoming requests of one endpoint (or the token endpoint: `None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// HTTP 502 with a `text/html` gateway page.
    ServerErrorHtml,
    /// HTTP 500, `{"code":1580101,"msg":"internal error"}`.
    ServerErrorJson,
    /// The frequency-limit answer (429, or 400 when legacy for that endpoint), reset 1 s.
    RateLimited,
    /// HTTP 400, code 99991663, even if the token is fine.
    TokenInvalid,
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Answer as if the request's page token were unparseable (the endpoint's own code).
    BadPageToken,
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
}

/// One data-endpoint request as the simulator saw and answered it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Endpoint requested.
    pub endpoint: Endpoint,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Parsed JSON body (`None` for GET, an empty or an unparseable body).
    pub body: Option<serde_json::Value>,
    /// HTTP status answered.
    pub status: u16,
    /// `code` of the answer's body; -1 when the body was not JSON (HTML, truncated).
    pub code: i64,
    /// When the request arrived.
    pub at: Instant,
}

/// Counters of one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EndpointStats {
    /// Every request routed to the endpoint.
    pub requests: u64,
    /// Answers with HTTP 200 and code 0.
    pub ok: u64,
    /// Frequency-limit answers (code 99991400), whether from the window or injected.
    pub rate_limited: u64,
    /// Injected faults consumed (every kind, `Delay` included).
    pub faults: u64,
}

/// State shared by the server and every handle.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) tenant: Mutex<Tenant>,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) windows: Mutex<Windows>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) stats: Mutex<HashMap<Endpoint, EndpointStats>>,
    pub(crate) token_requests: AtomicUsize,
    /// Fields merged into one record's wire JSON: `(endpoint, record key) -> object`.
    pub(crate) corruptions: Mutex<HashMap<(Endpoint, String), serde_json::Value>>,
}

/// Locks `m`, ignoring poisoning (a panicking test must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The simulator's entry point.
pub struct Simulator;

impl Simulator {
    /// Binds 127.0.0.1:0, serves in a spawned tokio task, returns at once.
    pub async fn start(tenant: Tenant, config: SimConfig) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            tenant: Mutex::new(tenant),
            tokens: Mutex::default(),
            windows: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
            stats: Mutex::default(),
            token_requests: AtomicUsize::new(0),
            corruptions: Mutex::default(),
        });
        let app = routes::router(shared.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let stop = async move {
            // A dropped sender (every handle gone) keeps the server running.
            if stop_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(%err, "feishu simulator stopped");
            }
        });
        let inner = HandleInner {
            shared,
            addr,
            stop: Mutex::new(Some(stop_tx)),
            task: Mutex::new(Some(task)),
        };
        Ok(SimHandle {
            inner: Arc::new(inner),
        })
    }
}

struct HandleInner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Cheap to clone (Arc inside). Dropping the last clone leaves the server running;
/// `shutdown()` stops it.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<HandleInner>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The settings the simulator runs with.
    pub fn config(&self) -> SimConfig {
        self.inner.shared.config.clone()
    }

    /// Reads or mutates the tenant's data live.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut lock(&self.inner.shared.tenant))
    }

    /// The next `times` requests to `endpoint` (`None`: the token endpoint) get `fault`,
    /// after any faults already queued for it.
    pub fn inject(&self, endpoint: Option<Endpoint>, fault: Fault, times: usize) {
        lock(&self.inner.shared.faults).push(endpoint, fault, times);
    }

    /// Serves the record `key` of `endpoint` (a task id, an approval `task_id`) with the
    /// fields of `patch` merged into its JSON, a `null` removing the field, until
    /// [`SimHandle::repair`]: a malformed record that stays malformed, as upstream bugs do.
    /// Tasks and approval tasks only.
    pub fn corrupt(&self, endpoint: Endpoint, key: &str, patch: serde_json::Value) {
        lock(&self.inner.shared.corruptions).insert((endpoint, key.to_string()), patch);
    }

    /// Serves the record `key` as it is again.
    pub fn repair(&self, endpoint: Endpoint, key: &str) {
        lock(&self.inner.shared.corruptions).remove(&(endpoint, key.to_string()));
    }

    /// From now on `rate` (0..=1) of the data requests fail at random, reproducibly for a
    /// `seed`: HTML gateway pages, JSON 500s, and answers delayed by `slow` (set it past
    /// the client's timeout). Queued faults still come first.
    pub fn make_flaky(&self, rate: f64, slow: Duration, seed: u64) {
        lock(&self.inner.shared.faults).set_random(rate, slow, seed);
    }

    /// Random faults served so far: `[html_502, json_500, slow]`. A slow answer the client
    /// gave up on is never recorded as a request, so this is where it shows.
    pub fn random_faults(&self) -> [u64; 3] {
        lock(&self.inner.shared.faults).drawn
    }

    /// Every token issued so far becomes invalid (code 99991663).
    pub fn revoke_tokens(&self) {
        lock(&self.inner.shared.tokens).revoke_all();
    }

    /// Every data-endpoint request so far, in arrival order of their answers.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.shared.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.inner.shared.requests).clear();
    }

    /// Counters of `endpoint`.
    pub fn stats(&self, endpoint: Endpoint) -> EndpointStats {
        let stats = lock(&self.inner.shared.stats);
        stats.get(&endpoint).copied().unwrap_or_default()
    }

    /// The `FEISHU_SYNC__…` environment that points a `feishu-sync` process at this
    /// simulator: its URL and credentials, and budgets equal to its limits counted over its
    /// own window, so an announced `x-ogw-ratelimit-limit` means the same to both.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let config = self.config();
        let window = config
            .rate_limits
            .values()
            .map(|l| l.window.as_secs())
            .max()
            .unwrap_or(60)
            .max(1);
        let mut env = vec![
            ("FEISHU_SYNC__FEISHU__BASE_URL".to_string(), self.base_url()),
            (
                "FEISHU_SYNC__FEISHU__APP_ID".to_string(),
                config.app_id.clone(),
            ),
            (
                "FEISHU_SYNC__FEISHU__APP_SECRET".to_string(),
                config.app_secret.clone(),
            ),
            (
                "FEISHU_SYNC__FEISHU__RATE_LIMIT_WINDOW_SECS".to_string(),
                window.to_string(),
            ),
        ];
        for (endpoint, limit) in &config.rate_limits {
            let key = format!(
                "FEISHU_SYNC__FEISHU__RATE_LIMITS__{}",
                endpoint.name().to_uppercase()
            );
            env.push((key, limit.requests.to_string()));
        }
        env
    }

    /// How many times the token endpoint was called.
    pub fn token_requests(&self) -> usize {
        self.inner.shared.token_requests.load(Ordering::SeqCst)
    }

    /// Stops the server: graceful for up to 2 s, then aborted. Later calls do nothing.
    pub async fn shutdown(self) {
        if let Some(stop) = lock(&self.inner.stop).take() {
            let _ = stop.send(());
        }
        let task = lock(&self.inner.task).take();
        if let Some(mut task) = task
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}
