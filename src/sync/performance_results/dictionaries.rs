//! The two small dictionaries the results need: indicators with their level options (what
//! a review item's `option_id` means: its code, spelt `lable` by the API, and name) and
//! metric fields (which field of a metric is its target and which its actual value). Each
//! is read whole on every pass; what a complete list no longer holds is retired.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::wire::id_text;
use crate::feishu::{ApiRequest, Endpoint};
use crate::sync::context::SyncContext;
use crate::sync::convert::i18n::I18nSnake;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::read_partitions;
use crate::sync::read_mode::ReadMode;
use crate::sync::rejects::RejectedRecord;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::sync_state::Pass;

/// `data` of one indicator page.
#[derive(Debug, Deserialize)]
struct IndicatorPage {
    #[serde(default)]
    indicators: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireIndicator {
    #[serde(deserialize_with = "id_text")]
    id: String,
    #[serde(default)]
    name: I18nSnake,
    r#type: Option<String>,
    #[serde(default)]
    options: Vec<WireOption>,
}

#[derive(Debug, Deserialize)]
struct WireOption {
    #[serde(deserialize_with = "id_text")]
    id: String,
    #[serde(default)]
    name: I18nSnake,
    /// The document's spelling.
    lable: Option<String>,
}

/// Column arrays of a page of indicators and of their options.
#[derive(Default)]
struct IndicatorColumns {
    id: Vec<String>,
    name_zh: Vec<Option<String>>,
    name_en: Vec<Option<String>>,
    r#type: Vec<Option<String>>,
    raw: Vec<Value>,
    option_indicator: Vec<String>,
    option_id: Vec<String>,
    option_label: Vec<Option<String>>,
    option_zh: Vec<Option<String>>,
    option_en: Vec<Option<String>>,
    option_raw: Vec<Value>,
}

impl IndicatorColumns {
    fn from_records(records: Vec<Value>) -> (Self, Vec<RejectedRecord>) {
        let mut c = IndicatorColumns::default();
        let mut rejected = Vec::new();
        for raw in records {
            let indicator = match WireIndicator::deserialize(&raw).context("indicator record") {
                Ok(indicator) => indicator,
                Err(error) => {
                    let key = raw.get("id").and_then(Value::as_str).map(str::to_string);
                    let reason = format!("{error:#}");
                    rejected.push(RejectedRecord { key, reason, raw });
                    continue;
                }
            };
            if c.id.contains(&indicator.id) {
                continue; // a repeat on one page: the first answer stands
            }
            let options = raw.get("options").and_then(Value::as_array).cloned();
            for (option, raw_option) in indicator
                .options
                .into_iter()
                .zip(options.unwrap_or_default())
            {
                if c.option_indicator
                    .iter()
                    .zip(&c.option_id)
                    .any(|(i, o)| *i == indicator.id && *o == option.id)
                {
                    continue;
                }
                c.option_indicator.push(indicator.id.clone());
                c.option_id.push(option.id);
                c.option_label.push(option.lable);
                c.option_zh.push(option.name.zh);
                c.option_en.push(option.name.en);
                c.option_raw.push(raw_option);
            }
            c.id.push(indicator.id);
            c.name_zh.push(indicator.name.zh);
            c.name_en.push(indicator.name.en);
            c.r#type.push(indicator.r#type);
            c.raw.push(raw);
        }
        (c, rejected)
    }
}

/// Writes the indicator pages and retires what a complete list no longer holds.
#[derive(Default)]
struct IndicatorSink {
    seen: Vec<String>,
    seen_options: Vec<(String, String)>,
}

impl PartitionSink for IndicatorSink {
    type Data = IndicatorPage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: IndicatorPage,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = IndicatorColumns::from_records(data.indicators);
        self.seen.extend(c.id.iter().cloned());
        let pairs = c
            .option_indicator
            .iter()
            .cloned()
            .zip(c.option_id.iter().cloned());
        self.seen_options.extend(pairs);
        let indicators = sqlx::query!(
            r#"INSERT INTO feishu.indicators AS t (id, name_zh, name_en, type, raw)
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
               ON CONFLICT (id) DO UPDATE SET
                    name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, type = EXCLUDED.type,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &c.id,
            &c.name_zh as _,
            &c.name_en as _,
            &c.r#type as _,
            &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.indicators")?;
        let options = sqlx::query!(
            r#"INSERT INTO feishu.indicator_options AS t (indicator_id, option_id, label, name_zh, name_en, raw)
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
               ON CONFLICT (indicator_id, option_id) DO UPDATE SET
                    label = EXCLUDED.label, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &c.option_indicator, &c.option_id, &c.option_label as _, &c.option_zh as _,
            &c.option_en as _, &c.option_raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.indicator_options")?;
        Ok(PageWrite {
            written: indicators.rows_affected() + options.rows_affected(),
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

    /// A fresh, clean list: indicators and levels it no longer holds are gone.
    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let (indicators, options): (Vec<String>, Vec<String>) =
            self.seen_options.iter().cloned().unzip();
        let retired_options = sqlx::query!(
            "UPDATE feishu.indicator_options o SET deleted_at = now(), synced_at = now()
              WHERE o.deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM UNNEST($1::text[], $2::text[]) AS s(i, o)
                                 WHERE s.i = o.indicator_id AND s.o = o.option_id)",
            &indicators,
            &options
        )
        .execute(&mut *tx)
        .await
        .context("retiring indicator options")?;
        let retired = sqlx::query!(
            "UPDATE feishu.indicators SET deleted_at = now(), synced_at = now()
              WHERE deleted_at IS NULL AND NOT (id = ANY($1::text[]))",
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring indicators")?;
        Ok(retired.rows_affected() + retired_options.rows_affected())
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// Reads every indicator (no `indicator_ids`: the document's "all").
pub async fn read_indicators(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let mut request = ApiRequest::new(Endpoint::Indicators);
    request.body = Some(serde_json::json!({}));
    let partition = Partition {
        key: String::new(),
        request,
        sink: IndicatorSink::default(),
    };
    Ok(read_partitions(ctx, mode, [partition], 1).await)
}

/// `data` of the metric-field list.
#[derive(Debug, Deserialize)]
struct MetricFieldList {
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireMetricField {
    #[serde(deserialize_with = "id_text")]
    field_id: String,
    #[serde(default)]
    name: I18nSnake,
    r#type: Option<String>,
}

/// Writes the metric-field list and retires fields it no longer holds.
#[derive(Default)]
struct MetricFieldSink {
    seen: Vec<String>,
}

impl PartitionSink for MetricFieldSink {
    type Data = MetricFieldList;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: MetricFieldList,
    ) -> anyhow::Result<PageWrite> {
        let (mut id, mut zh, mut en, mut kind, mut raws) = (vec![], vec![], vec![], vec![], vec![]);
        let mut rejected = Vec::new();
        for raw in data.items {
            match WireMetricField::deserialize(&raw).context("metric field record") {
                Ok(f) if !id.contains(&f.field_id) => {
                    id.push(f.field_id);
                    zh.push(f.name.zh);
                    en.push(f.name.en);
                    kind.push(f.r#type);
                    raws.push(raw);
                }
                Ok(_) => {}
                Err(error) => rejected.push(RejectedRecord {
                    key: raw.get("field_id").map(|v| v.to_string()),
                    reason: format!("{error:#}"),
                    raw,
                }),
            }
        }
        self.seen.extend(id.iter().cloned());
        let written = sqlx::query!(
            r#"INSERT INTO feishu.metric_fields AS t (field_id, name_zh, name_en, type, raw)
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
               ON CONFLICT (field_id) DO UPDATE SET
                    name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, type = EXCLUDED.type,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &id,
            &zh as _,
            &en as _,
            &kind as _,
            &raws
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.metric_fields")?;
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

    /// A fresh, clean list: fields it no longer holds are gone.
    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let retired = sqlx::query!(
            "UPDATE feishu.metric_fields SET deleted_at = now(), synced_at = now()
              WHERE deleted_at IS NULL AND NOT (field_id = ANY($1::text[]))",
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring metric fields")?;
        Ok(retired.rows_affected())
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// Reads every metric field (no `field_ids`: the document's "all").
pub async fn read_metric_fields(
    ctx: &SyncContext,
    mode: &ReadMode,
) -> anyhow::Result<StreamOutcome> {
    let mut request = ApiRequest::new(Endpoint::MetricFields);
    request.body = Some(serde_json::json!({}));
    let partition = Partition {
        key: String::new(),
        request,
        sink: MetricFieldSink::default(),
    };
    Ok(read_partitions(ctx, mode, [partition], 1).await)
}

#[cfg(test)]
#[path = "dictionaries_tests.rs"]
mod tests;
