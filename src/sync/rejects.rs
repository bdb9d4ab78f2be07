//! Malformed records: what a pass skipped, filed in `feishu.sync_errors` (this module is
//! its only writer) inside the page's transaction, and closed when a clean pass of the
//! same partition meets none.

use anyhow::Context;
use serde_json::Value;
use sqlx::PgConnection;

/// A record the API sent that could not be mapped to a row.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    /// The record's key, when it could be read.
    pub key: Option<String>,
    pub reason: String,
    pub raw: Value,
}

/// Files a page's malformed records in `feishu.sync_errors`; one seen before (same raw
/// JSON, still open) counts another occurrence instead of adding a row.
pub async fn record_rejects(
    tx: &mut PgConnection,
    stream: &str,
    partition: &str,
    rejects: &[RejectedRecord],
) -> anyhow::Result<()> {
    let keys: Vec<Option<String>> = rejects.iter().map(|r| r.key.clone()).collect();
    let reasons: Vec<String> = rejects.iter().map(|r| r.reason.clone()).collect();
    let raws: Vec<Value> = rejects.iter().map(|r| r.raw.clone()).collect();
    sqlx::query!(
        "INSERT INTO feishu.sync_errors AS e (stream, partition_key, record_key, reason, raw, fingerprint)
         SELECT DISTINCT ON (md5(raw::text)) $1, $2, key, reason, raw, md5(raw::text)
           FROM UNNEST($3::text[], $4::text[], $5::jsonb[]) AS r(key, reason, raw)
         ON CONFLICT (stream, partition_key, fingerprint) WHERE resolved_at IS NULL DO UPDATE
            SET occurrences = e.occurrences + 1, last_seen_at = now(), reason = EXCLUDED.reason",
        stream,
        partition,
        &keys as _,
        &reasons,
        &raws
    )
    .execute(tx)
    .await
    .context("recording malformed records in feishu.sync_errors")?;
    Ok(())
}

/// Closes the open errors of a partition: a complete pass met no malformed record.
pub async fn resolve_rejects(
    tx: &mut PgConnection,
    stream: &str,
    partition: &str,
) -> anyhow::Result<u64> {
    let resolved = sqlx::query!(
        "UPDATE feishu.sync_errors SET resolved_at = now()
          WHERE stream = $1 AND partition_key = $2 AND resolved_at IS NULL",
        stream,
        partition
    )
    .execute(tx)
    .await
    .context("resolving feishu.sync_errors")?;
    Ok(resolved.rows_affected())
}
