//! The `departments` stream: every department below the root (one paged read with
//! `fetch_child=true`), or, for a partial contact range, below each granted department plus
//! the granted departments' own records. A department with too many below it refuses the
//! recursive read (43010); its subtree is then walked one level at a time.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::{ROOT, SharedSeen, contact_range, department_id_type, read_granted, root_refused};
use crate::db::RunCounts;
use crate::feishu::{ApiRequest, Endpoint};
use crate::sync::columns::ColumnBuilder;
use crate::sync::context::SyncContext;
use crate::sync::convert::i18n::I18nSnake;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::StreamPass;
use crate::sync::read_mode::ReadMode;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink, PassSink};
use crate::sync_state::Pass;
use feishu_endpoints::{DEPARTMENT_PATH, fill_path};

/// `data` of a children page.
#[derive(Debug, Deserialize)]
pub(super) struct DepartmentPage {
    #[serde(default)]
    pub(super) items: Vec<Value>,
}

/// One department as the API sends it. Fields the app has no scope for are absent.
#[derive(Debug, Deserialize)]
struct WireDepartment {
    open_department_id: String,
    department_id: Option<String>,
    parent_department_id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    i18n_name: I18nSnake,
    leader_user_id: Option<String>,
    member_count: Option<i32>,
    primary_member_count: Option<i32>,
    /// A numeric string in the documents; a number is taken too.
    order: Option<Value>,
    leaders: Option<Vec<WireLeader>>,
}

/// One of `leaders`: `leaderType` 1 is a main leader, 2 a deputy.
#[derive(Debug, Deserialize)]
struct WireLeader {
    #[serde(rename = "leaderType")]
    leader_type: Option<i32>,
    #[serde(rename = "leaderID")]
    leader_id: Option<String>,
}

/// The main (type 1) and deputy (type 2) leaders' ids, or `None` when `leaders` is absent.
fn leaders_of(leaders: &Option<Vec<WireLeader>>, leader_type: i32) -> Option<Vec<String>> {
    let leaders = leaders.as_ref()?;
    Some(
        leaders
            .iter()
            .filter(|l| l.leader_type == Some(leader_type))
            .filter_map(|l| l.leader_id.clone())
            .collect(),
    )
}

/// `order`, a numeric string (or number); empty is `None`.
fn sort_order(order: Option<Value>) -> anyhow::Result<Option<i64>> {
    match order {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.parse()
                .with_context(|| format!("order {s:?} is not a number"))?,
        )),
        Some(Value::Number(n)) => Ok(Some(n.as_i64().context("order is not an integer")?)),
        Some(other) => anyhow::bail!("order {other} is not a number"),
    }
}

