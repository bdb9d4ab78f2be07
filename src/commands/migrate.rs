//! `feishu-sync migrate`: brings the database's schema up to this binary's migrations and
//! exits. `sync`, `run` and the commands that write do the same first; this is for a
//! deployment step that migrates before the service starts.

use std::process::ExitCode;

use crate::config::Config;
use crate::startup::migrated_pool;

/// Applies the migrations and says where.
pub async fn execute(config: &Config) -> anyhow::Result<ExitCode> {
    migrated_pool(&config.database).await?;
    crate::outln!("migrations applied to {}", config.database.redacted_url());
    Ok(ExitCode::SUCCESS)
}
