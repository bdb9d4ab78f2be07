//! The review-data answer flattened into rows: reviewee → stage → record (one per
//! reviewer) → unit → item. A stage becomes a `review_stages` row, each item a
//! `review_items` row keyed by its stage, record, unit, field and reviewer.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::wire::{WireUser, id_text, number, opt_id_text, opt_text};
use crate::feishu::UserIdType;
use crate::sync::convert::time::from_millis;
use crate::sync::rejects::RejectedRecord;

/// `data` of a review-data answer.
#[derive(Debug, Deserialize)]
pub(super) struct ReviewDataAnswer {
    #[serde(default)]
    pub(super) datas: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireProfile {
    #[serde(default)]
    user_id: WireUser,
    #[serde(deserialize_with = "id_text")]
    semester_id: String,
    #[serde(default, deserialize_with = "opt_id_text")]
    activity_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_text")]
    review_template_id: Option<String>,
    #[serde(default)]
    stages: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireStage {
    #[serde(deserialize_with = "id_text")]
    stage_id: String,
    stage_type: Option<String>,
    #[serde(default)]
    review_stage_roles: Vec<String>,
    #[serde(default, deserialize_with = "opt_id_text")]
    template_id: Option<String>,
    #[serde(default)]
    records: Vec<WireRecord>,
    review_stage_role: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireRecord {
    progress: Option<i32>,
    #[serde(default)]
    units: Vec<WireUnit>,
    invited_review_record_info: Option<WireInvited>,
    #[serde(default, deserialize_with = "opt_id_text")]
    record_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireInvited {
    #[serde(default)]
    reviewer_id: WireUser,
}

#[derive(Debug, Deserialize)]
struct WireUnit {
    #[serde(default, deserialize_with = "opt_id_text")]
    unit_id: Option<String>,
    is_unknown: Option<bool>,
    #[serde(default)]
    data: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireDetail {
    #[serde(deserialize_with = "id_text")]
    field_id: String,
    #[serde(default)]
    reviewer_user_id: Option<WireUser>,
    #[serde(default, deserialize_with = "opt_text")]
    submit_time: Option<String>,
    #[serde(default, deserialize_with = "opt_id_text")]
    indicator_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_text")]
    option_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    score: Option<String>,
    text: Option<String>,
    #[serde(default, deserialize_with = "opt_id_text")]
    tag_based_question_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    perf_coefficient_value: Option<String>,
    leader_review_data_source: Option<String>,
    is_principal_review_item: Option<bool>,
}

/// Column arrays of the stages of one answer.
#[derive(Default)]
pub(super) struct StageColumns {
    pub(super) semester_id: Vec<String>,
    pub(super) reviewee: Vec<String>,
    pub(super) stage_id: Vec<String>,
    pub(super) activity_id: Vec<Option<String>>,
    pub(super) review_template_id: Vec<Option<String>>,
    pub(super) stage_type: Vec<Option<String>>,
    pub(super) role: Vec<Option<String>>,
    /// Each stage's roles as one JSON array (Postgres arrays must be rectangular).
    pub(super) roles: Vec<Value>,
    pub(super) template_id: Vec<Option<String>>,
    pub(super) raw: Vec<Value>,
}

/// Column arrays of the items of one answer.
#[derive(Default)]
pub(super) struct ItemColumns {
    pub(super) semester_id: Vec<String>,
    pub(super) reviewee: Vec<String>,
    pub(super) stage_id: Vec<String>,
    pub(super) record_id: Vec<String>,
    pub(super) unit_id: Vec<String>,
    pub(super) field_id: Vec<String>,
    pub(super) reviewer: Vec<String>,
    pub(super) progress: Vec<Option<i32>>,
    pub(super) is_unknown: Vec<Option<bool>>,
    pub(super) indicator_id: Vec<Option<String>>,
    pub(super) option_id: Vec<Option<String>>,
    pub(super) score: Vec<Option<f64>>,
    pub(super) text: Vec<Option<String>>,
    pub(super) question_id: Vec<Option<String>>,
    pub(super) coefficient: Vec<Option<String>>,
    pub(super) source: Vec<Option<String>>,
    pub(super) principal: Vec<Option<bool>>,
    pub(super) submit_time: Vec<Option<DateTime<Utc>>>,
    pub(super) raw: Vec<Value>,
}

/// The key of one item row.
pub(super) type ItemKey = [String; 7];

impl ItemColumns {
    /// The key of row `i`.
    pub(super) fn key(&self, i: usize) -> ItemKey {
        [
            self.semester_id[i].clone(),
            self.reviewee[i].clone(),
            self.stage_id[i].clone(),
            self.record_id[i].clone(),
            self.unit_id[i].clone(),
            self.field_id[i].clone(),
            self.reviewer[i].clone(),
        ]
    }
}

/// The rows of one answer, and the profiles that could not be mapped (each rejected
/// whole, so a stage is never half written). A key repeated in the answer keeps its
/// first row.
pub(super) fn rows(
    profiles: Vec<Value>,
    user_id_type: UserIdType,
) -> (StageColumns, ItemColumns, Vec<RejectedRecord>) {
    let (mut stages, mut items) = (StageColumns::default(), ItemColumns::default());
    let (mut seen_stages, mut seen_items) = (HashSet::new(), HashSet::new());
    let mut rejected = Vec::new();
    for raw in profiles {
        let mut s = StageColumns::default();
        let mut i = ItemColumns::default();
        match profile_rows(&raw, user_id_type, &mut s, &mut i) {
            Ok(()) => {}
            Err(error) => {
                let key = raw
                    .get("semester_id")
                    .map(|v| v.to_string().trim_matches('"').to_string());
                let reason = format!("{error:#}");
                rejected.push(RejectedRecord { key, reason, raw });
                continue;
            }
        }
        for n in 0..s.stage_id.len() {
            let key = (
                s.semester_id[n].clone(),
                s.reviewee[n].clone(),
                s.stage_id[n].clone(),
            );
            if seen_stages.insert(key) {
                stages.push_from(&s, n);
            }
        }
        for n in 0..i.field_id.len() {
            if seen_items.insert(i.key(n)) {
                items.push_from(&i, n);
            }
        }
    }
    (stages, items, rejected)
}

/// Maps one profile into `s` and `i`; nothing of it is kept when this fails.
fn profile_rows(
    raw: &Value,
    user_id_type: UserIdType,
    s: &mut StageColumns,
    i: &mut ItemColumns,
) -> anyhow::Result<()> {
    let profile = WireProfile::deserialize(raw).context("review data record")?;
    let reviewee = profile
        .user_id
        .id(user_id_type)
        .with_context(|| format!("review data without a reviewee {user_id_type}"))?;
    for raw_stage in &profile.stages {
        let stage = WireStage::deserialize(raw_stage).context("review stage")?;
        stage_items(&stage, &profile.semester_id, &reviewee, user_id_type, i)?;
        s.semester_id.push(profile.semester_id.clone());
        s.reviewee.push(reviewee.clone());
        s.activity_id.push(profile.activity_id.clone());
        s.review_template_id
            .push(profile.review_template_id.clone());
        s.stage_type.push(stage.stage_type);
        s.role.push(stage.review_stage_role);
        s.roles.push(Value::from(stage.review_stage_roles));
        s.template_id.push(stage.template_id);
        s.raw.push(raw_stage.clone());
        s.stage_id.push(stage.stage_id);
    }
    Ok(())
}

/// Maps the review items of one stage into `i`; the stage's own row is `profile_rows`' part,
/// so each function walks one level of the profile → stage → record → unit → item tree.
fn stage_items(
    stage: &WireStage,
    semester_id: &str,
    reviewee: &str,
    user_id_type: UserIdType,
    i: &mut ItemColumns,
) -> anyhow::Result<()> {
    for record in &stage.records {
        let invited = record.invited_review_record_info.as_ref();
        let record_reviewer = invited.and_then(|r| r.reviewer_id.id(user_id_type));
        for unit in &record.units {
            for raw_detail in &unit.data {
                let d = WireDetail::deserialize(raw_detail).context("review item")?;
                let submit_time = from_millis(d.submit_time.as_deref())
                    .map_err(|e| anyhow::anyhow!("review item {}: submit_time: {e}", d.field_id))?;
                let reviewer = d.reviewer_user_id.as_ref().and_then(|u| u.id(user_id_type));
                i.semester_id.push(semester_id.to_owned());
                i.reviewee.push(reviewee.to_owned());
                i.stage_id.push(stage.stage_id.clone());
                i.record_id
                    .push(record.record_id.clone().unwrap_or_default());
                i.unit_id.push(unit.unit_id.clone().unwrap_or_default());
                i.reviewer.push(
                    reviewer
                        .or_else(|| record_reviewer.clone())
                        .unwrap_or_default(),
                );
                i.progress.push(record.progress);
                i.is_unknown.push(unit.is_unknown);
                i.indicator_id.push(d.indicator_id);
                i.option_id.push(d.option_id);
                i.score.push(number(d.score.as_deref()));
                i.text.push(d.text);
                i.question_id.push(d.tag_based_question_id);
                i.coefficient.push(d.perf_coefficient_value);
                i.source.push(d.leader_review_data_source);
                i.principal.push(d.is_principal_review_item);
                i.submit_time.push(submit_time);
                i.raw.push(raw_detail.clone());
                i.field_id.push(d.field_id);
            }
        }
    }
    Ok(())
}

impl StageColumns {
    fn push_from(&mut self, o: &StageColumns, n: usize) {
        self.semester_id.push(o.semester_id[n].clone());
        self.reviewee.push(o.reviewee[n].clone());
        self.stage_id.push(o.stage_id[n].clone());
        self.activity_id.push(o.activity_id[n].clone());
        self.review_template_id
            .push(o.review_template_id[n].clone());
        self.stage_type.push(o.stage_type[n].clone());
        self.role.push(o.role[n].clone());
        self.roles.push(o.roles[n].clone());
        self.template_id.push(o.template_id[n].clone());
        self.raw.push(o.raw[n].clone());
    }
}

impl ItemColumns {
    fn push_from(&mut self, o: &ItemColumns, n: usize) {
        self.semester_id.push(o.semester_id[n].clone());
        self.reviewee.push(o.reviewee[n].clone());
        self.stage_id.push(o.stage_id[n].clone());
        self.record_id.push(o.record_id[n].clone());
        self.unit_id.push(o.unit_id[n].clone());
        self.field_id.push(o.field_id[n].clone());
        self.reviewer.push(o.reviewer[n].clone());
        self.progress.push(o.progress[n]);
        self.is_unknown.push(o.is_unknown[n]);
        self.indicator_id.push(o.indicator_id[n].clone());
        self.option_id.push(o.option_id[n].clone());
        self.score.push(o.score[n]);
        self.text.push(o.text[n].clone());
        self.question_id.push(o.question_id[n].clone());
        self.coefficient.push(o.coefficient[n].clone());
        self.source.push(o.source[n].clone());
        self.principal.push(o.principal[n]);
        self.submit_time.push(o.submit_time[n]);
        self.raw.push(o.raw[n].clone());
    }
}
