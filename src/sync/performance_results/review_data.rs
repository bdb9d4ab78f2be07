//! Review data: each reviewee's stages and what their reviewers answered. No paging: a
//! request names at most 10 semesters and 10 reviewees (the documented caps), so the
//! current reviewees of each group of 10 semesters are read 10 to a request, about N / 10
//! requests per group. `stage_types` come from `streams.review_data.stage_types` (without
//! them the API returns no stage data).
//!
//! Incremental through `updated_later_than` (milliseconds): a group of semesters that
//! all have a watermark sends their oldest watermark minus the lookback, and gets only
//! stages submitted since. Such an answer can never retire anything (untouched stages are
//! simply absent), so only a complete read (a semester's first pass, a backfill without
//! `--since`, the nightly reconciliation) retires, request by request, the stages and
//! items of its reviewees it did not return, and only under the retirement rule (its
//! parents semesters and reviewees completed; `sync::retirement`). Rows of retired
//! reviewees are retired under the same rule. The partition reader loads each semester's
//! watermark; a group is one [`StreamPass`], which moves the group's watermarks to the
//! start of its pass once every request of the group succeeded.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use feishu_endpoints::{REVIEW_DATA_MAX_REVIEWEES, REVIEW_DATA_MAX_SEMESTERS};
use sqlx::PgConnection;

use super::review_rows::{ItemColumns, ItemKey, ReviewDataAnswer, StageColumns, rows};
use super::{IN_FLIGHT, current_reviewees};
use crate::db;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync::context::SyncContext;
use crate::sync::convert::time::to_millis_string;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::{StreamPass, window_start};
use crate::sync::read_mode::ReadMode;
use crate::sync::retirement::ParentGate;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink, PassSink};
use crate::sync_state::Pass;

/// Writes the answer of one request and, for a complete read, retires what it covered
/// but did not return: every stage of its reviewees in its semesters came back.
struct ReviewDataSink {
    user_id_type: UserIdType,
    semesters: Vec<String>,
    reviewees: Vec<String>,
    /// No `updated_later_than`: the answer holds every stage of the request.
    complete_read: bool,
    seen_stages: Vec<(String, String, String)>,
    seen_items: Vec<ItemKey>,
}

impl PartitionSink for ReviewDataSink {
    type Data = ReviewDataAnswer;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: ReviewDataAnswer,
    ) -> anyhow::Result<PageWrite> {
        let (stages, items, rejected) = rows(data.datas, self.user_id_type);
        for n in 0..stages.stage_id.len() {
            let key = (
                stages.semester_id[n].clone(),
                stages.reviewee[n].clone(),
                stages.stage_id[n].clone(),
            );
            self.seen_stages.push(key);
        }
        self.seen_items
            .extend((0..items.field_id.len()).map(|n| items.key(n)));
        let written = upsert_stages(tx, &stages).await? + upsert_items(tx, &items).await?;
        Ok(PageWrite { written, rejected })
    }

    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        _pass: &Pass,
    ) -> anyhow::Result<Completion> {
        // The group's watermarks move once all its requests succeeded (its StreamPass).
        Ok(Completion {
            partitions: Some(Vec::new()),
            ..Completion::default()
        })
    }

    /// An incremental answer retires nothing: untouched stages are simply absent.
    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        if !self.complete_read {
            return Ok(0);
        }
        retire_unseen(tx, self).await
    }

    fn listed(&self) -> usize {
        self.seen_stages.len()
    }
}

async fn upsert_stages(tx: &mut PgConnection, s: &StageColumns) -> anyhow::Result<u64> {
    let written = sqlx::query!(
        r#"INSERT INTO feishu.review_stages AS t
               (semester_id, reviewee_user_id, stage_id, activity_id, review_template_id, stage_type,
                review_stage_role, review_stage_roles, template_id, raw)
           SELECT sem, rev, stage, act, tpl, kind, role, ARRAY(SELECT jsonb_array_elements_text(roles)), stpl, raw
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::jsonb[], $9::text[], $10::jsonb[])
                  AS x(sem, rev, stage, act, tpl, kind, role, roles, stpl, raw)
           ON CONFLICT (semester_id, reviewee_user_id, stage_id) DO UPDATE SET
                activity_id = EXCLUDED.activity_id, review_template_id = EXCLUDED.review_template_id,
                stage_type = EXCLUDED.stage_type, review_stage_role = EXCLUDED.review_stage_role,
                review_stage_roles = EXCLUDED.review_stage_roles, template_id = EXCLUDED.template_id,
                raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
           WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
        &s.semester_id, &s.reviewee, &s.stage_id, &s.activity_id as _, &s.review_template_id as _,
        &s.stage_type as _, &s.role as _, &s.roles, &s.template_id as _, &s.raw
    )
    .execute(&mut *tx)
    .await
    .context("upserting feishu.review_stages")?;
    Ok(written.rows_affected())
}

