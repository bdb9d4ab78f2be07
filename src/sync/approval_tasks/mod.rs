//! Approval tasks, read for every configured user and topic. The API has no change filter,
//! so each pass reads every partition completely and retires what it no longer returns:
//! an approval that moved from topic 1 to topic 2 is retired in topic 1 and appears in 2.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::columns::ColumnBuilder;
use super::context::SyncContext;
use super::outcome::StreamOutcome;
use super::partition::read_partitions;
use super::read_mode::{PartitionKey, ReadMode};
use super::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::sync_state::Pass;

use crate::feishu::{ApiRequest, Endpoint};

/// `data` of one page.
#[derive(Debug, Deserialize)]
struct ApprovalPage {
    #[serde(default)]
    tasks: Vec<Value>,
    /// On the first page: the list's total (capped at [`LIST_CAP`]) and whether it holds
    /// more than that.
    count: Option<WireCount>,
}

#[derive(Debug, Deserialize)]
struct WireCount {
    total: Option<i32>,
    has_more: Option<bool>,
}

/// The most tasks the API counts, and lists, for one user and topic.
const LIST_CAP: usize = 999;

#[derive(Debug, Default, Deserialize)]
struct WireUrls {
    helpdesk: Option<String>,
    mobile: Option<String>,
    pc: Option<String>,
}

/// One approval task as the API sends it.
#[derive(Debug, Deserialize)]
struct WireApprovalTask {
    task_id: String,
    title: Option<String>,
    #[serde(default)]
    urls: WireUrls,
    process_external_id: Option<String>,
    task_external_id: Option<String>,
    status: Option<String>,
    process_status: Option<String>,
    definition_code: Option<String>,
    #[serde(default)]
    initiators: Vec<String>,
    #[serde(default)]
    initiator_names: Vec<String>,
    process_id: Option<String>,
    process_code: Option<String>,
    definition_group_id: Option<String>,
    definition_group_name: Option<String>,
    definition_id: Option<String>,
    definition_name: Option<String>,
}

