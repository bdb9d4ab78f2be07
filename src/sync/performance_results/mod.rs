//! Performance results: who is reviewed (reviewees), what the reviewers answered (review
//! data), metric values (metric details) and the dictionaries their ids need (indicators,
//! metric fields). Semesters come first, then reviewees, then review data and metric
//! details, which read the reviewees. A child retires nothing unless its parents' latest
//! runs were clean ([`parents_clean`]).

pub mod dictionaries;
pub mod metric_details;
pub mod review_data;
mod review_rows;
pub mod reviewees;
mod wire;

use anyhow::Context;
use sqlx::PgPool;

use crate::feishu::Endpoint;

/// Requests of one results stream in flight at once: they share the endpoint's budget, so
/// more only hide latency (a request without paging waits for its answer and its write
/// before the next can leave); four keep 20 a minute busy with room to spare.
const IN_FLIGHT: usize = 4;

/// Whether the latest run of every one of `parents` succeeded: only then does a child
/// know the reviewees it reads are the whole truth, and may retire what it did not see.
/// A parent that never ran, is still running, failed, was partial or interrupted says no.
pub async fn parents_clean(pool: &PgPool, parents: &[Endpoint]) -> anyhow::Result<bool> {
    for parent in parents {
        let status = sqlx::query_scalar!(
            "SELECT status FROM feishu.sync_runs WHERE stream = $1 ORDER BY id DESC LIMIT 1",
            parent.name()
        )
        .fetch_optional(pool)
        .await
        .context("reading the parents' latest runs in feishu.sync_runs")?;
        if status.as_deref() != Some("succeeded") {
            tracing::info!(
                parent = parent.name(),
                status,
                "parent not clean; retiring nothing"
            );
            return Ok(false);
        }
    }
    Ok(true)
}

/// The current reviewees of each current semester, semesters in id order, users sorted.
pub async fn current_reviewees(pool: &PgPool) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let rows = sqlx::query!(
        r#"SELECT r.semester_id, array_agg(r.user_id ORDER BY r.user_id) AS "users!"
             FROM feishu.reviewees r
             JOIN feishu.semesters s ON s.id = r.semester_id AND s.deleted_at IS NULL
            WHERE r.deleted_at IS NULL
            GROUP BY r.semester_id ORDER BY r.semester_id"#
    )
    .fetch_all(pool)
    .await
    .context("listing current reviewees")?;
    Ok(rows.into_iter().map(|r| (r.semester_id, r.users)).collect())
}