async fn upsert_items(tx: &mut PgConnection, i: &ItemColumns) -> anyhow::Result<u64> {
    let written = sqlx::query!(
        r#"INSERT INTO feishu.review_items AS t
               (semester_id, reviewee_user_id, stage_id, record_id, unit_id, field_id, reviewer_user_id,
                record_progress, is_unknown, indicator_id, option_id, score, text, tag_based_question_id,
                perf_coefficient_value, leader_review_data_source, is_principal_review_item, submit_time, raw)
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::int4[], $9::bool[], $10::text[], $11::text[], $12::float8[], $13::text[],
                $14::text[], $15::text[], $16::text[], $17::bool[], $18::timestamptz[], $19::jsonb[])
           ON CONFLICT (semester_id, reviewee_user_id, stage_id, record_id, unit_id, field_id, reviewer_user_id)
           DO UPDATE SET
                record_progress = EXCLUDED.record_progress, is_unknown = EXCLUDED.is_unknown,
                indicator_id = EXCLUDED.indicator_id, option_id = EXCLUDED.option_id, score = EXCLUDED.score,
                text = EXCLUDED.text, tag_based_question_id = EXCLUDED.tag_based_question_id,
                perf_coefficient_value = EXCLUDED.perf_coefficient_value,
                leader_review_data_source = EXCLUDED.leader_review_data_source,
                is_principal_review_item = EXCLUDED.is_principal_review_item,
                submit_time = EXCLUDED.submit_time, raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
           WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.record_progress IS DISTINCT FROM EXCLUDED.record_progress
              OR t.deleted_at IS NOT NULL"#,
        &i.semester_id, &i.reviewee, &i.stage_id, &i.record_id, &i.unit_id, &i.field_id, &i.reviewer,
        &i.progress as _, &i.is_unknown as _, &i.indicator_id as _, &i.option_id as _, &i.score as _,
        &i.text as _, &i.question_id as _, &i.coefficient as _, &i.source as _, &i.principal as _,
        &i.submit_time as _, &i.raw
    )
    .execute(&mut *tx)
    .await
    .context("upserting feishu.review_items")?;
    Ok(written.rows_affected())
}

/// One group of at most 10 semesters read the same way.
struct Group {
    semesters: Vec<String>,
    reviewees: Vec<String>,
    /// `updated_later_than`; `None` reads every stage (a complete read).
    since: Option<DateTime<Utc>>,
}

/// A group's semesters are complete only when every request of the group is.
impl PassSink for Group {
    fn completes(&self) -> Vec<String> {
        self.semesters.clone()
    }
}

/// Reads the review data of every current reviewee.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let gate = ParentGate::check(ctx, Endpoint::ReviewData).await;
    let retired = if gate.allows() {
        retire_orphans(ctx).await?
    } else {
        0
    };
    let mut outcome = StreamOutcome::default();
    for group in groups(ctx, mode).await? {
        outcome.absorb(read_group(ctx, mode, group).await?);
        if outcome.stopped_by.is_some() || outcome.interrupted {
            break;
        }
    }
    outcome.counts.rows_retired += retired;
    Ok(outcome)
}

