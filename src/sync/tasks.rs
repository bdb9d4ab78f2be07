//! Task v1 tasks (with a tenant token: the tasks the app created). The watermark is the
//! newest `create_time` a complete pass has seen; the next pass sends
//! `start_create_time` = watermark − lookback (seconds), so it reads only recent tasks.
//! Collaborators and followers are kept in their own tables, replaced per task.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::context::{RunOptions, StreamOutcome, SyncContext};
use super::convert::{ColumnBuilder, I18nSnake, from_seconds};
use super::partition::{Completion, PageWrite, Partition, PartitionSink, read_partitions};
use crate::sync_state::{self, Pass};

use crate::feishu::{ApiRequest, Endpoint};

/// `data` of one page.
#[derive(Debug, Deserialize)]
struct TaskPage {
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireDue {
    time: Option<String>,
    timezone: Option<String>,
    is_all_day: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct WireHref {
    title: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireOrigin {
    #[serde(default)]
    href: WireHref,
    /// A JSON object *inside a string*: `"{\"en_us\":\"IT Workspace\",\"zh_cn\":\"IT 工作台\"}"`.
    platform_i18n_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMember {
    id: String,
}

/// One task as the API sends it.
#[derive(Debug, Deserialize)]
struct WireTask {
    id: String,
    summary: Option<String>,
    description: Option<String>,
    complete_time: Option<String>,
    create_time: Option<String>,
    update_time: Option<String>,
    creator_id: Option<String>,
    extra: Option<String>,
    custom: Option<String>,
    can_edit: Option<bool>,
    source: Option<i32>,
    repeat_rule: Option<String>,
    #[serde(default)]
    due: WireDue,
    #[serde(default)]
    origin: WireOrigin,
    #[serde(default)]
    collaborators: Vec<WireMember>,
    #[serde(default)]
    followers: Vec<WireMember>,
}

#[derive(Default)]
struct Columns {
    id: Vec<String>,
    summary: Vec<Option<String>>,
    description: Vec<Option<String>>,
    creator_id: Vec<Option<String>>,
    create_time: Vec<Option<DateTime<Utc>>>,
    update_time: Vec<Option<DateTime<Utc>>>,
    complete_time: Vec<Option<DateTime<Utc>>>,
    due_time: Vec<Option<DateTime<Utc>>>,
    due_timezone: Vec<Option<String>>,
    due_is_all_day: Vec<Option<bool>>,
    can_edit: Vec<Option<bool>>,
    source: Vec<Option<i32>>,
    repeat_rule: Vec<Option<String>>,
    extra: Vec<Option<String>>,
    custom: Vec<Option<String>>,
    origin_platform_zh: Vec<Option<String>>,
    origin_platform_en: Vec<Option<String>>,
    origin_href_title: Vec<Option<String>>,
    origin_href_url: Vec<Option<String>>,
    raw: Vec<Value>,
    /// One entry per (task, member): role `c`ollaborator or `f`ollower.
    member_role: Vec<String>,
    member_task: Vec<String>,
    member_user: Vec<String>,
}

/// Empty strings mean "not set" in task v1 (`"timezone": ""`, `"href": {}`).
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Columns {
    /// Upserts the tasks and replaces their members; returns rows changed.
    async fn write(&self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let written = sql::upsert_tasks(tx, self).await?;
        let members = sql::replace_members(tx, self, &written).await?;
        Ok((written.inserted.len() + written.updated.len()) as u64 + members)
    }
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let t = WireTask::deserialize(record).context("task record")?;
        let time = |v: &Option<String>, field: &str| {
            from_seconds(v.as_deref()).map_err(|e| anyhow::anyhow!("task {}: {field}: {e}", t.id))
        };
        let create_time = time(&t.create_time, "create_time")?;
        let update_time = time(&t.update_time, "update_time")?;
        let complete_time = time(&t.complete_time, "complete_time")?;
        let due_time = time(&t.due.time, "due.time")?;
        self.create_time.push(create_time);
        self.update_time.push(update_time);
        self.complete_time.push(complete_time);
        self.due_time.push(due_time);
        self.due_timezone.push(non_empty(t.due.timezone));
        self.due_is_all_day.push(t.due.is_all_day);
        let platform = t
            .origin
            .platform_i18n_name
            .as_deref()
            .and_then(|text| {
                serde_json::from_str::<Option<I18nSnake>>(text)
                    .ok()
                    .flatten()
            })
            .unwrap_or_default();
        self.origin_platform_zh.push(non_empty(platform.zh));
        self.origin_platform_en.push(non_empty(platform.en));
        self.origin_href_title.push(non_empty(t.origin.href.title));
        self.origin_href_url.push(non_empty(t.origin.href.url));
        for (role, members) in [("c", &t.collaborators), ("f", &t.followers)] {
            for member in members.iter().map(|m| &m.id).collect::<HashSet<_>>() {
                self.member_role.push(role.into());
                self.member_task.push(t.id.clone());
                self.member_user.push(member.clone());
            }
        }
        self.summary.push(t.summary);
        self.description.push(t.description);
        self.creator_id.push(t.creator_id);
        self.can_edit.push(t.can_edit);
        self.source.push(t.source);
        self.repeat_rule.push(t.repeat_rule);
        self.extra.push(t.extra);
        self.custom.push(t.custom);
        self.id.push(t.id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

#[path = "tasks_sql.rs"]
mod sql;

/// Writes the pages of one pass.
struct TaskSink {
    /// `start_create_time` sent, or `None` for a read of every task.
    window_start: Option<DateTime<Utc>>,
    newest_create_time: Option<DateTime<Utc>>,
    seen: Vec<String>,
}

impl PartitionSink for TaskSink {
    type Data = TaskPage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: TaskPage,
    ) -> anyhow::Result<PageWrite> {
        let (c, rejected) = Columns::from_records(data.items, "id");
        self.seen.extend(c.id.iter().cloned());
        let newest = c.create_time.iter().flatten().max().copied();
        self.newest_create_time = self.newest_create_time.max(newest);
        let written = c.write(tx).await?;
        Ok(PageWrite { written, rejected })
    }

    /// A resumed pass retires nothing; its watermark, the newest `create_time` of the
    /// pages this run read, can only be lower than the whole pass's, so it re-reads more.
    async fn complete(&mut self, tx: &mut PgConnection, pass: &Pass) -> anyhow::Result<Completion> {
        let retired = match pass.resumed {
            false => sql::retire_unseen(tx, self.window_start, &self.seen).await?,
            true => 0,
        };
        Ok(Completion {
            retired,
            watermark: self.newest_create_time,
            partitions: None,
        })
    }
}

/// The write path of one page of task records alone (mapping, task upsert, member
/// replacement), in the caller's transaction; the benchmark measures it.
pub async fn upsert_records(tx: &mut PgConnection, records: Vec<Value>) -> anyhow::Result<u64> {
    let (columns, rejected) = Columns::from_records(records, "id");
    anyhow::ensure!(rejected.is_empty(), "malformed task records: {rejected:?}");
    columns.write(tx).await
}

/// Reads the tasks created since the watermark (minus the lookback), or all of them.
pub async fn run_once(ctx: &SyncContext, opts: &RunOptions) -> anyhow::Result<StreamOutcome> {
    let lookback = Duration::hours(i64::from(ctx.streams.tasks.lookback_hours));
    let window_start = if opts.backfill {
        opts.since
    } else {
        sync_state::watermark(&ctx.pool, Endpoint::Tasks, "")
            .await?
            .map(|w| w - lookback)
    };
    let mut query = Vec::new();
    if let Some(start) = window_start {
        query.push((
            "start_create_time".to_string(),
            start.timestamp().to_string(),
        ));
    }
    let request = ApiRequest {
        endpoint: Endpoint::Tasks,
        query,
        body: None,
    };
    let sink = TaskSink {
        window_start,
        newest_create_time: None,
        seen: Vec::new(),
    };
    Ok(read_partitions(
        ctx,
        [Partition {
            key: String::new(),
            request,
            sink,
        }],
        1,
    )
    .await)
}

#[cfg(test)]
#[path = "tasks_tests.rs"]
mod tests;