/// Column arrays for one batch upsert.
#[derive(Default)]
pub(super) struct Columns {
    pub(super) id: Vec<String>,
    pub(super) department_id: Vec<Option<String>>,
    pub(super) parent_id: Vec<Option<String>>,
    pub(super) name: Vec<Option<String>>,
    pub(super) name_zh: Vec<Option<String>>,
    pub(super) name_en: Vec<Option<String>>,
    pub(super) leader_user_id: Vec<Option<String>>,
    pub(super) member_count: Vec<Option<i32>>,
    pub(super) primary_member_count: Vec<Option<i32>>,
    pub(super) sort_order: Vec<Option<i64>>,
    /// Each a JSON array of ids, or null (see the upsert).
    pub(super) leader_user_ids: Vec<Value>,
    pub(super) deputy_leader_user_ids: Vec<Value>,
    pub(super) raw: Vec<Value>,
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let d = WireDepartment::deserialize(record).context("department record")?;
        let order = sort_order(d.order)?;
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let as_json = |ids: Option<Vec<String>>| ids.map_or(Value::Null, Value::from);
        self.leader_user_ids
            .push(as_json(leaders_of(&d.leaders, 1)));
        self.deputy_leader_user_ids
            .push(as_json(leaders_of(&d.leaders, 2)));
        self.primary_member_count.push(d.primary_member_count);
        self.sort_order.push(order);
        self.department_id.push(non_empty(d.department_id));
        self.parent_id.push(non_empty(d.parent_department_id));
        self.name.push(d.name);
        self.name_zh.push(d.i18n_name.zh);
        self.name_en.push(d.i18n_name.en);
        self.leader_user_id.push(non_empty(d.leader_user_id));
        self.member_count.push(d.member_count);
        self.id.push(d.open_department_id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

/// Upserts department records, in id order so concurrent pages lock rows in one order.
pub(super) async fn upsert(
    tx: &mut PgConnection,
    mut records: Vec<Value>,
) -> anyhow::Result<PageWrite> {
    records.sort_by(|a, b| {
        let id = |v: &Value| {
            v.get("open_department_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        id(a).cmp(&id(b))
    });
    let (c, rejected) = Columns::from_records(records, "open_department_id");
    // New departments are inserted; a known one is updated only when its record changed
    // (or it had been retired), so an unchanged directory rewrites nothing.
    let written = sqlx::query!(
        r#"INSERT INTO feishu.departments AS t
               (id, department_id, parent_id, name, name_zh, name_en, leader_user_id, member_count,
                primary_member_count, sort_order, leader_user_ids, deputy_leader_user_ids, raw)
           SELECT d.id, d.department_id, d.parent_id, d.name, d.name_zh, d.name_en, d.leader_user_id,
                d.member_count, d.primary_member_count, d.sort_order,
                CASE WHEN jsonb_typeof(d.leaders) = 'array'
                     THEN ARRAY(SELECT jsonb_array_elements_text(d.leaders)) END,
                CASE WHEN jsonb_typeof(d.deputies) = 'array'
                     THEN ARRAY(SELECT jsonb_array_elements_text(d.deputies)) END,
                d.raw
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::int4[], $9::int4[], $10::int8[], $11::jsonb[], $12::jsonb[],
                $13::jsonb[])
               AS d(id, department_id, parent_id, name, name_zh, name_en, leader_user_id,
                    member_count, primary_member_count, sort_order, leaders, deputies, raw)
           ON CONFLICT (id) DO UPDATE SET
                department_id = EXCLUDED.department_id, parent_id = EXCLUDED.parent_id,
                name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                leader_user_id = EXCLUDED.leader_user_id, member_count = EXCLUDED.member_count,
                primary_member_count = EXCLUDED.primary_member_count,
                sort_order = EXCLUDED.sort_order, leader_user_ids = EXCLUDED.leader_user_ids,
                deputy_leader_user_ids = EXCLUDED.deputy_leader_user_ids,
                raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
           WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
        &c.id, &c.department_id as _, &c.parent_id as _, &c.name as _, &c.name_zh as _,
        &c.name_en as _, &c.leader_user_id as _, &c.member_count as _,
        &c.primary_member_count as _, &c.sort_order as _, &c.leader_user_ids,
        &c.deputy_leader_user_ids, &c.raw
    )
    .execute(&mut *tx)
    .await
    .context("upserting feishu.departments")?;
    Ok(PageWrite {
        written: written.rows_affected(),
        rejected,
    })
}

/// Writes the departments below one department and notes which it saw.
struct DepartmentSink {
    seen: SharedSeen,
    /// For a one-level listing: collects the children, to be read in turn.
    children: Option<Arc<Mutex<Vec<String>>>>,
}

impl PartitionSink for DepartmentSink {
    type Data = DepartmentPage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: DepartmentPage,
    ) -> anyhow::Result<PageWrite> {
        let ids = data
            .items
            .iter()
            .filter_map(|d| d.get("open_department_id").and_then(Value::as_str))
            .map(str::to_owned);
        let ids: Vec<String> = ids.collect();
        if let Some(children) = &self.children {
            children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(ids.iter().cloned());
        }
        self.seen.lock().ids.extend(ids);
        upsert(tx, data.items).await
    }

    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        _pass: &Pass,
    ) -> anyhow::Result<Completion> {
        Ok(Completion::default())
    }

    /// The stream retires once, at the end of the whole pass (see [`Unseen`]).
    async fn retire(&mut self, _tx: &mut PgConnection) -> anyhow::Result<u64> {
        Ok(0)
    }

    fn listed(&self) -> usize {
        0
    }
}

/// Every level below `department`.
fn below(department: &str, seen: &SharedSeen) -> Partition<DepartmentSink> {
    let mut request = ApiRequest::new(Endpoint::Departments);
    request.path = Some(fill_path(Endpoint::Departments.path(), department));
    request.query = department_id_type();
    request.query.push(("fetch_child".into(), "true".into()));
    Partition {
        key: department.to_string(),
        request,
        sink: DepartmentSink {
            seen: seen.clone(),
            children: None,
        },
    }
}

/// The direct children of `department` (`fetch_child=false`), collected into `children`.
fn one_level(
    department: &str,
    seen: &SharedSeen,
    children: &Arc<Mutex<Vec<String>>>,
) -> Partition<DepartmentSink> {
    let mut partition = below(department, seen);
    partition.key = format!("{department}:children");
    partition.request.query.retain(|(k, _)| k != "fetch_child");
    partition
        .request
        .query
        .push(("fetch_child".into(), "false".into()));
    partition.sink.children = Some(children.clone());
    partition
}

/// Departments that refused a recursive read (43010) are walked one level at a time:
/// their direct children in one listing each, then each child read recursively (a child
/// that refuses too is walked the same way). The pass stays complete.
async fn walk_refused_subtrees(pass: &mut StreamPass<'_>, seen: &SharedSeen) {
    loop {
        let refused = std::mem::take(&mut pass.outcome.recursion_refused);
        if refused.is_empty() {
            return;
        }
        let children = Arc::new(Mutex::new(Vec::new()));
        let levels: Vec<_> = refused
            .iter()
            .map(|d| one_level(d, seen, &children))
            .collect();
        pass.read(levels, 2).await;
        let children = std::mem::take(&mut *children.lock().unwrap_or_else(|e| e.into_inner()));
        let partitions: Vec<_> = children.iter().map(|d| below(d, seen)).collect();
        pass.read(partitions, 2).await;
    }
}

/// Reads the directory's departments; the reader's end of the pass retires those a
/// complete pass no longer saw.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let seen = SharedSeen::default();
    let mut pass = StreamPass::begin(ctx, mode, Endpoint::Departments);
    pass.read([below(ROOT, &seen)], 1).await;
    if root_refused(&mut pass.outcome) {
        let range = contact_range(ctx, Endpoint::Departments).await?;
        let (counts, refused) = granted_departments(ctx, &range.departments, &seen).await?;
        pass.outcome.counts.add(counts);
        pass.outcome.refused.extend(refused);
        let partitions: Vec<_> = range.departments.iter().map(|d| below(d, &seen)).collect();
        pass.read(partitions, 2).await;
    }
    walk_refused_subtrees(&mut pass, &seen).await;
    pass.end(Unseen { seen: seen.ids() }).await
}

