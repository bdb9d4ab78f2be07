//! Reviewees: who is reviewed in which semester, one semester per request with paging in
//! the query string. A complete pass over a semester retires the people it no longer
//! lists; reviewees of retired semesters are retired too. The review data and metric
//! details of retired reviewees are retired by their own streams.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::IN_FLIGHT;
use super::wire::WireUser;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync::context::SyncContext;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::read_partitions;
use crate::sync::read_mode::ReadMode;
use crate::sync::rejects::RejectedRecord;
use crate::sync::scopes::USER_ID_SCOPE;
use crate::sync::semesters;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::sync_state::Pass;

/// `data` of one page.
#[derive(Debug, Deserialize)]
struct RevieweePage {
    #[serde(default)]
    reviewees: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireReviewee {
    #[serde(default)]
    reviewee_user_id: WireUser,
    #[serde(default)]
    activity_ids: Vec<String>,
    reviewprofile_url: Option<String>,
}

#[derive(Default)]
struct Columns {
    user_id: Vec<String>,
    /// Each reviewee's activity ids as one JSON array (arrays of arrays must be
    /// rectangular in Postgres).
    activity_ids: Vec<Value>,
    url: Vec<Option<String>>,
    raw: Vec<Value>,
}

/// Writes one semester's pages.
struct RevieweeSink {
    semester_id: String,
    user_id_type: UserIdType,
    seen: Vec<String>,
}

impl RevieweeSink {
    fn columns(&self, records: Vec<Value>) -> (Columns, Vec<RejectedRecord>) {
        let mut c = Columns::default();
        let mut rejected = Vec::new();
        for raw in records {
            let parsed = WireReviewee::deserialize(&raw).context("reviewee record");
            let parsed = parsed.and_then(|r| {
                let id = r.reviewee_user_id.id(self.user_id_type).with_context(|| {
                    format!(
                        "reviewee without a {} (with user_id the app needs {USER_ID_SCOPE})",
                        self.user_id_type
                    )
                })?;
                Ok((id, r))
            });
            match parsed {
                Ok((id, _)) if c.user_id.contains(&id) => {}
                Ok((id, r)) => {
                    c.user_id.push(id);
                    c.activity_ids.push(Value::from(r.activity_ids));
                    c.url.push(r.reviewprofile_url);
                    c.raw.push(raw);
                }
                Err(error) => rejected.push(RejectedRecord {
                    key: None,
                    reason: format!("{error:#}"),
                    raw,
                }),
            }
        }
        (c, rejected)
    }
}

impl PartitionSink for RevieweeSink {
    type Data = RevieweePage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: RevieweePage,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = self.columns(data.reviewees);
        self.seen.extend(c.user_id.iter().cloned());
        let written = sqlx::query!(
            r#"INSERT INTO feishu.reviewees AS t (semester_id, user_id, activity_ids, reviewprofile_url, raw)
               SELECT $1, u, ARRAY(SELECT jsonb_array_elements_text(a)), url, raw
                 FROM UNNEST($2::text[], $3::jsonb[], $4::text[], $5::jsonb[]) AS x(u, a, url, raw)
               ON CONFLICT (semester_id, user_id) DO UPDATE SET
                    activity_ids = EXCLUDED.activity_ids, reviewprofile_url = EXCLUDED.reviewprofile_url,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.semester_id, &c.user_id, &c.activity_ids, &c.url as _, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.reviewees")?;
        Ok(PageWrite {
            written: written.rows_affected(),
            rejected,
        })
    }

    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        _pass: &Pass,
    ) -> anyhow::Result<Completion> {
        Ok(Completion::default())
    }

    /// A fresh, clean pass saw every reviewee of the semester: the others left.
    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let retired = sqlx::query!(
            "UPDATE feishu.reviewees SET deleted_at = now(), synced_at = now()
              WHERE semester_id = $1 AND deleted_at IS NULL AND NOT (user_id = ANY($2::text[]))",
            self.semester_id,
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring reviewees")?;
        Ok(retired.rows_affected())
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// Reads the reviewees of every current semester.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let retired = retire_orphans(ctx).await?;
    let partitions: Vec<Partition<RevieweeSink>> = semesters::current_ids(&ctx.pool)
        .await?
        .into_iter()
        .map(|semester_id| {
            let mut request = ApiRequest::new(Endpoint::Reviewees);
            request.body = Some(serde_json::json!({ "semester_id": semester_id }));
            Partition {
                key: semester_id.clone(),
                request,
                sink: RevieweeSink {
                    semester_id,
                    user_id_type: ctx.client.user_id_type(),
                    seen: Vec::new(),
                },
            }
        })
        .collect();
    let mut outcome = read_partitions(ctx, mode, partitions, IN_FLIGHT).await;
    outcome.counts.rows_retired += retired;
    Ok(outcome)
}

/// Reviewees of retired semesters are retired too: nothing will read them again.
async fn retire_orphans(ctx: &SyncContext) -> anyhow::Result<u64> {
    let retired = sqlx::query!(
        "UPDATE feishu.reviewees r SET deleted_at = now(), synced_at = now()
           FROM feishu.semesters s
          WHERE r.semester_id = s.id AND r.deleted_at IS NULL AND s.deleted_at IS NOT NULL"
    )
    .execute(&ctx.pool)
    .await
    .context("retiring reviewees of retired semesters")?;
    Ok(retired.rows_affected())
}

#[cfg(test)]
#[path = "reviewees_tests.rs"]
mod tests;
