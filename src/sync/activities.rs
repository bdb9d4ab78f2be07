//! Performance activities, read for every current semester, ten semester ids per request
//! (the documented maximum). Activities of those semesters that the answer no longer
//! contains are retired, and so are the activities of retired semesters.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::columns::ColumnBuilder;
use super::context::SyncContext;
use super::convert::i18n::I18nSnake;
use super::convert::time::from_millis;
use super::outcome::StreamOutcome;
use super::partition::read_partitions;
use super::read_mode::ReadMode;
use super::semesters;
use super::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::feishu::{ApiRequest, Endpoint};
use crate::sync_state::Pass;

/// The documented maximum of `semester_ids` per request.
const SEMESTERS_PER_REQUEST: usize = 10;

/// `data` of the activity query.
#[derive(Debug, Deserialize)]
struct ActivityList {
    #[serde(default)]
    activities: Vec<Value>,
}

/// One activity as the API sends it (i18n keys `zh_cn`/`en_us` here).
#[derive(Debug, Deserialize)]
struct WireActivity {
    id: String,
    semester_id: String,
    #[serde(default)]
    name: I18nSnake,
    #[serde(default)]
    description: I18nSnake,
    mode: Option<String>,
    progress: Option<String>,
    create_time: Option<String>,
    modify_time: Option<String>,
    create_user_id: Option<String>,
    modify_user_id: Option<String>,
}

