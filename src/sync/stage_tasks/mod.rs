//! Performance stage tasks, read per semester. The watermark of a semester is the start of
//! its last complete pass; the next pass sends `after_time` = watermark − lookback, so it
//! re-reads every task whose deadline is recent enough to still change, never the whole
//! history. A read of the whole semester (the first pass, a backfill without `--since`)
//! retires the tasks and counts it no longer returns; a windowed read retires nothing.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::context::SyncContext;
use super::convert::i18n::I18nDashed;
use super::convert::time::{from_millis, to_millis_string};
use super::outcome::StreamOutcome;
use super::partition::read_partitions;
use super::read_mode::ReadMode;
use super::rejects::RejectedRecord;
use super::scopes::missing_user_id_scope;
use super::semesters;
use super::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::db;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync_state::Pass;

/// `data` of one page: users, each with their tasks and per-category counts.
#[derive(Debug, Deserialize)]
struct StageTaskPage {
    /// Users, mapped one by one so a malformed user is rejected alone.
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    user_id: String,
    #[serde(default)]
    stage_num_lists: Vec<Value>,
    #[serde(default)]
    stage_task_info_lists: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireCount {
    task_option_id: i32,
    stage_num: Option<i32>,
}

#[derive(Debug, Deserialize)]
struct WireStageTask {
    stage_id: String,
    #[serde(default)]
    name: I18nDashed,
    deadline: Option<String>,
    need_todo_count: Option<i32>,
    jump_url: Option<String>,
    stage_task_status: Option<String>,
    task_option_id: Option<i32>,
}

#[derive(Default)]
struct TaskColumns {
    user_id: Vec<String>,
    stage_id: Vec<String>,
    name_zh: Vec<Option<String>>,
    name_en: Vec<Option<String>>,
    deadline: Vec<Option<DateTime<Utc>>>,
    need_todo_count: Vec<Option<i32>>,
    jump_url: Vec<Option<String>>,
    stage_task_status: Vec<Option<String>>,
    task_option_id: Vec<Option<i32>>,
    raw: Vec<Value>,
}

#[derive(Default)]
struct CountColumns {
    user_id: Vec<String>,
    task_option_id: Vec<i32>,
    stage_num: Vec<Option<i32>>,
    raw: Vec<Value>,
}

/// Writes one semester's pages.
struct StageTaskSink {
    semester_id: String,
    /// `streams.stage_tasks.lookback_hours`.
    lookback: Duration,
    /// The `after_time` sent, or `None` for a read of the whole semester.
    after_time: Option<DateTime<Utc>>,
    seen_tasks: HashSet<(String, String)>,
    seen_counts: HashSet<(String, i32)>,
    /// `feishu.user_id_type`: with `user_id`, records arrive without one unless the
    /// app has the field scope.
    user_id_type: UserIdType,
}

impl StageTaskSink {
    /// The rows of a page's users, and the records (users, tasks, counts) that could not
    /// be mapped.
    fn columns(&mut self, users: Vec<Value>) -> (TaskColumns, CountColumns, Vec<RejectedRecord>) {
        let (mut t, mut c) = (TaskColumns::default(), CountColumns::default());
        let mut rejected = Vec::new();
        for raw_user in users {
            match WireUser::deserialize(&raw_user).context("stage task user record") {
                Ok(user) => {
                    self.push_tasks(
                        &mut t,
                        &user.user_id,
                        user.stage_task_info_lists,
                        &mut rejected,
                    );
                    self.push_counts(&mut c, &user.user_id, user.stage_num_lists, &mut rejected);
                }
                Err(error) => rejected.push(reject(None, error, raw_user)),
            }
        }
        (t, c, rejected)
    }

