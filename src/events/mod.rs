//! Real-time sync over Feishu's long connection (长连接): events pushed over a WebSocket
//! the service opens itself, committed to the inbox `feishu.events` before they are
//! acknowledged, then applied by targeted re-reads through the streams' own code.
//!
//! Dependencies run one way: `frame`, `status`, `inbox` ← `connection`; `inbox`, `plan` ←
//! `targets` (what each event touches, coalesced) ← `process` → the stream modules and the
//! stream locks; `subscriptions` → the approval stream's table.

pub mod connection;
pub mod frame;
pub mod inbox;
mod plan;
pub mod process;
pub mod status;
pub mod subscriptions;
mod targets;

#[cfg(test)]
mod doc_examples;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::sync::SyncContext;

/// Starts the connection and the processor on `tracker` (both stop with the service's
/// shutdown signal); `status` is what the probes show.
pub fn start(
    config: &Config,
    ctx: &SyncContext,
    tracker: &TaskTracker,
    status: status::SharedStatus,
) {
    let wake = Arc::new(Notify::new());
    let connection = connection::Connection {
        client: ctx.client.clone(),
        pool: ctx.pool.clone(),
        status,
        metrics: ctx.metrics.clone(),
        wake: wake.clone(),
        shutdown: ctx.shutdown.clone(),
        process: process_name(),
    };
    let processor = process::Processor {
        ctx: ctx.clone(),
        wake,
        approval_codes: config.events.approval_codes.clone(),
        retain_days: config.events.retain_days.or(config.history.retain_days),
        locks: crate::stream_lock::lock_pool(&ctx.pool),
    };
    tracker.spawn(connection.run());
    tracker.spawn(processor.run());
    tracing::info!("events enabled: one long connection for this process");
}

/// `host:pid`, the key of this process's row in `feishu.event_connections`.
fn process_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}
