//! Starting the simulator on a port, and the handle tests use to steer and inspect it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use feishu_endpoints::Endpoint;

use crate::config::{Fault, SimConfig};
use crate::routes;
use crate::state::{EndpointStats, RecordedRequest, Shared, lock};
use crate::tenant::Tenant;

/// The simulator's entry point.
pub struct Simulator;

impl Simulator {
    /// Binds 127.0.0.1 on a free port, serves in a spawned tokio task, returns at once.
    pub async fn start(tenant: Tenant, config: SimConfig) -> std::io::Result<SimHandle> {
        Simulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), tenant, config).await
    }

    /// Binds `addr` (port 0: a free one), serves in a spawned tokio task, returns at once.
    pub async fn start_on(
        addr: SocketAddr,
        tenant: Tenant,
        config: SimConfig,
    ) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let quota = config.monthly_quota;
        let shared = Arc::new(Shared {
            config,
            tenant: Mutex::new(tenant),
            tokens: Mutex::default(),
            windows: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
            stats: Mutex::default(),
            token_requests: AtomicUsize::new(0),
            quota_left: Mutex::new(quota),
            corruptions: Mutex::default(),
            rewrites: Mutex::default(),
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

    /// From now on every JSON answer of a data endpoint has `from` replaced by `to` in its
    /// text as sent: with [`SimHandle::corrupt`] setting a marker, this serves what no
    /// JSON value can hold, e.g. a lone surrogate `\ud800`.
    pub fn rewrite_answers(&self, from: &str, to: &str) {
        lock(&self.inner.shared.rewrites).push((from.to_string(), to.to_string()));
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

    /// From now on `requests` more data requests are answered, then every one answers
    /// 99991403 (the tenant's monthly quota is used up).
    pub fn limit_quota(&self, requests: u64) {
        *lock(&self.inner.shared.quota_left) = Some(requests);
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
                "FEISHU_SYNC__FEISHU__ALLOW_INSECURE_HTTP".to_string(),
                "true".to_string(),
            ),
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