    /// One user's tasks; a task already written in this pass keeps its first answer.
    fn push_tasks(
        &mut self,
        t: &mut TaskColumns,
        user_id: &str,
        tasks: Vec<Value>,
        rejected: &mut Vec<RejectedRecord>,
    ) {
        for raw in tasks {
            let parsed = WireStageTask::deserialize(&raw)
                .context("stage task record")
                .and_then(|task| {
                    let deadline = from_millis(task.deadline.as_deref()).map_err(|e| {
                        anyhow::anyhow!("stage task {}: deadline: {e}", task.stage_id)
                    })?;
                    Ok((task, deadline))
                });
            let (task, deadline) = match parsed {
                Ok(parsed) => parsed,
                Err(error) => {
                    let stage = raw.get("stage_id").and_then(Value::as_str);
                    let key = stage.map(|s| format!("{user_id}/{s}"));
                    rejected.push(reject(key, error, raw));
                    continue;
                }
            };
            if !self
                .seen_tasks
                .insert((user_id.to_string(), task.stage_id.clone()))
            {
                continue; // already written in this pass; the first answer stands
            }
            t.user_id.push(user_id.to_string());
            t.stage_id.push(task.stage_id);
            t.name_zh.push(task.name.zh);
            t.name_en.push(task.name.en);
            t.deadline.push(deadline);
            t.need_todo_count.push(task.need_todo_count);
            t.jump_url.push(task.jump_url);
            t.stage_task_status.push(task.stage_task_status);
            t.task_option_id.push(task.task_option_id);
            t.raw.push(raw);
        }
    }

    /// One user's per-category counts; a repeated category keeps its first count.
    fn push_counts(
        &mut self,
        c: &mut CountColumns,
        user_id: &str,
        counts: Vec<Value>,
        rejected: &mut Vec<RejectedRecord>,
    ) {
        let mut options = HashSet::new();
        for raw in counts {
            let count = match WireCount::deserialize(&raw).context("stage count record") {
                Ok(count) => count,
                Err(error) => {
                    rejected.push(reject(Some(user_id.to_string()), error, raw));
                    continue;
                }
            };
            if options.insert(count.task_option_id) {
                self.seen_counts
                    .insert((user_id.to_string(), count.task_option_id));
                c.user_id.push(user_id.to_string());
                c.task_option_id.push(count.task_option_id);
                c.stage_num.push(count.stage_num);
                c.raw.push(raw);
            }
        }
    }

    async fn upsert_tasks(&self, tx: &mut PgConnection, t: &TaskColumns) -> anyhow::Result<u64> {
        // A row changes only when its record changed or it comes back after retirement.
        let written = sqlx::query!(
            r#"INSERT INTO feishu.stage_tasks AS t
                   (semester_id, user_id, stage_id, name_zh, name_en, deadline, need_todo_count,
                    jump_url, stage_task_status, task_option_id, raw)
               SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[],
                    $6::timestamptz[], $7::int4[], $8::text[], $9::text[], $10::int4[], $11::jsonb[])
               ON CONFLICT (semester_id, user_id, stage_id) DO UPDATE SET
                    name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, deadline = EXCLUDED.deadline,
                    need_todo_count = EXCLUDED.need_todo_count, jump_url = EXCLUDED.jump_url,
                    stage_task_status = EXCLUDED.stage_task_status, task_option_id = EXCLUDED.task_option_id,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.semester_id, &t.user_id, &t.stage_id, &t.name_zh as _, &t.name_en as _,
            &t.deadline as _, &t.need_todo_count as _, &t.jump_url as _, &t.stage_task_status as _,
            &t.task_option_id as _, &t.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.stage_tasks")?;
        Ok(written.rows_affected())
    }

    /// Counts are written only by reads of a whole semester: an `after_time` filter would
    /// make them counts of the window, a different quantity.
    async fn upsert_counts(&self, tx: &mut PgConnection, c: &CountColumns) -> anyhow::Result<u64> {
        if self.after_time.is_some() {
            return Ok(0);
        }
        let written = sqlx::query!(
            r#"INSERT INTO feishu.stage_task_counts AS t (semester_id, user_id, task_option_id, stage_num, raw)
               SELECT $1, * FROM UNNEST($2::text[], $3::int4[], $4::int4[], $5::jsonb[])
               ON CONFLICT (semester_id, user_id, task_option_id) DO UPDATE SET
                    stage_num = EXCLUDED.stage_num, raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            self.semester_id, &c.user_id, &c.task_option_id, &c.stage_num as _, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.stage_task_counts")?;
        Ok(written.rows_affected())
    }
}

impl PartitionSink for StageTaskSink {
    type Data = StageTaskPage;

    fn lookback(&self) -> Option<Duration> {
        Some(self.lookback)
    }

    /// Only tasks whose deadline is after `start` are listed.
    fn open_window(&mut self, request: &mut ApiRequest, start: DateTime<Utc>) {
        if let Some(body) = request.body.as_mut() {
            body["after_time"] = to_millis_string(start).into();
        }
        self.after_time = Some(start);
    }

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: StageTaskPage,
    ) -> anyhow::Result<PageWrite> {
        let user_id_type = self.user_id_type;
        if let Some(error) =
            missing_user_id_scope(Endpoint::StageTasks, user_id_type, &data.items, "user_id")
        {
            return Err(error.into());
        }
        let (tasks, counts, rejected) = self.columns(data.items);
        let written =
            self.upsert_tasks(tx, &tasks).await? + self.upsert_counts(tx, &counts).await?;
        Ok(PageWrite { written, rejected })
    }

