//! Scratch databases for `demo` and `bench`: created when missing, marked as scratch, and
//! never a database that holds the data of real syncs, since both overwrite freely.

use anyhow::Context;
use sqlx::{Connection, PgConnection};

use crate::db;

/// Creates the database named in `url` on its server, if it does not exist.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).context("the database URL is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_string();
    anyhow::ensure!(!name.is_empty(), "the database URL names no database");
    let mut admin_url = parsed.clone();
    admin_url.set_path("/postgres");
    let mut admin = PgConnection::connect(admin_url.as_str())
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {}: is it running?",
                db::redact_url(admin_url.as_str())
            )
        })?;
    let exists = sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
        name
    )
    .fetch_one(&mut admin)
    .await?
    .unwrap_or(false);
    if !exists {
        let quoted = name.replace('"', "\"\"");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{quoted}\""))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
        crate::outln!("created database {name}");
    }
    Ok(())
}

/// Fails if the database's `feishu` schema holds runs and is not marked with `marker`.
pub async fn refuse_real_data(url: &str, marker: &'static str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    let schema = sqlx::query!(
        r#"SELECT obj_description(oid, 'pg_namespace') AS comment,
                  to_regclass('feishu.sync_runs') IS NOT NULL AS "has_runs_table!"
             FROM pg_namespace WHERE nspname = 'feishu'"#
    )
    .fetch_optional(&mut conn)
    .await?;
    let Some(schema) = schema.filter(|s| s.has_runs_table && s.comment.as_deref() != Some(marker))
    else {
        return Ok(());
    };
    let runs = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM feishu.sync_runs"#)
        .fetch_one(&mut conn)
        .await?;
    anyhow::ensure!(
        runs == 0,
        "{} already holds feishu-sync data of real syncs ({runs} runs, schema comment {:?}); it would \
         be overwritten. Point --database-url at a scratch database",
        db::redact_url(url),
        schema.comment.unwrap_or_default()
    );
    Ok(())
}

/// Marks the `feishu` schema as scratch data of `marker`'s kind.
pub async fn mark(url: &str, marker: &'static str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    let quoted = marker.replace('\'', "''");
    sqlx::raw_sql(&format!("COMMENT ON SCHEMA feishu IS '{quoted}'"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
