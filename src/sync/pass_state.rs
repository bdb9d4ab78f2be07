//! What a pass over one partition keeps in Postgres besides rows: its resume cursor in
//! `feishu.sync_state` (so a pass cut short resumes at its next page) and the malformed
//! records it skipped, in `feishu.sync_errors`. Everything here runs inside the page's
//! transaction, so it commits or vanishes together with the page's rows.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::feishu::ApiRequest;

/// A pass in progress: where it started, whether it resumes an earlier process's pass, and
/// what it has committed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// When the pass (not this process) started; time-based watermarks use it.
    pub started_at: DateTime<Utc>,
    /// The pass continues one an earlier run began. Its first pages were read by that
    /// run, so what "was not seen" is unknown: a resumed pass never retires rows.
    pub resumed: bool,
    /// Pages committed by the pass, in this run and any run it resumes.
    pub pages: i32,
    /// Malformed records met by the pass; a pass with any does not complete.
    pub rejected: i32,
}

impl Pass {
    /// A pass starting from the first page now.
    pub fn fresh() -> Self {
        Pass {
            started_at: Utc::now(),
            resumed: false,
            pages: 0,
            rejected: 0,
        }
    }
}

/// Where an unfinished pass of a partition stands.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub page_token: String,
    pub pass: Pass,
}

/// The text a resume cursor is tied to: the endpoint and its filters. A pass with other
/// filters (a backfill, a moved watermark) cannot use the cursor.
pub fn request_fingerprint(request: &ApiRequest) -> String {
    serde_json::json!({
        "endpoint": request.endpoint.name(),
        "query": request.query,
        "body": request.body,
    })
    .to_string()
}

/// The cursor of an unfinished pass of `request` over this partition, if there is one.
pub async fn load_cursor(
    pool: &PgPool,
    stream: &str,
    partition: &str,
    request: &ApiRequest,
) -> anyhow::Result<Option<Cursor>> {
    let row = sqlx::query!(
        r#"SELECT resume_page_token AS "token!", pass_started_at AS "started_at!", pass_pages, pass_rejected
             FROM feishu.sync_state
            WHERE stream = $1 AND partition_key = $2 AND resume_request = $3
              AND resume_page_token IS NOT NULL AND pass_started_at IS NOT NULL"#,
        stream,
        partition,
        request_fingerprint(request)
    )
    .fetch_optional(pool)
    .await
    .context("reading the resume cursor in feishu.sync_state")?;
    Ok(row.map(|r| Cursor {
        page_token: r.token,
        pass: Pass {
            started_at: r.started_at,
            resumed: true,
            pages: r.pass_pages,
            rejected: r.pass_rejected,
        },
    }))
}

/// Records, with a page that is not the last, the token of the page after it.
pub async fn save_cursor(
    tx: &mut PgConnection,
    stream: &str,
    partition: &str,
    request: &ApiRequest,
    cursor: &Cursor,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO feishu.sync_state AS s (stream, partition_key, resume_page_token, resume_request,
                pass_started_at, pass_pages, pass_rejected, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (stream, partition_key) DO UPDATE
            SET resume_page_token = EXCLUDED.resume_page_token, resume_request = EXCLUDED.resume_request,
                pass_started_at = EXCLUDED.pass_started_at, pass_pages = EXCLUDED.pass_pages,
                pass_rejected = EXCLUDED.pass_rejected, updated_at = now()",
        stream,
        partition,
        cursor.page_token,
        request_fingerprint(request),
        cursor.pass.started_at,
        cursor.pass.pages,
        cursor.pass.rejected
    )
    .execute(tx)
    .await
    .context("saving the resume cursor in feishu.sync_state")?;
    Ok(())
}

/// Forgets the cursor: the pass reached its last page.
pub async fn end_pass(tx: &mut PgConnection, stream: &str, partition: &str) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE feishu.sync_state
            SET resume_page_token = NULL, resume_request = NULL, pass_started_at = NULL,
                pass_pages = 0, pass_rejected = 0, updated_at = now()
          WHERE stream = $1 AND partition_key = $2",
        stream,
        partition
    )
    .execute(tx)
    .await
    .context("clearing the resume cursor in feishu.sync_state")?;
    Ok(())
}

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