#[derive(Default)]
struct Columns {
    id: Vec<String>,
    semester_id: Vec<String>,
    name_zh: Vec<Option<String>>,
    name_en: Vec<Option<String>>,
    description_zh: Vec<Option<String>>,
    description_en: Vec<Option<String>>,
    mode: Vec<Option<String>>,
    progress: Vec<Option<String>>,
    create_time: Vec<Option<DateTime<Utc>>>,
    modify_time: Vec<Option<DateTime<Utc>>>,
    create_user_id: Vec<Option<String>>,
    modify_user_id: Vec<Option<String>>,
    raw: Vec<Value>,
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let a = WireActivity::deserialize(record).context("activity record")?;
        let time = |v: &Option<String>, field: &str| {
            from_millis(v.as_deref())
                .map_err(|e| anyhow::anyhow!("activity {}: {field}: {e}", a.id))
        };
        let create_time = time(&a.create_time, "create_time")?;
        let modify_time = time(&a.modify_time, "modify_time")?;
        self.create_time.push(create_time);
        self.modify_time.push(modify_time);
        self.semester_id.push(a.semester_id);
        self.name_zh.push(a.name.zh);
        self.name_en.push(a.name.en);
        self.description_zh.push(a.description.zh);
        self.description_en.push(a.description.en);
        self.mode.push(a.mode);
        self.progress.push(a.progress);
        self.create_user_id.push(a.create_user_id);
        self.modify_user_id.push(a.modify_user_id);
        self.id.push(a.id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

/// Writes one batch of semesters' activities.
struct ActivitySink {
    semester_ids: Vec<String>,
    seen: Vec<String>,
}

impl PartitionSink for ActivitySink {
    type Data = ActivityList;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: ActivityList,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = Columns::from_records(data.activities, "id");
        self.seen.extend(c.id.iter().cloned());
        // Unchanged records are skipped by the WHERE guard.
        let written = sqlx::query!(
            r#"INSERT INTO feishu.activities AS t
                   (id, semester_id, name_zh, name_en, description_zh, description_en, mode, progress,
                    create_time, modify_time, create_user_id, modify_user_id, raw)
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[],
                    $13::jsonb[])
               ON CONFLICT (id) DO UPDATE SET
                    semester_id = EXCLUDED.semester_id, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                    description_zh = EXCLUDED.description_zh, description_en = EXCLUDED.description_en,
                    mode = EXCLUDED.mode, progress = EXCLUDED.progress, create_time = EXCLUDED.create_time,
                    modify_time = EXCLUDED.modify_time, create_user_id = EXCLUDED.create_user_id,
                    modify_user_id = EXCLUDED.modify_user_id, raw = EXCLUDED.raw,
                    deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &c.id, &c.semester_id, &c.name_zh as _, &c.name_en as _, &c.description_zh as _,
            &c.description_en as _, &c.mode as _, &c.progress as _, &c.create_time as _,
            &c.modify_time as _, &c.create_user_id as _, &c.modify_user_id as _, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.activities")?;
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
        Ok(Completion {
            watermark: None,
            partitions: Some(self.semester_ids.clone()),
        })
    }

    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let retired = sqlx::query!(
            "UPDATE feishu.activities SET deleted_at = now(), synced_at = now()
              WHERE deleted_at IS NULL AND semester_id = ANY($1::text[])
                AND NOT (id = ANY($2::text[]))",
            &self.semester_ids,
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring activities")?;
        Ok(retired.rows_affected())
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// Reads the activities of every current semester.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let retired = retire_orphans(ctx).await?;
    let semester_ids = semesters::current_ids(&ctx.pool).await?;
    let partitions: Vec<Partition<ActivitySink>> = semester_ids
        .chunks(SEMESTERS_PER_REQUEST)
        .map(|batch| Partition {
            key: batch.join(","),
            request: ApiRequest {
                path: None,
                endpoint: Endpoint::Activities,
                query: Vec::new(),
                body: Some(serde_json::json!({ "semester_ids": batch })),
            },
            sink: ActivitySink {
                semester_ids: batch.to_vec(),
                seen: Vec::new(),
            },
        })
        .collect();
    let mut outcome = read_partitions(ctx, mode, partitions, 2).await;
    outcome.counts.rows_retired += retired;
    Ok(outcome)
}

/// Activities whose semester was retired are retired too: nothing will read them again.
async fn retire_orphans(ctx: &SyncContext) -> anyhow::Result<u64> {
    let retired = sqlx::query!(
        "UPDATE feishu.activities a SET deleted_at = now(), synced_at = now()
           FROM feishu.semesters s
          WHERE a.semester_id = s.id AND a.deleted_at IS NULL AND s.deleted_at IS NOT NULL"
    )
    .execute(&ctx.pool)
    .await
    .context("retiring activities of retired semesters")?;
    Ok(retired.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The response example of the activity document, verbatim.
    const DOC_EXAMPLE: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "activities": [
            {
                "id": "7343513161666707459",
                "name": {
                    "zh_cn": "项目一",
                    "en_us": "Activity 1"
                },
                "description": {
                    "zh_cn": "体验",
                    "en_us": "Interactive experience"
                },
                "semester_id": "7343513161666707459",
                "mode": "performance_review",
                "progress": "configurable",
                "create_time": "1691951256000",
                "modify_time": "1691951256000",
                "create_user_id": "6924187793321444877",
                "modify_user_id": "6924187793321444877"
            }
        ]
    }
}"#;

    #[test]
    fn document_example_maps_to_typed_columns() {
        let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
        let list = ActivityList::deserialize(&envelope["data"]).unwrap();
        let (c, rejected) = Columns::from_records(list.activities, "id");
        assert_eq!(rejected, []);
        assert_eq!(c.id, ["7343513161666707459"]);
        assert_eq!(c.semester_id, ["7343513161666707459"]);
        assert_eq!(c.name_zh[0].as_deref(), Some("项目一"));
        assert_eq!(c.name_en[0].as_deref(), Some("Activity 1"));
        assert_eq!(c.description_zh[0].as_deref(), Some("体验"));
        assert_eq!(
            c.description_en[0].as_deref(),
            Some("Interactive experience")
        );
        assert_eq!(c.mode[0].as_deref(), Some("performance_review"));
        assert_eq!(c.create_time[0].unwrap().timestamp_millis(), 1691951256000);
        assert_eq!(c.create_user_id[0].as_deref(), Some("6924187793321444877"));
    }

    proptest::proptest! {
        /// Any JSON gives a row or an error, never a panic.
        #[test]
        fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
            let _ = ActivityList::deserialize(&record);
            let _ = Columns::default().push(&record);
        }
    }
}