#[derive(Default)]
struct Columns {
    task_id: Vec<String>,
    title: Vec<Option<String>>,
    url_helpdesk: Vec<Option<String>>,
    url_mobile: Vec<Option<String>>,
    url_pc: Vec<Option<String>>,
    process_external_id: Vec<Option<String>>,
    task_external_id: Vec<Option<String>>,
    status: Vec<Option<String>>,
    process_status: Vec<Option<String>>,
    definition_code: Vec<Option<String>>,
    /// Arrays of arrays cannot be unnested, so the lists travel as JSON arrays.
    initiators: Vec<Value>,
    initiator_names: Vec<Value>,
    process_id: Vec<Option<String>>,
    process_code: Vec<Option<String>>,
    definition_group_id: Vec<Option<String>>,
    definition_group_name: Vec<Option<String>>,
    definition_id: Vec<Option<String>>,
    definition_name: Vec<Option<String>>,
    raw: Vec<Value>,
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let a = WireApprovalTask::deserialize(record).context("approval task record")?;
        self.task_id.push(a.task_id);
        self.title.push(a.title);
        self.url_helpdesk.push(a.urls.helpdesk);
        self.url_mobile.push(a.urls.mobile);
        self.url_pc.push(a.urls.pc);
        self.process_external_id.push(a.process_external_id);
        self.task_external_id.push(a.task_external_id);
        self.status.push(a.status);
        self.process_status.push(a.process_status);
        self.definition_code.push(a.definition_code);
        self.initiators.push(a.initiators.into());
        self.initiator_names.push(a.initiator_names.into());
        self.process_id.push(a.process_id);
        self.process_code.push(a.process_code);
        self.definition_group_id.push(a.definition_group_id);
        self.definition_group_name.push(a.definition_group_name);
        self.definition_id.push(a.definition_id);
        self.definition_name.push(a.definition_name);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

/// Writes one (user, topic) partition.
struct ApprovalSink {
    user_id: String,
    topic: String,
    seen: Vec<String>,
    /// `count.has_more` was true: the list holds more than the API returns.
    truncated: bool,
}

impl PartitionSink for ApprovalSink {
    type Data = ApprovalPage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: ApprovalPage,
    ) -> anyhow::Result<PageWrite> {
        if let Some(count) = &data.count {
            self.truncated |= count.has_more == Some(true);
            record_count(tx, &self.user_id, &self.topic, count).await?;
        }
        let (c, rejected) = Columns::from_records(data.tasks, "task_id");
        self.seen.extend(c.task_id.iter().cloned());
        // Keyed by the partition's user and topic; unchanged records are skipped.
        let written = sqlx::query!(
            r#"INSERT INTO feishu.approval_tasks AS t
                   (user_id, topic, task_id, title, url_helpdesk, url_mobile, url_pc, process_external_id,
                    task_external_id, status, process_status, definition_code, initiators, initiator_names,
                    process_id, process_code, definition_group_id, definition_group_name, definition_id,
                    definition_name, raw)
               SELECT $1, $2, task_id, title, helpdesk, mobile, pc, pext, text, status, pstatus, dcode,
                      ARRAY(SELECT jsonb_array_elements_text(inits)), ARRAY(SELECT jsonb_array_elements_text(names)),
                      pid, pcode, dgid, dgname, did, dname, raw
                 FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                      $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::jsonb[], $15::text[], $16::text[],
                      $17::text[], $18::text[], $19::text[], $20::text[], $21::jsonb[])
                   AS x(task_id, title, helpdesk, mobile, pc, pext, text, status, pstatus, dcode, inits, names,
                        pid, pcode, dgid, dgname, did, dname, raw)
               ON CONFLICT (user_id, topic, task_id) DO UPDATE SET
                    title = EXCLUDED.title, url_helpdesk = EXCLUDED.url_helpdesk, url_mobile = EXCLUDED.url_mobile,
                    url_pc = EXCLUDED.url_pc, process_external_id = EXCLUDED.process_external_id,
                    task_external_id = EXCLUDED.task_external_id, status = EXCLUDED.status,
                    process_status = EXCLUDED.process_status, definition_code = EXCLUDED.definition_code,
                    initiators = EXCLUDED.initiators, initiator_names = EXCLUDED.initiator_names,
                    process_id = EXCLUDED.process_id, process_code = EXCLUDED.process_code,
                    definition_group_id = EXCLUDED.definition_group_id,
                    definition_group_name = EXCLUDED.definition_group_name,
                    definition_id = EXCLUDED.definition_id, definition_name = EXCLUDED.definition_name,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.user_id, self.topic, &c.task_id, &c.title as _, &c.url_helpdesk as _, &c.url_mobile as _,
            &c.url_pc as _, &c.process_external_id as _, &c.task_external_id as _, &c.status as _,
            &c.process_status as _, &c.definition_code as _, &c.initiators, &c.initiator_names,
            &c.process_id as _, &c.process_code as _, &c.definition_group_id as _,
            &c.definition_group_name as _, &c.definition_id as _, &c.definition_name as _, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.approval_tasks")?;
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
        if self.truncated || self.seen.len() >= LIST_CAP {
            tracing::warn!(
                user_id = self.user_id,
                topic = self.topic,
                listed = self.seen.len(),
                "the API lists only part of this user's tasks (count.has_more, or the list stops at its cap of 999): nothing retired"
            );
            return Ok(0);
        }
        let retired = sqlx::query!(
            "UPDATE feishu.approval_tasks SET deleted_at = now(), synced_at = now()
              WHERE user_id = $1 AND topic = $2 AND deleted_at IS NULL
                AND NOT (task_id = ANY($3::text[]))",
            self.user_id,
            self.topic,
            &self.seen
        )
        .execute(&mut *tx)
        .await
        .context("retiring approval tasks")?;
        Ok(retired.rows_affected())
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }

    /// A user's list empties when their last task is done: that retires what it held.
    fn empty_listing_is_real(&self) -> bool {
        true
    }
}

