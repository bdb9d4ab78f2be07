//! Metric details: each reviewee's metrics (KPIs) with their field values (target, actual
//! ...), dimension, weight and stage statuses. One semester and at most 50 reviewees a
//! request (the documented cap); the answer has one entry per metric. No time filter: the
//! stream reads everything on every run and is scheduled nightly. Each answer is complete
//! for its reviewees, so each request retires the metrics and fields of its reviewees it
//! no longer returned, under the retirement rule (`sync::retirement`); so are the
//! metrics of retired reviewees.

use std::collections::HashSet;

use anyhow::Context;
use feishu_endpoints::METRIC_DETAILS_MAX_REVIEWEES;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::wire::{WireUser, id_text, number, opt_id_text, opt_text};
use super::{IN_FLIGHT, current_reviewees};
use crate::db;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync::context::SyncContext;
use crate::sync::convert::i18n::I18nSnake;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::read_partitions;
use crate::sync::read_mode::ReadMode;
use crate::sync::rejects::RejectedRecord;
use crate::sync::retirement::ParentGate;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::sync_state::Pass;

/// `data` of one answer.
#[derive(Debug, Deserialize)]
struct MetricAnswer {
    #[serde(default)]
    reviewee_metrics: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireEntry {
    #[serde(default)]
    reviewee_user_id: WireUser,
    #[serde(default, deserialize_with = "opt_id_text")]
    metric_template_id: Option<String>,
    metric_details: WireMetric,
    #[serde(default)]
    reviewee_stage_statuses: Value,
}

#[derive(Debug, Deserialize)]
struct WireMetric {
    #[serde(deserialize_with = "id_text")]
    metric_id: String,
    name: Option<String>,
    #[serde(default)]
    fields: Vec<Value>,
    #[serde(default, deserialize_with = "opt_id_text")]
    dimension_id: Option<String>,
    #[serde(default)]
    dimension_name: I18nSnake,
    #[serde(default, deserialize_with = "opt_text")]
    dimension_weight: Option<String>,
    add_from: Option<String>,
    is_from_library: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct WireField {
    #[serde(deserialize_with = "id_text")]
    field_id: String,
    #[serde(default, deserialize_with = "opt_text")]
    field_value: Option<String>,
    #[serde(default)]
    field_value_person: Option<WireUser>,
}

#[derive(Default)]
struct Columns {
    reviewee: Vec<String>,
    metric_id: Vec<String>,
    template_id: Vec<Option<String>>,
    name: Vec<Option<String>>,
    dimension_id: Vec<Option<String>>,
    dimension_zh: Vec<Option<String>>,
    dimension_en: Vec<Option<String>>,
    weight: Vec<Option<f64>>,
    add_from: Vec<Option<String>>,
    from_library: Vec<Option<bool>>,
    statuses: Vec<Value>,
    raw: Vec<Value>,
    f_reviewee: Vec<String>,
    f_metric: Vec<String>,
    f_field: Vec<String>,
    f_value: Vec<Option<String>>,
    f_number: Vec<Option<f64>>,
    f_person: Vec<Option<String>>,
    f_raw: Vec<Value>,
}

impl Columns {
    /// Maps one entry; nothing of it is pushed when it fails.
    fn push(&mut self, raw: Value, user_id_type: UserIdType) -> anyhow::Result<()> {
        let e = WireEntry::deserialize(&raw).context("metric detail record")?;
        let reviewee = e
            .reviewee_user_id
            .id(user_id_type)
            .with_context(|| format!("metric detail without a reviewee {user_id_type}"))?;
        let m = e.metric_details;
        let fields: Vec<(WireField, Value)> = m
            .fields
            .iter()
            .map(|f| {
                Ok((
                    WireField::deserialize(f).context("metric field value")?,
                    f.clone(),
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut field_ids = HashSet::new();
        for (f, raw_field) in fields {
            if !field_ids.insert(f.field_id.clone()) {
                continue;
            }
            self.f_reviewee.push(reviewee.clone());
            self.f_metric.push(m.metric_id.clone());
            self.f_number.push(number(f.field_value.as_deref()));
            self.f_value.push(f.field_value);
            self.f_person
                .push(f.field_value_person.and_then(|p| p.id(user_id_type)));
            self.f_raw.push(raw_field);
            self.f_field.push(f.field_id);
        }
        self.reviewee.push(reviewee);
        self.metric_id.push(m.metric_id);
        self.template_id.push(e.metric_template_id);
        self.name.push(m.name);
        self.dimension_id.push(m.dimension_id);
        self.dimension_zh.push(m.dimension_name.zh);
        self.dimension_en.push(m.dimension_name.en);
        self.weight.push(number(m.dimension_weight.as_deref()));
        self.add_from.push(m.add_from);
        self.from_library.push(m.is_from_library);
        self.statuses.push(match e.reviewee_stage_statuses {
            Value::Null => Value::Array(Vec::new()),
            other => other,
        });
        self.raw.push(raw);
        Ok(())
    }
}

/// Writes one request's answer; a complete one (there is no time filter) then retires the
/// metrics and field values of its reviewees that it did not return.
struct MetricSink {
    semester_id: String,
    reviewees: Vec<String>,
    user_id_type: UserIdType,
    seen_metrics: Vec<(String, String)>,
    seen_fields: Vec<(String, String, String)>,
}

/// Turns one answer's entries into upsert columns, so `write_page` is left with the SQL: a
/// repeated (reviewee, metric) keeps its first answer, and an entry that does not map is rejected.
fn columns_of(entries: Vec<Value>, user_id_type: UserIdType) -> (Columns, Vec<RejectedRecord>) {
    let mut c = Columns::default();
    let mut rejected = Vec::new();
    let mut keys = HashSet::new();
    for raw in entries {
        let key = raw
            .pointer("/metric_details/metric_id")
            .map(|v| v.to_string());
        let reviewee = raw.pointer("/reviewee_user_id").map(|v| v.to_string());
        if !keys.insert((reviewee, key.clone())) {
            continue; // a repeat: the first answer stands
        }
        if let Err(error) = c.push(raw.clone(), user_id_type) {
            rejected.push(RejectedRecord {
                key,
                reason: format!("{error:#}"),
                raw,
            });
        }
    }
    (c, rejected)
}

impl MetricSink {
    /// Records the metrics and field values a page wrote, so that a complete answer can retire
    /// the ones of its reviewees it did not return.
    fn remember(&mut self, c: &Columns) {
        let pairs = c.reviewee.iter().cloned().zip(c.metric_id.iter().cloned());
        self.seen_metrics.extend(pairs);
        for n in 0..c.f_field.len() {
            let key = (
                c.f_reviewee[n].clone(),
                c.f_metric[n].clone(),
                c.f_field[n].clone(),
            );
            self.seen_fields.push(key);
        }
    }
}

impl PartitionSink for MetricSink {
    type Data = MetricAnswer;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: MetricAnswer,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = columns_of(data.reviewee_metrics, self.user_id_type);
        self.remember(&c);
        let metrics = sqlx::query!(
            r#"INSERT INTO feishu.metric_details AS t
                   (semester_id, reviewee_user_id, metric_id, metric_template_id, name, dimension_id,
                    dimension_name_zh, dimension_name_en, dimension_weight, add_from, is_from_library,
                    reviewee_stage_statuses, raw)
               SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                    $8::text[], $9::float8[], $10::text[], $11::bool[], $12::jsonb[], $13::jsonb[])
               ON CONFLICT (semester_id, reviewee_user_id, metric_id) DO UPDATE SET
                    metric_template_id = EXCLUDED.metric_template_id, name = EXCLUDED.name,
                    dimension_id = EXCLUDED.dimension_id, dimension_name_zh = EXCLUDED.dimension_name_zh,
                    dimension_name_en = EXCLUDED.dimension_name_en, dimension_weight = EXCLUDED.dimension_weight,
                    add_from = EXCLUDED.add_from, is_from_library = EXCLUDED.is_from_library,
                    reviewee_stage_statuses = EXCLUDED.reviewee_stage_statuses, raw = EXCLUDED.raw,
                    deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.semester_id, &c.reviewee, &c.metric_id, &c.template_id as _, &c.name as _,
            &c.dimension_id as _, &c.dimension_zh as _, &c.dimension_en as _, &c.weight as _,
            &c.add_from as _, &c.from_library as _, &c.statuses, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.metric_details")?;
        let fields = sqlx::query!(
            r#"INSERT INTO feishu.metric_detail_fields AS t
                   (semester_id, reviewee_user_id, metric_id, field_id, field_value, field_number,
                    field_value_person, raw)
               SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[],
                    $7::text[], $8::jsonb[])
               ON CONFLICT (semester_id, reviewee_user_id, metric_id, field_id) DO UPDATE SET
                    field_value = EXCLUDED.field_value, field_number = EXCLUDED.field_number,
                    field_value_person = EXCLUDED.field_value_person, raw = EXCLUDED.raw,
                    deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.semester_id, &c.f_reviewee, &c.f_metric, &c.f_field, &c.f_value as _,
            &c.f_number as _, &c.f_person as _, &c.f_raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.metric_detail_fields")?;
        Ok(PageWrite {
            written: metrics.rows_affected() + fields.rows_affected(),
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

    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        retire_unseen(tx, self).await
    }

    fn listed(&self) -> usize {
        self.seen_metrics.len()
    }
}

/// Reads the metrics of every current reviewee.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let gate = ParentGate::check(ctx, Endpoint::MetricDetails).await;
    let retired = if gate.allows() {
        retire_orphans(ctx).await?
    } else {
        0
    };
    let mut partitions = Vec::new();
    for (semester_id, reviewees) in current_reviewees(&ctx.pool).await? {
        for (n, batch) in reviewees.chunks(METRIC_DETAILS_MAX_REVIEWEES).enumerate() {
            let mut request = ApiRequest::new(Endpoint::MetricDetails);
            let body =
                serde_json::json!({ "semester_id": semester_id, "reviewee_user_ids": batch });
            request.body = Some(body);
            let sink = MetricSink {
                semester_id: semester_id.clone(),
                reviewees: batch.to_vec(),
                user_id_type: ctx.client.user_id_type(),
                seen_metrics: Vec::new(),
                seen_fields: Vec::new(),
            };
            let key = format!("{semester_id}#{n}");
            partitions.push(Partition { key, request, sink });
        }
    }
    let mut outcome = read_partitions(ctx, mode, partitions, IN_FLIGHT).await;
    outcome.counts.rows_retired += retired;
    Ok(outcome)
}

/// After one request's answer: retires the metrics and field values of its reviewees in
/// its semester that the answer did not return.
async fn retire_unseen(tx: &mut PgConnection, sink: &MetricSink) -> anyhow::Result<u64> {
    db::prefer_hash_joins(tx).await?;
    let (users, metrics): (Vec<String>, Vec<String>) = sink.seen_metrics.iter().cloned().unzip();
    let retired_metrics = sqlx::query!(
        "UPDATE feishu.metric_details t SET deleted_at = now(), synced_at = now()
          WHERE t.semester_id = $1 AND t.reviewee_user_id = ANY($4::text[]) AND t.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[]) AS s(u, m)
                             WHERE s.u = t.reviewee_user_id AND s.m = t.metric_id)",
        sink.semester_id,
        &users,
        &metrics,
        &sink.reviewees
    )
    .execute(&mut *tx)
    .await
    .context("retiring metric details")?;
    let (mut u, mut m, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for (a, b, c) in &sink.seen_fields {
        u.push(a.clone());
        m.push(b.clone());
        f.push(c.clone());
    }
    let retired_fields = sqlx::query!(
        "UPDATE feishu.metric_detail_fields t SET deleted_at = now(), synced_at = now()
          WHERE t.semester_id = $1 AND t.reviewee_user_id = ANY($5::text[]) AND t.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::text[]) AS s(u, m, f)
                             WHERE s.u = t.reviewee_user_id AND s.m = t.metric_id AND s.f = t.field_id)",
        sink.semester_id, &u, &m, &f, &sink.reviewees
    )
    .execute(&mut *tx)
    .await
    .context("retiring metric field values")?;
    Ok(retired_metrics.rows_affected() + retired_fields.rows_affected())
}

/// Metrics of reviewees no longer current are retired.
async fn retire_orphans(ctx: &SyncContext) -> anyhow::Result<u64> {
    let statements = [
        sqlx::query!(
            "UPDATE feishu.metric_detail_fields t SET deleted_at = now(), synced_at = now()
               FROM feishu.reviewees r
              WHERE r.semester_id = t.semester_id AND r.user_id = t.reviewee_user_id
                AND t.deleted_at IS NULL AND r.deleted_at IS NOT NULL"
        ),
        sqlx::query!(
            "UPDATE feishu.metric_details t SET deleted_at = now(), synced_at = now()
               FROM feishu.reviewees r
              WHERE r.semester_id = t.semester_id AND r.user_id = t.reviewee_user_id
                AND t.deleted_at IS NULL AND r.deleted_at IS NOT NULL"
        ),
    ];
    super::retire_all(&ctx.pool, statements, "metrics").await
}

#[cfg(test)]
#[path = "metric_details_tests.rs"]
mod tests;