/// The granted departments' own records, which their children listings do not include,
/// and the granted departments the app may no longer read.
async fn granted_departments(
    ctx: &SyncContext,
    granted: &[String],
    seen: &SharedSeen,
) -> anyhow::Result<(RunCounts, Vec<String>)> {
    let (records, refused) = read_granted(
        ctx,
        Endpoint::Departments,
        DEPARTMENT_PATH,
        granted,
        "department",
    )
    .await?;
    let read = granted.iter().filter(|id| !refused.contains(id)).cloned();
    seen.lock().ids.extend(read);
    let mut tx = ctx.pool.begin().await?;
    let write = upsert(&mut tx, records).await?;
    anyhow::ensure!(
        write.rejected.is_empty(),
        "a granted department's record is malformed: {:?}",
        write.rejected
    );
    tx.commit().await?;
    let counts = RunCounts {
        rows_written: write.written,
        ..RunCounts::default()
    };
    Ok((counts, refused))
}

/// The departments a complete pass did not see, which get `deleted_at`; an empty listing
/// over a non-empty table is refused (see [`crate::sync::retirement`]).
struct Unseen {
    seen: Vec<String>,
}

impl PassSink for Unseen {
    async fn retire(&self, tx: &mut PgConnection) -> anyhow::Result<RunCounts> {
        let retired = sqlx::query!(
            "UPDATE feishu.departments SET deleted_at = now(), synced_at = now()
          WHERE deleted_at IS NULL AND NOT (id = ANY($1::text[]))",
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring departments")?
        .rows_affected();
        Ok(RunCounts {
            rows_retired: retired,
            ..RunCounts::default()
        })
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}
