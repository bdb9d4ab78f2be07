//! The `feishu.user_id_type` a database was written under: recorded in
//! `feishu.sync_settings` on first use (the only writer of that table), checked before
//! every sync so two kinds of id never mix, and switched by `sync --backfill --reset-ids`,
//! which empties the user-keyed tables for the backfill to read again.

use anyhow::Context;
use sqlx::PgPool;

use crate::feishu::UserIdType;

/// Refuses to go on when the data was written under another `feishu.user_id_type`
/// (rows under the old ids would never be retired, and people would appear twice);
/// records the type on first use.
pub async fn check_user_id_type(pool: &PgPool, configured: UserIdType) -> anyhow::Result<()> {
    let recorded =
        sqlx::query_scalar!("SELECT value FROM feishu.sync_settings WHERE key = 'user_id_type'")
            .fetch_optional(pool)
            .await
            .context("reading feishu.sync_settings")?;
    let configured_text = configured.as_str();
    match recorded {
        Some(recorded) if recorded != configured_text => anyhow::bail!(
            "feishu.user_id_type is {configured_text:?}, but the data in this database was copied with {recorded:?}: \
             every user column holds {recorded} ids, and syncing on would mix the two kinds (rows under the old ids \
             are never retired, so people appear twice). Either set feishu.user_id_type back to {recorded:?}, or run \
             `feishu-sync sync --backfill --reset-ids` once: it clears the user-keyed tables ({}) and their sync \
             state, closes their open history versions, records {configured_text:?} and reads everything again",
            user_keyed_names().join(", ")
        ),
        Some(_) => Ok(()),
        None => record_user_id_type(pool, configured).await,
    }
}

/// Tables whose keys hold user ids: under another `user_id_type` every row would be a
/// different row, so a switch clears them and reads them again.
fn user_keyed_names() -> Vec<&'static str> {
    crate::tables::user_keyed_tables().map(|t| t.name).collect()
}

/// Records `configured` as the type the database's user columns hold.
async fn record_user_id_type(pool: &PgPool, configured: UserIdType) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO feishu.sync_settings (key, value) VALUES ('user_id_type', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        configured.as_str()
    )
    .execute(pool)
    .await
    .context("recording feishu.user_id_type in feishu.sync_settings")?;
    Ok(())
}

/// `sync --backfill --reset-ids`: in one transaction, closes the open history versions of
/// the user-keyed tables, empties them and forgets every stream's watermarks and cursors,
/// then records `configured`; the backfill that follows reads everything under it.
pub async fn reset_user_ids(pool: &PgPool, configured: UserIdType) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for entity in crate::tables::user_keyed_tables() {
        // Names from the registry; they cannot be bind parameters.
        let table = entity.name;
        if entity.has_history {
            sqlx::query(&format!(
                "UPDATE feishu.{table}_history SET valid_to = now() WHERE valid_to IS NULL"
            ))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(&format!("DELETE FROM feishu.{table}"))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("emptying feishu.{table}"))?;
    }
    crate::sync_state::forget_all(&mut tx).await?;
    tx.commit().await?;
    record_user_id_type(pool, configured).await?;
    tracing::warn!(
        user_id_type = configured.as_str(),
        "user-keyed tables emptied; the backfill reads them again"
    );
    Ok(())
}
