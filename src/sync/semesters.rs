//! Performance semesters: the whole list on every pass (the endpoint has no paging and no
//! change filter). Semesters the list no longer contains are retired.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::columns::ColumnBuilder;
use super::context::SyncContext;
use super::convert::i18n::I18nDashed;
use super::convert::time::from_millis;
use super::outcome::StreamOutcome;
use super::partition::read_partitions;
use super::read_mode::ReadMode;
use super::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::feishu::{ApiRequest, Endpoint};
use crate::sync_state::{self, Pass};

/// `data` of the semester list.
#[derive(Debug, Deserialize)]
struct SemesterList {
    #[serde(default)]
    items: Vec<Value>,
}

/// One semester as the API sends it.
#[derive(Debug, Deserialize)]
struct WireSemester {
    id: String,
    year: Option<i32>,
    type_group: Option<String>,
    r#type: Option<String>,
    #[serde(default)]
    name: I18nDashed,
    progress: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    create_time: Option<String>,
    modify_time: Option<String>,
    create_user_id: Option<String>,
    modify_user_id: Option<String>,
}

/// Column arrays for one batch upsert.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    year: Vec<Option<i32>>,
    type_group: Vec<Option<String>>,
    r#type: Vec<Option<String>>,
    name_zh: Vec<Option<String>>,
    name_en: Vec<Option<String>>,
    progress: Vec<Option<String>>,
    start_time: Vec<Option<DateTime<Utc>>>,
    end_time: Vec<Option<DateTime<Utc>>>,
    create_time: Vec<Option<DateTime<Utc>>>,
    modify_time: Vec<Option<DateTime<Utc>>>,
    create_user_id: Vec<Option<String>>,
    modify_user_id: Vec<Option<String>>,
    raw: Vec<Value>,
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let s = WireSemester::deserialize(record).context("semester record")?;
        let time = |v: &Option<String>, field: &str| {
            from_millis(v.as_deref())
                .map_err(|e| anyhow::anyhow!("semester {}: {field}: {e}", s.id))
        };
        let start_time = time(&s.start_time, "start_time")?;
        let end_time = time(&s.end_time, "end_time")?;
        let create_time = time(&s.create_time, "create_time")?;
        let modify_time = time(&s.modify_time, "modify_time")?;
        self.start_time.push(start_time);
        self.end_time.push(end_time);
        self.create_time.push(create_time);
        self.modify_time.push(modify_time);
        self.year.push(s.year);
        self.type_group.push(s.type_group);
        self.r#type.push(s.r#type);
        self.name_zh.push(s.name.zh);
        self.name_en.push(s.name.en);
        self.progress.push(s.progress);
        self.create_user_id.push(s.create_user_id);
        self.modify_user_id.push(s.modify_user_id);
        self.id.push(s.id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

/// Writes the list and retires semesters missing from it.
#[derive(Default)]
struct SemesterSink {
    seen: Vec<String>,
}

impl PartitionSink for SemesterSink {
    type Data = SemesterList;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: SemesterList,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = Columns::from_records(data.items, "id");
        self.seen.extend(c.id.iter().cloned());
        // Insert new semesters; update a known one only when its record changed (or it
        // had been retired), so an unchanged list rewrites nothing.
        let written = sqlx::query!(
            r#"INSERT INTO feishu.semesters AS t
                   (id, year, type_group, type, name_zh, name_en, progress, start_time, end_time,
                    create_time, modify_time, create_user_id, modify_user_id, raw)
               SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                    $11::timestamptz[], $12::text[], $13::text[], $14::jsonb[])
               ON CONFLICT (id) DO UPDATE SET
                    year = EXCLUDED.year, type_group = EXCLUDED.type_group, type = EXCLUDED.type,
                    name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, progress = EXCLUDED.progress,
                    start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,
                    create_time = EXCLUDED.create_time, modify_time = EXCLUDED.modify_time,
                    create_user_id = EXCLUDED.create_user_id, modify_user_id = EXCLUDED.modify_user_id,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &c.id, &c.year as _, &c.type_group as _, &c.r#type as _, &c.name_zh as _, &c.name_en as _,
            &c.progress as _, &c.start_time as _, &c.end_time as _, &c.create_time as _,
            &c.modify_time as _, &c.create_user_id as _, &c.modify_user_id as _, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.semesters")?;
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

    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let retired = sqlx::query_scalar!(
            "UPDATE feishu.semesters SET deleted_at = now(), synced_at = now()
              WHERE deleted_at IS NULL AND NOT (id = ANY($1::text[])) RETURNING id",
            &self.seen
        )
        .fetch_all(&mut *tx)
        .await
        .context("retiring semesters")?;
        // A retired semester's children forget their watermarks: should it come back, it
        // is read whole again and every child row it still has becomes current.
        let children = [
            Endpoint::Activities,
            Endpoint::StageTasks,
            Endpoint::Reviewees,
            Endpoint::ReviewData,
        ];
        sync_state::forget_partitions(tx, &children, &retired).await?;
        Ok(retired.len() as u64)
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// Ids of the semesters currently present, for the streams that read per semester.
pub async fn current_ids(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT id FROM feishu.semesters WHERE deleted_at IS NULL ORDER BY id")
        .fetch_all(pool)
        .await
        .context("listing current semesters")
}

/// Reads every semester.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let request = ApiRequest {
        path: None,
        endpoint: Endpoint::Semesters,
        query: Vec::new(),
        body: None,
    };
    let partition = Partition {
        key: String::new(),
        request,
        sink: SemesterSink::default(),
    };
    Ok(read_partitions(ctx, mode, [partition], 1).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The response example of the semester document, verbatim.
    const DOC_EXAMPLE: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "items": [
            {
                "id": "6992035450862224940",
                "year": 2024,
                "type_group": "Quarter",
                "type": "Q1",
                "name": {
                    "zh-CN": "2024 全年绩效周期",
                    "en-US": "2024 full year semester"
                },
                "progress": "enabled",
                "start_time": "1625068800000",
                "end_time": "1640966399999",
                "create_time": "1625068800000",
                "modify_time": "1625068800000",
                "create_user_id": "ou_ce613028fe74745421f5dc320bb9c709",
                "modify_user_id": "ou_ce613028fe74745421f5dc320bb9c709"
            }
        ]
    }
}"#;

    #[test]
    fn document_example_maps_to_typed_columns() {
        let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
        let list = SemesterList::deserialize(&envelope["data"]).unwrap();
        let (c, rejected) = Columns::from_records(list.items, "id");
        assert_eq!(rejected, []);
        assert_eq!(c.id, ["6992035450862224940"]);
        assert_eq!(c.year, [Some(2024)]);
        assert_eq!(c.r#type[0].as_deref(), Some("Q1"));
        assert_eq!(c.name_zh[0].as_deref(), Some("2024 全年绩效周期"));
        assert_eq!(c.name_en[0].as_deref(), Some("2024 full year semester"));
        assert_eq!(c.start_time[0].unwrap().timestamp_millis(), 1625068800000);
        assert_eq!(c.end_time[0].unwrap().timestamp_millis(), 1640966399999);
        assert_eq!(
            c.modify_user_id[0].as_deref(),
            Some("ou_ce613028fe74745421f5dc320bb9c709")
        );
        assert_eq!(c.raw[0]["progress"], "enabled");
    }

    proptest::proptest! {
        /// Any JSON gives a row or an error, never a panic.
        #[test]
        fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
            let _ = SemesterList::deserialize(&record);
            let _ = Columns::default().push(&record);
        }
    }
}
