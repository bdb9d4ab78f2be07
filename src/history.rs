//! The change history's retention. The versions themselves are written by triggers in
//! the database (migration `history`), in the same statement as each upsert; this module
//! only prunes versions that ended long ago, when `history.retain_days` asks for it.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;

use crate::shutdown::CancellationToken;

/// Versions deleted per statement, so a large prune never holds long locks or bloats one
/// transaction.
const BATCH: i64 = 1000;

/// How often the service prunes.
const EVERY: Duration = Duration::from_secs(3600);

/// Deletes versions that ended more than `retain_days` ago, a batch at a time; open
/// versions are never touched. Returns how many went.
pub async fn prune(pool: &PgPool, retain_days: u32) -> anyhow::Result<u64> {
    let mut pruned = 0;
    for table in crate::tables::history_tables() {
        // Table names cannot be bind parameters; these come from the registry.
        let statement = format!(
            "DELETE FROM feishu.{table} WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM feishu.{table}
                  WHERE valid_to < now() - make_interval(days => $1) LIMIT $2))"
        );
        loop {
            let deleted = sqlx::query(&statement)
                .bind(i32::try_from(retain_days).unwrap_or(i32::MAX))
                .bind(BATCH)
                .execute(pool)
                .await
                .with_context(|| format!("pruning feishu.{table}"))?
                .rows_affected();
            pruned += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
    }
    Ok(pruned)
}

/// The service's pruning loop: at start, then every hour, until shutdown.
pub async fn prune_every_hour(pool: PgPool, retain_days: u32, shutdown: CancellationToken) {
    loop {
        match prune(&pool, retain_days).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, retain_days, "pruned old history versions"),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "pruning the history failed")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
