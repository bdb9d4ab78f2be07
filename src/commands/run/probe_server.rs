//! How the probe and metrics server takes connections: hyper's HTTP/1 server (the one
//! axum runs on) with a header-read timeout, a request timeout (tower-http's) and a cap on
//! open connections, so a client that connects and sends nothing, sends its header slowly,
//! or opens connections by the hundred cannot hold `/livez`, `/readyz` and `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tower_http::timeout::TimeoutLayer;

use crate::shutdown::CancellationToken;

/// The probe server's limits. The README's probe section documents the defaults.
#[derive(Debug, Clone, Copy)]
pub struct ProbeLimits {
    /// A connection that has not sent a request's whole header this long after it opened
    /// (or after its last answer, for a kept-alive one) is closed without an answer.
    pub header_read_timeout: Duration,
    /// A request not answered within this long gets 408 Request Timeout.
    pub request_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for ProbeLimits {
    /// 10 s to send a header, 10 s to answer (`/readyz` gives the database 2 s), 64
    /// connections: far more than the probes and a scraper need.
    fn default() -> Self {
        ProbeLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: 64,
        }
    }
}

/// Serves `router` on `listener` under `limits` until `stop` fires; then accepts no more
/// connections and waits for the requests in hand to be answered.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ProbeLimits,
    stop: CancellationToken,
) {
    let router = router.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                tracing::warn!(%error, "accepting a probe connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(
                max_connections = limits.max_connections,
                "probe server at its connection limit; closing the new connection"
            );
            continue; // dropping `stream` closes it
        };
        let service = TowerToHyperService::new(router.clone());
        let stop = stop.clone();
        connections.spawn(async move {
            serve_connection(stream, service, limits, stop).await;
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
}

/// One connection, HTTP/1 with keep-alive, until the client closes it, its header is late,
/// or `stop` fires (the request in hand is answered first).
async fn serve_connection(
    stream: TcpStream,
    service: TowerToHyperService<axum::Router>,
    limits: ProbeLimits,
    stop: CancellationToken,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        _ = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, "probe connection closed");
    }
}

#[cfg(test)]
mod tests;
