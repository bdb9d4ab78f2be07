//! The service's HTTP side: liveness and readiness probes for orchestrators, and `/metrics`
//! for Prometheus.
//!
//! - `/livez` (liveness): the process and its scheduler are alive. Only a failure here is
//!   a reason to restart the container; a database outage or a used-up quota is not, since
//!   a restart cures neither.
//! - `/readyz` (readiness): the service can do its work now: the database answers and
//!   Feishu's monthly quota is not used up. 503 names the reason. `/healthz` is the same
//!   check, kept for probes configured before the split.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;

use std::process::ExitCode;

use anyhow::Context;

use crate::feishu::FeishuClient;
use crate::metrics::Metrics;
use crate::shutdown::CancellationToken;

/// What the endpoints look at.
#[derive(Clone)]
pub struct HttpState {
    pub pool: PgPool,
    pub metrics: Arc<Metrics>,
    /// Asked whether a quota stop is in force.
    pub client: Arc<FeishuClient>,
    /// True while the scheduler runs.
    pub scheduler_alive: Arc<AtomicBool>,
    /// Set while Feishu refuses the app's credentials.
    pub credentials: super::credentials::CredentialsProblem,
    /// The long connection's state, when events are enabled.
    pub events: Option<crate::events::status::SharedStatus>,
    /// Schedule loops a panic stopped, with the panic's message.
    pub dead_loops: DeadLoops,
}

/// The schedule loops a panic stopped: `/livez` answers 503 naming them.
#[derive(Clone, Default)]
pub struct DeadLoops(Arc<std::sync::Mutex<Vec<String>>>);

impl DeadLoops {
    /// Records a loop (`stream: panic message`).
    pub fn add(&self, name: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(name);
    }

    /// The loops recorded so far.
    pub fn names(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The router of the probe and metrics server.
pub fn router(state: HttpState) -> axum::Router {
    axum::Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// 200 while the scheduler lives; it never looks at the database or Feishu.
async fn livez(State(state): State<HttpState>) -> (StatusCode, String) {
    let dead = state.dead_loops.names();
    match (
        state.scheduler_alive.load(Ordering::Relaxed),
        dead.is_empty(),
    ) {
        (true, true) => (StatusCode::OK, "alive\n".into()),
        (_, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("schedule loops stopped by a panic:\n{}\n", dead.join("\n")),
        ),
        (false, true) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "scheduler stopped\n".into(),
        ),
    }
}

/// 200 when runs can do their work, 503 with every reason they cannot otherwise.
async fn readyz(State(state): State<HttpState>) -> (StatusCode, String) {
    let mut problems = Vec::new();
    if !state.scheduler_alive.load(Ordering::Relaxed) {
        problems.push("scheduler stopped".to_string());
    }
    // `pool` is the probes' own (one connection), never the runs'. A replica after a
    // failover, or `default_transaction_read_only`, answers but cannot take a page.
    let ping = sqlx::query_scalar::<_, bool>(
        "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'",
    )
    .fetch_one(&state.pool);
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) => problems.push(
            "database is read-only (a replica after a failover, or default_transaction_read_only): no page can be written"
                .to_string(),
        ),
        _ => problems.push("database not answering within 2 s".to_string()),
    }
    if let Some(stop) = state.client.quota_stop() {
        problems.push(stop.reason());
    }
    if let Some(refused) = state.credentials.lock().expect("not poisoned").clone() {
        problems.push(refused);
    }
    if let Some(problem) = state.events.as_ref().and_then(|e| e.readiness_problem()) {
        problems.push(problem);
    }
    let connection = state
        .events
        .as_ref()
        .map(|e| format!("{}\n", e.describe()))
        .unwrap_or_default();
    match problems.is_empty() {
        true => (StatusCode::OK, format!("ready\n{connection}")),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n{connection}", problems.join("\n")),
        ),
    }
}

/// `run` that cannot start (an invalid configuration, a database written under another
/// `user_id_type`): instead of exiting, which a restart policy would turn into a loop,
/// serve `/livez` and `/readyz` answering 503 with the problems, log them, and wait for
/// SIGTERM or SIGINT; then exit 2.
pub async fn serve_config_error(
    listen: &str,
    error: &dyn std::fmt::Display,
) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("{error}\n(and cannot listen on server.listen = {listen})"))?;
    // Said once: the log line is the message.
    tracing::error!(
        "{error}\nnot starting; /livez and /readyz on {listen} answer 503 with these problems until stopped"
    );
    let reason = format!("{error}\n");
    let unhealthy = move || {
        let reason = reason.clone();
        async move { (StatusCode::SERVICE_UNAVAILABLE, reason) }
    };
    // `/metrics` still answers, so an alert on `feishu_sync_config_valid == 0` can fire.
    let metrics = Metrics::new();
    metrics.config_valid(false);
    let metrics_text = metrics.encode();
    let app = axum::Router::new()
        .route("/livez", get(unhealthy.clone()))
        .route("/readyz", get(unhealthy.clone()))
        .route("/healthz", get(unhealthy))
        .route(
            "/metrics",
            get(move || async move { openmetrics(metrics_text.clone()) }),
        );
    let stop = CancellationToken::new();
    tokio::spawn(crate::shutdown::cancel_on_signal(stop.clone()));
    let limits = super::probe_server::ProbeLimits::default();
    super::probe_server::serve(listener, app, limits, stop).await;
    Ok(ExitCode::from(2))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    openmetrics(state.metrics.encode())
}

/// `text` as an OpenMetrics answer.
fn openmetrics(text: String) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
