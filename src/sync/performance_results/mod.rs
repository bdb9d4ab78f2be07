//! Performance results: who is reviewed (reviewees), what the reviewers answered (review
//! data), metric values (metric details) and the dictionaries their ids need (indicators,
//! metric fields). Semesters come first, then reviewees, then review data and metric
//! details, which read the reviewees. A child retires nothing unless its parents
//! completed (`sync::retirement`, parents in `crate::tables`).

pub mod dictionaries;
pub mod metric_details;
pub mod review_data;
mod review_rows;
pub mod reviewees;
mod wire;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::Query;

/// Requests of one results stream in flight at once: they share the endpoint's budget, so
/// more only hide latency (a request without paging waits for its answer and its write
/// before the next can leave); four keep 20 a minute busy with room to spare.
const IN_FLIGHT: usize = 4;

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

/// Runs a child stream's retirement statements for rows whose reviewee was retired
/// (children first, so a parent row never outlives its items), returning how many rows
/// they retired; `what` names them in an error.
async fn retire_all(
    pool: &PgPool,
    statements: impl IntoIterator<Item = Query<'_, Postgres, PgArguments>>,
    what: &'static str,
) -> anyhow::Result<u64> {
    let mut retired = 0;
    for statement in statements {
        let done = statement
            .execute(pool)
            .await
            .with_context(|| format!("retiring {what} of retired reviewees"))?;
        retired += done.rows_affected();
    }
    Ok(retired)
}