    /// Retirement needs a read of the whole semester from its first page: a windowed
    /// read cannot tell a deleted task from one whose deadline moved back out of the
    /// window. The watermark is the start of the pass, in whichever run it began.
    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        pass: &Pass,
    ) -> anyhow::Result<Completion> {
        Ok(Completion {
            watermark: Some(pass.started_at),
            partitions: None,
        })
    }

    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        match self.after_time {
            None => self.retire_unseen(tx).await,
            Some(_) => Ok(0),
        }
    }

    fn listed(&self) -> usize {
        self.seen_tasks.len() + self.seen_counts.len()
    }
}

impl StageTaskSink {
    async fn retire_unseen(&self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        db::prefer_hash_joins(tx).await?;
        let (users, stages): (Vec<String>, Vec<String>) = self.seen_tasks.iter().cloned().unzip();
        let tasks = sqlx::query!(
            "UPDATE feishu.stage_tasks t SET deleted_at = now(), synced_at = now()
              WHERE t.semester_id = $1 AND t.deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[]) AS s(user_id, stage_id)
                                 WHERE s.user_id = t.user_id AND s.stage_id = t.stage_id)",
            self.semester_id,
            &users,
            &stages
        )
        .execute(&mut *tx)
        .await
        .context("retiring stage tasks")?;
        let (users, options): (Vec<String>, Vec<i32>) = self.seen_counts.iter().cloned().unzip();
        let counts = sqlx::query!(
            "UPDATE feishu.stage_task_counts c SET deleted_at = now(), synced_at = now()
              WHERE c.semester_id = $1 AND c.deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::int4[]) AS s(user_id, option)
                                 WHERE s.user_id = c.user_id AND s.option = c.task_option_id)",
            self.semester_id,
            &users,
            &options
        )
        .execute(&mut *tx)
        .await
        .context("retiring stage task counts")?;
        Ok(tasks.rows_affected() + counts.rows_affected())
    }
}

/// Reads the stage tasks of every current semester; the partition reader opens each
/// semester's window.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let retired = retire_orphans(ctx).await?;
    let lookback = Duration::hours(i64::from(ctx.streams.stage_tasks.lookback_hours));
    let mut partitions = Vec::new();
    for semester_id in semesters::current_ids(&ctx.pool).await? {
        let mut request = ApiRequest::new(Endpoint::StageTasks);
        request.body = Some(serde_json::json!({ "semester_id": semester_id }));
        let sink = StageTaskSink {
            semester_id: semester_id.clone(),
            lookback,
            after_time: None,
            seen_tasks: HashSet::new(),
            seen_counts: HashSet::new(),
            user_id_type: ctx.client.user_id_type(),
        };
        partitions.push(Partition {
            key: semester_id,
            request,
            sink,
        });
    }
    let mut outcome = read_partitions(ctx, mode, partitions, 2).await;
    outcome.counts.rows_retired += retired;
    Ok(outcome)
}

/// A record that could not be mapped, with why.
fn reject(key: Option<String>, error: anyhow::Error, raw: Value) -> RejectedRecord {
    RejectedRecord {
        key,
        reason: format!("{error:#}"),
        raw,
    }
}

/// Stage tasks and counts of retired semesters are retired too.
async fn retire_orphans(ctx: &SyncContext) -> anyhow::Result<u64> {
    let mut retired = 0;
    for query in [
        sqlx::query!(
            "UPDATE feishu.stage_tasks t SET deleted_at = now(), synced_at = now() FROM feishu.semesters s
              WHERE t.semester_id = s.id AND t.deleted_at IS NULL AND s.deleted_at IS NOT NULL"
        ),
        sqlx::query!(
            "UPDATE feishu.stage_task_counts t SET deleted_at = now(), synced_at = now() FROM feishu.semesters s
              WHERE t.semester_id = s.id AND t.deleted_at IS NULL AND s.deleted_at IS NOT NULL"
        ),
    ] {
        retired += query.execute(&ctx.pool).await.context("retiring stage tasks of retired semesters")?.rows_affected();
    }
    Ok(retired)
}

#[cfg(test)]
mod tests;
