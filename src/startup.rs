//! The composition root: the one place that connects to PostgreSQL, brings the schema up
//! to this binary's migrations and builds the shared Feishu client. `sync`, `run` and
//! `demo` start from an [`Application`]; `migrate`, `grant-reader`, `dbt-sources` and
//! `reset`, which need the database but not Feishu, from [`migrated_pool`]. The
//! integration tests build theirs with [`Application::with_pool`] over the database
//! `#[sqlx::test]` made.
//!
//! Two commands stay apart on purpose: `status` only reads (it connects without
//! migrating, so a reader's login or a replica will do), and `check` reports a database
//! it cannot reach as one failed check among others, and writes nothing.

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;

use crate::config::{DatabaseConfig, StreamsConfig};
use crate::db;
use crate::feishu::{ClientSettings, FeishuClient};
use crate::shutdown::CancellationToken;
use crate::sync::SyncContext;

/// What every command that reads Feishu into the database is built from.
pub struct Application {
    /// Migrated to this binary's schema.
    pub pool: PgPool,
    /// The one client every stream shares; its metrics registry is the process's.
    pub client: Arc<FeishuClient>,
}

impl Application {
    /// Connects to `database`, applies the migrations and builds the client, which starts
    /// each endpoint at the rate ceiling earlier runs learned (so a restart does not learn
    /// it again through frequency limits).
    pub async fn build(
        database: &DatabaseConfig,
        settings: ClientSettings,
    ) -> anyhow::Result<Self> {
        let pool = migrated_pool(database).await?;
        let app = Application::with_pool(pool, settings)?;
        crate::learned_ceilings::load(&app.pool, &app.client).await;
        Ok(app)
    }

    /// Over a pool whose database is already migrated (the tests' fresh databases).
    pub fn with_pool(pool: PgPool, settings: ClientSettings) -> anyhow::Result<Self> {
        let client = Arc::new(FeishuClient::new(settings).context("building the HTTP client")?);
        Ok(Application { pool, client })
    }

    /// The context stream runs share: this pool and client, the client's metrics,
    /// `streams`' settings; runs stop between pages once `shutdown` fires (one-off passes
    /// pass a token nobody cancels).
    pub fn sync_context(&self, streams: StreamsConfig, shutdown: CancellationToken) -> SyncContext {
        SyncContext {
            pool: self.pool.clone(),
            client: self.client.clone(),
            streams,
            metrics: self.client.metrics(),
            shutdown,
        }
    }
}

/// A pool on `database`, migrated to this binary's schema.
pub async fn migrated_pool(database: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let pool = db::connect(database).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}