/// The semesters in groups of 10: those read whole (no watermark yet, or a complete read
/// asked for) apart from those read incrementally. Each semester's window comes from the
/// reader's [`window_start`]; a group sends the earliest of its semesters'.
async fn groups(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<Vec<Group>> {
    let lookback = Duration::hours(i64::from(ctx.streams.review_data.lookback_hours));
    let (mut whole, mut incremental) = (Vec::new(), Vec::new());
    for (semester, users) in current_reviewees(&ctx.pool).await? {
        match window_start(ctx, mode, Endpoint::ReviewData, &semester, lookback).await? {
            Some(start) => incremental.push((semester, users, Some(start))),
            None => whole.push((semester, users, None)),
        }
    }
    let mut out = Vec::new();
    for list in [whole, incremental] {
        for chunk in list.chunks(REVIEW_DATA_MAX_SEMESTERS) {
            let reviewees: BTreeSet<&String> =
                chunk.iter().flat_map(|(_, users, _)| users).collect();
            out.push(Group {
                semesters: chunk.iter().map(|(s, _, _)| s.clone()).collect(),
                reviewees: reviewees.into_iter().cloned().collect(),
                since: chunk.iter().filter_map(|(_, _, since)| *since).min(),
            });
        }
    }
    Ok(out)
}

/// Reads one group, 10 reviewees a request (each request retiring on its own, see the
/// sink); when every request succeeded, the reader moves the group's watermarks.
async fn read_group(
    ctx: &SyncContext,
    mode: &ReadMode,
    group: Group,
) -> anyhow::Result<StreamOutcome> {
    let mut pass = StreamPass::begin(ctx, mode, Endpoint::ReviewData);
    let label = group.semesters.join(",");
    let partitions: Vec<_> = group
        .reviewees
        .chunks(REVIEW_DATA_MAX_REVIEWEES)
        .enumerate()
        .map(|(n, batch)| {
            let mut body = serde_json::json!({
                "semester_ids": group.semesters,
                "reviewee_user_ids": batch,
                "stage_types": ctx.streams.review_data.stage_types,
            });
            if let Some(since) = group.since {
                body["updated_later_than"] = to_millis_string(since).into();
            }
            let mut request = ApiRequest::new(Endpoint::ReviewData);
            request.body = Some(body);
            let sink = ReviewDataSink {
                user_id_type: ctx.client.user_id_type(),
                semesters: group.semesters.clone(),
                reviewees: batch.to_vec(),
                complete_read: group.since.is_none(),
                seen_stages: Vec::new(),
                seen_items: Vec::new(),
            };
            Partition {
                key: format!("{label}#{n}"),
                request,
                sink,
            }
        })
        .collect();
    pass.read(partitions, IN_FLIGHT).await;
    // Only a read of every request of the group vouches for its semesters.
    pass.end(group).await
}

/// After a complete read of one request: retires the stages and items of its reviewees
/// in its semesters that the answer did not return.
async fn retire_unseen(tx: &mut PgConnection, sink: &ReviewDataSink) -> anyhow::Result<u64> {
    db::prefer_hash_joins(tx).await?;
    let mut cols: [Vec<String>; 7] = Default::default();
    for key in &sink.seen_items {
        for (col, part) in cols.iter_mut().zip(key) {
            col.push(part.clone());
        }
    }
    let [sem, rev, stage, record, unit, field, reviewer] = &cols;
    let items = sqlx::query!(
        "UPDATE feishu.review_items t SET deleted_at = now(), synced_at = now()
          WHERE t.semester_id = ANY($1::text[]) AND t.reviewee_user_id = ANY($9::text[])
            AND t.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                                 $7::text[], $8::text[]) AS s(a, b, c, d, e, f, g)
                             WHERE s.a = t.semester_id AND s.b = t.reviewee_user_id AND s.c = t.stage_id
                               AND s.d = t.record_id AND s.e = t.unit_id AND s.f = t.field_id
                               AND s.g = t.reviewer_user_id)",
        &sink.semesters, sem, rev, stage, record, unit, field, reviewer, &sink.reviewees
    )
    .execute(&mut *tx)
    .await
    .context("retiring review items")?;
    let (mut sem, mut rev, mut stage) = (Vec::new(), Vec::new(), Vec::new());
    for (a, b, c) in &sink.seen_stages {
        sem.push(a.clone());
        rev.push(b.clone());
        stage.push(c.clone());
    }
    let stages = sqlx::query!(
        "UPDATE feishu.review_stages t SET deleted_at = now(), synced_at = now()
          WHERE t.semester_id = ANY($1::text[]) AND t.reviewee_user_id = ANY($5::text[])
            AND t.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::text[]) AS s(a, b, c)
                             WHERE s.a = t.semester_id AND s.b = t.reviewee_user_id AND s.c = t.stage_id)",
        &sink.semesters, &sem, &rev, &stage, &sink.reviewees
    )
    .execute(&mut *tx)
    .await
    .context("retiring review stages")?;
    Ok(items.rows_affected() + stages.rows_affected())
}

/// Stages and items of reviewees no longer current (left the semester, or the semester
/// was retired) are retired: nothing will read them again.
async fn retire_orphans(ctx: &SyncContext) -> anyhow::Result<u64> {
    let statements = [
        sqlx::query!(
            "UPDATE feishu.review_items t SET deleted_at = now(), synced_at = now()
               FROM feishu.reviewees r
              WHERE r.semester_id = t.semester_id AND r.user_id = t.reviewee_user_id
                AND t.deleted_at IS NULL AND r.deleted_at IS NOT NULL"
        ),
        sqlx::query!(
            "UPDATE feishu.review_stages t SET deleted_at = now(), synced_at = now()
               FROM feishu.reviewees r
              WHERE r.semester_id = t.semester_id AND r.user_id = t.reviewee_user_id
                AND t.deleted_at IS NULL AND r.deleted_at IS NOT NULL"
        ),
    ];
    super::retire_all(&ctx.pool, statements, "review data").await
}

#[cfg(test)]
#[path = "review_data_tests.rs"]
mod tests;