/// Stores a list's `data.count`; an unchanged count is not rewritten.
async fn record_count(
    tx: &mut PgConnection,
    user_id: &str,
    topic: &str,
    count: &WireCount,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO feishu.approval_task_counts AS c (user_id, topic, total, has_more)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, topic) DO UPDATE
            SET total = EXCLUDED.total, has_more = EXCLUDED.has_more, synced_at = now()
          WHERE (c.total, c.has_more) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.has_more)",
        user_id,
        topic,
        count.total,
        count.has_more
    )
    .execute(&mut *tx)
    .await
    .context("recording feishu.approval_task_counts")?;
    Ok(())
}

/// Users and topics read at once: most partitions are one page, so without overlap the
/// response time of each request would leave the budget idle.
const PARTITIONS_IN_FLIGHT: usize = 4;

/// Every current user of the directory. Users who left keep their approval rows as they
/// were: their partitions are no longer read, so nothing retires them.
async fn directory_users(pool: &sqlx::PgPool) -> anyhow::Result<Vec<String>> {
    let users =
        sqlx::query_scalar!("SELECT id FROM feishu.users WHERE deleted_at IS NULL ORDER BY id")
            .fetch_all(pool)
            .await
            .context("listing the directory's users for their approval tasks")?;
    if users.is_empty() {
        tracing::warn!(
            "no user in feishu.users and none in streams.approval_tasks.user_ids: no approval \
             task to read (run the users stream first)"
        );
    }
    Ok(users)
}

/// `sync_state.partition_key` of one user and topic.
fn partition_key(user_id: &str, topic: &str) -> String {
    format!("{user_id}/{topic}")
}

/// Reads every topic of the configured users, or, when none are configured, of every
/// current user of the directory (`feishu.users`).
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let config = &ctx.streams.approval_tasks;
    let users = match config.user_ids.is_empty() {
        false => config.user_ids.clone(),
        true => directory_users(&ctx.pool).await?,
    };
    Ok(read_users(ctx, mode, &users, &config.topics).await)
}

/// Re-reads `topics` of `users`, exactly as a pass reads them (retiring what moved), for
/// approval events. Users the stream does not read (outside `user_ids` when it is set)
/// are left alone.
pub async fn reread_users(ctx: &SyncContext, users: &[String], topics: &[String]) -> StreamOutcome {
    let config = &ctx.streams.approval_tasks;
    let wanted: Vec<String> = users
        .iter()
        .filter(|u| config.user_ids.is_empty() || config.user_ids.contains(u))
        .cloned()
        .collect();
    let topics: Vec<String> = topics
        .iter()
        .filter(|t| config.topics.contains(t))
        .cloned()
        .collect();
    let keys = wanted
        .iter()
        .flat_map(|user| topics.iter().map(move |topic| partition_key(user, topic)))
        .map(|key| PartitionKey {
            stream: Endpoint::ApprovalTasks,
            key,
        })
        .collect();
    read_users(ctx, &ReadMode::Partitions(keys), &wanted, &topics).await
}

async fn read_users(
    ctx: &SyncContext,
    mode: &ReadMode,
    users: &[String],
    topics: &[String],
) -> StreamOutcome {
    // Collected, not lazy: a lazy iterator of closures held across awaits defeats rustc's
    // Send proof for the spawned service future (rust-lang/rust#102211). It grows with the
    // users, not with the tenant's data.
    let partitions: Vec<Partition<ApprovalSink>> = users
        .iter()
        .flat_map(|user_id| {
            topics.iter().map(move |topic| Partition {
                key: partition_key(user_id, topic),
                request: ApiRequest {
                    path: None,
                    endpoint: Endpoint::ApprovalTasks,
                    query: vec![
                        ("user_id".into(), user_id.clone()),
                        ("topic".into(), topic.clone()),
                    ],
                    body: None,
                },
                sink: ApprovalSink {
                    user_id: user_id.clone(),
                    topic: topic.clone(),
                    seen: Vec::new(),
                    truncated: false,
                },
            })
        })
        .collect();
    read_partitions(ctx, mode, partitions, PARTITIONS_IN_FLIGHT).await
}

#[cfg(test)]
mod tests;
