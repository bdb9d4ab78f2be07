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

/// A way to make the long connection misbehave (or behave), for
/// [`SimHandle::control_events`].
#[derive(Debug, Clone)]
pub enum EventControl {
    /// Send each event in this many fragments.
    Fragments(usize),
    /// Deliver each event twice.
    Duplicate(bool),
    /// Ignore acknowledgements, so every event is re-sent each `ResendAfter`.
    WithholdAcks(bool),
    /// How long an unacknowledged event waits before it is re-sent (default 3 s).
    ResendAfter(Duration),
    /// Drop every open socket now, without a close frame.
    DropConnections,
    /// `/callback/ws/endpoint` answers this code and message (`None`: a URL again).
    RefuseEndpoint(Option<(i64, String)>),
    /// The WebSocket handshake answers 403 with this `Handshake-Status` and
    /// `Handshake-Autherrcode` (`None`: accepted again).
    RefuseHandshake(Option<(u16, Option<i64>)>),
    /// `ClientConfig.PingInterval` handed out (default 2 s).
    PingIntervalSecs(u64),
    /// Stop answering pings (a half-open connection).
    Silent(bool),
}

/// Counters of the long connection.
#[derive(Debug, Clone, Default)]
pub struct EventStats {
    /// Event ids acknowledged with `{"code":200}`, in order (a re-sent event acked again
    /// appears once per settled delivery).
    pub acked: Vec<String>,
    /// Events queued or sent and not yet acknowledged.
    pub outstanding: usize,
    /// Data frames sent, fragments and re-sends included.
    pub frames_sent: u64,
    /// Requests for a connection URL.
    pub endpoint_requests: u64,
    /// Approval codes subscribed, with how many subscribe requests each got.
    pub subscriptions: std::collections::BTreeMap<String, u64>,
}

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
            events: Mutex::default(),
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
    /// Once a client has asked for a long-connection URL, the change also emits the
    /// events that describe it (see [`SimHandle::emit_event`]).
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let shared = &self.inner.shared;
        let mut tenant = lock(&shared.tenant);
        let before = lock(&shared.events).listening.then(|| tenant.clone());
        let result = f(&mut tenant);
        if let Some(before) = before {
            lock(&shared.events).emit_changes(&shared.config.app_id, &before, &tenant);
        }
        result
    }

    /// [`SimHandle::with_tenant`] for a change that names what it may touch: only those
    /// records are compared before and after, so a change of the large tenant costs a
    /// scan instead of a copy and a diff of everything (which held the locks long enough
    /// to starve the WebSocket). Changes outside `touched` emit no event.
    pub fn with_tenant_touching<R>(
        &self,
        touched: &crate::Touched,
        f: impl FnOnce(&mut Tenant) -> R,
    ) -> R {
        let shared = &self.inner.shared;
        let mut tenant = lock(&shared.tenant);
        let before = lock(&shared.events)
            .listening
            .then(|| touched.slice(&tenant));
        let result = f(&mut tenant);
        if let Some(before) = before {
            let after = touched.slice(&tenant);
            lock(&shared.events).emit_changes(&shared.config.app_id, &before, &after);
        }
        result
    }

    /// Queues one event payload (any JSON: an unknown type, a hand-made duplicate) for
    /// the long connection, as Feishu would push it.
    pub fn emit_event(&self, payload: serde_json::Value) {
        lock(&self.inner.shared.events).emit(payload);
    }

    /// A schema 2.0 event of `event_type` around `event`, with a fresh `event_id`.
    pub fn make_event(&self, event_type: &str, event: serde_json::Value) -> serde_json::Value {
        let app_id = &self.inner.shared.config.app_id;
        lock(&self.inner.shared.events).v2(app_id, event_type, event)
    }

    /// Steers the long connection; see [`EventControl`].
    pub fn control_events(&self, control: EventControl) {
        let mut hub = lock(&self.inner.shared.events);
        let c = &mut hub.controls;
        match control {
            EventControl::Fragments(n) => c.fragments = n.max(1),
            EventControl::Duplicate(on) => c.duplicate = on,
            EventControl::WithholdAcks(on) => c.withhold_acks = on,
            EventControl::ResendAfter(after) => c.resend_after = after,
            EventControl::DropConnections => c.drop_generation += 1,
            EventControl::RefuseEndpoint(refusal) => c.refuse_endpoint = refusal,
            EventControl::RefuseHandshake(refusal) => c.refuse_handshake = refusal,
            EventControl::PingIntervalSecs(secs) => c.ping_interval_secs = secs.max(1),
            EventControl::Silent(on) => c.silent = on,
        }
    }

    /// What the long connection has done so far.
    pub fn event_stats(&self) -> EventStats {
        let hub = lock(&self.inner.shared.events);
        EventStats {
            acked: hub.acked.clone(),
            outstanding: hub.outstanding(),
            frames_sent: hub.frames_sent,
            endpoint_requests: hub.endpoint_requests,
            subscriptions: hub.subscriptions.clone(),
        }
    }

    /// When the event `event_id` was emitted (the benchmark's change time).
    pub fn event_emitted_at(&self, event_id: &str) -> Option<std::time::Instant> {
        lock(&self.inner.shared.events)
            .emitted_at
            .get(event_id)
            .copied()
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
