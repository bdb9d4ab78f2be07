//! The only reader and writer of `feishu.sync_state`: per stream partition, the watermark
//! and last complete pass, and the resume cursor of a pass in progress (so a pass cut
//! short resumes at its next page). Writes run inside the page's transaction, so they
//! commit or vanish together with the page's rows. Stream modules never write here: a
//! pass returns its new watermark and the partition reader records it through this module.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::feishu::{ApiRequest, Endpoint};

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
    /// Runs in a row that failed while this cursor stood (every committed page resets it).
    pub failures: i32,
}

/// The text a resume cursor is tied to: the endpoint and its filters. A pass with other
/// filters (a backfill, a moved watermark) cannot use the cursor.
pub fn request_fingerprint(request: &ApiRequest) -> String {
    let mut fingerprint = serde_json::json!({
        "endpoint": request.endpoint.name(),
        "query": request.query,
        "body": request.body,
    });
    // Only requests with a path of their own carry it, so older cursors stay valid.
    if let Some(path) = &request.path {
        fingerprint["path"] = path.clone().into();
    }
    fingerprint.to_string()
}

/// The cursor of an unfinished pass of `request` over this partition, if there is one.
pub async fn load_cursor(
    pool: &PgPool,
    stream: &str,
    partition: &str,
    request: &ApiRequest,
) -> anyhow::Result<Option<Cursor>> {
    let row = sqlx::query!(
        r#"SELECT resume_page_token AS "token!", pass_started_at AS "started_at!", pass_pages, pass_rejected,
                  resume_failures
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
        failures: r.resume_failures,
    }))
}

/// Counts a failed run against the partition's resume cursor, if it has one; returns the
/// failures so far (0 without a cursor).
pub async fn cursor_failed(pool: &PgPool, stream: &str, partition: &str) -> anyhow::Result<i32> {
    let failures = sqlx::query_scalar!(
        "UPDATE feishu.sync_state SET resume_failures = resume_failures + 1, updated_at = now()
          WHERE stream = $1 AND partition_key = $2 AND resume_page_token IS NOT NULL
          RETURNING resume_failures",
        stream,
        partition
    )
    .fetch_optional(pool)
    .await
    .context("counting a failed run against the resume cursor in feishu.sync_state")?;
    Ok(failures.unwrap_or(0))
}

/// Drops the partition's resume cursor outside a page: its pass starts again.
pub async fn drop_cursor(pool: &PgPool, stream: &str, partition: &str) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    end_pass(&mut conn, stream, partition).await
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
                pass_rejected = EXCLUDED.pass_rejected, resume_failures = 0, updated_at = now()",
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

/// Forgets the cursor: the pass reached its last page (complete or not).
pub async fn end_pass(tx: &mut PgConnection, stream: &str, partition: &str) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE feishu.sync_state
            SET resume_page_token = NULL, resume_request = NULL, pass_started_at = NULL,
                pass_pages = 0, pass_rejected = 0, resume_failures = 0, updated_at = now()
          WHERE stream = $1 AND partition_key = $2",
        stream,
        partition
    )
    .execute(tx)
    .await
    .context("clearing the resume cursor in feishu.sync_state")?;
    Ok(())
}

/// The watermark of one stream partition, if a complete pass ever set one.
pub async fn watermark(
    pool: &PgPool,
    stream: Endpoint,
    partition: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let row = sqlx::query_scalar!(
        "SELECT watermark FROM feishu.sync_state WHERE stream = $1 AND partition_key = $2",
        stream.name(),
        partition
    )
    .fetch_optional(pool)
    .await
    .context("reading feishu.sync_state")?;
    Ok(row.flatten())
}

/// Records a complete pass of each of `partitions` and moves their watermark to
/// `watermark` (`None` keeps the old one), inside the caller's transaction so it commits
/// together with the pass's last page.
pub async fn record_complete(
    tx: &mut PgConnection,
    stream: &str,
    partitions: &[String],
    watermark: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO feishu.sync_state (stream, partition_key, watermark, last_complete_at, updated_at)
         SELECT $1, key, $3, now(), now() FROM UNNEST($2::text[]) AS key
         ON CONFLICT (stream, partition_key) DO UPDATE
            SET watermark = COALESCE(EXCLUDED.watermark, feishu.sync_state.watermark),
                last_complete_at = now(), updated_at = now()",
        stream,
        partitions,
        watermark
    )
    .execute(tx)
    .await
    .context("writing feishu.sync_state")?;
    Ok(())
}

/// Forgets everything about `partitions` of `streams`: should such a partition come back
/// (a retired semester, say), it is read whole again.
pub async fn forget_partitions(
    tx: &mut PgConnection,
    streams: &[Endpoint],
    partitions: &[String],
) -> anyhow::Result<()> {
    let streams: Vec<&str> = streams.iter().map(|s| s.name()).collect();
    sqlx::query!(
        "DELETE FROM feishu.sync_state
          WHERE stream = ANY($1::text[]) AND partition_key = ANY($2::text[])",
        &streams as _,
        partitions
    )
    .execute(tx)
    .await
    .context("forgetting partitions in feishu.sync_state")?;
    Ok(())
}

/// Every partition of `stream` that has state (a watermark, a resume cursor or a
/// pass in progress), for `reset` to say what it clears.
pub async fn count_partitions(pool: &PgPool, stream: Endpoint) -> anyhow::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM feishu.sync_state WHERE stream = $1"#,
        stream.name()
    )
    .fetch_one(pool)
    .await
    .context("reading feishu.sync_state")
}

/// Clears `stream`'s watermarks, resume cursors and pass state, so its next run is a
/// first sync; its rows stay. Returns how many partitions were cleared.
pub async fn reset_stream(pool: &PgPool, stream: Endpoint) -> anyhow::Result<u64> {
    let cleared = sqlx::query!(
        "DELETE FROM feishu.sync_state WHERE stream = $1",
        stream.name()
    )
    .execute(pool)
    .await
    .context("clearing the stream's rows of feishu.sync_state")?;
    Ok(cleared.rows_affected())
}

/// Forgets every stream's watermarks, resume cursors and pass state inside the caller's
/// transaction, so that the next pass of each is a first one (`--reset-ids`).
pub async fn forget_all(tx: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM feishu.sync_state")
        .execute(tx)
        .await
        .context("forgetting watermarks and cursors")?;
    Ok(())
}

/// The watermarks of one stream, summarised for `status`.
#[derive(Debug, Clone)]
pub struct WatermarkSummary {
    pub stream: String,
    /// Partitions with a watermark.
    pub partitions: i64,
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
}

/// Every stream's watermarks, summarised.
pub async fn watermark_summaries(pool: &PgPool) -> anyhow::Result<Vec<WatermarkSummary>> {
    sqlx::query_as!(
        WatermarkSummary,
        r#"SELECT stream AS "stream!", count(*) AS "partitions!", min(watermark) AS oldest, max(watermark) AS newest
             FROM feishu.sync_state WHERE watermark IS NOT NULL GROUP BY stream"#
    )
    .fetch_all(pool)
    .await
    .context("reading feishu.sync_state")
}
