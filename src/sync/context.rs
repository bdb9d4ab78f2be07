//! What every stream run shares: the pool, the client, the stream settings, the metrics
//! and the shutdown signal.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::StreamsConfig;
use crate::feishu::FeishuClient;
use crate::metrics::Metrics;
use crate::shutdown::CancellationToken;

/// What every stream run needs.
#[derive(Clone)]
pub struct SyncContext {
    pub pool: PgPool,
    pub client: Arc<FeishuClient>,
    pub streams: StreamsConfig,
    /// Shared with the client, so runs and requests land in one registry.
    pub metrics: Arc<Metrics>,
    /// Runs stop between pages once this fires.
    pub shutdown: CancellationToken,
}

impl SyncContext {
    /// A context for one-off passes: the client's metrics, no shutdown signal.
    pub fn new(pool: PgPool, client: Arc<FeishuClient>, streams: StreamsConfig) -> Self {
        let metrics = client.metrics();
        SyncContext {
            pool,
            client,
            streams,
            metrics,
            shutdown: CancellationToken::new(),
        }
    }
}
