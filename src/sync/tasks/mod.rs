//! Task v1 tasks (with a tenant token: the tasks the app created). The watermark is the
//! newest `create_time` a complete pass has seen; the next pass sends
//! `start_create_time` = watermark − lookback (seconds), so it reads only recent tasks.
//! Collaborators and followers are kept in their own tables, replaced per task.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::columns::ColumnBuilder;
use super::context::SyncContext;
use super::outcome::StreamOutcome;
use super::partition::read_partitions;
use super::read_mode::ReadMode;
use super::sink::{Completion, PageWrite, Partition, PartitionSink};
use crate::sync_state::Pass;

use crate::feishu::{ApiRequest, Endpoint};

mod columns;
mod wire;

use columns::Columns;
use wire::TaskPage;

/// Writes the pages of one pass.
struct TaskSink {
    /// The stream's lookback for the read by create time; `None` for the open-task sweep,
    /// which has no window.
    lookback: Option<Duration>,
    /// `start_create_time` sent, or `None` for a read of every task.
    window_start: Option<DateTime<Utc>>,
    newest_create_time: Option<DateTime<Utc>>,
    seen: Vec<String>,
    /// A sweep of the open tasks: it refreshes them, and retires nothing (finished
    /// tasks are missing from it, not deleted) and moves no watermark.
    sweeps_open_tasks: bool,
}

impl PartitionSink for TaskSink {
    type Data = TaskPage;

    fn lookback(&self) -> Option<Duration> {
        self.lookback
    }

    /// Only tasks created since `start` are listed.
    fn open_window(&mut self, request: &mut ApiRequest, start: DateTime<Utc>) {
        request.query.push((
            "start_create_time".to_string(),
            start.timestamp().to_string(),
        ));
        self.window_start = Some(start);
    }

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

    /// The watermark is the newest `create_time` of the pages this run read; for a
    /// resumed pass it can only be lower than the whole pass's, so it re-reads more.
    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        _pass: &Pass,
    ) -> anyhow::Result<Completion> {
        if self.sweeps_open_tasks {
            return Ok(Completion::default());
        }
        Ok(Completion {
            watermark: self.newest_create_time,
            partitions: None,
        })
    }

    async fn retire(&mut self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        match self.sweeps_open_tasks {
            true => Ok(0),
            false => columns::retire_unseen(tx, self.window_start, &self.seen).await,
        }
    }

    fn listed(&self) -> usize {
        self.seen.len()
    }
}

/// The write path of one page of task records alone (mapping, task upsert, member
/// replacement), in the caller's transaction; the benchmark measures it.
pub async fn upsert_records(tx: &mut PgConnection, records: Vec<Value>) -> anyhow::Result<u64> {
    let (columns, rejected) = Columns::from_records(records, "id");
    anyhow::ensure!(rejected.is_empty(), "malformed task records: {rejected:?}");
    columns.write(tx).await
}

/// `task.task.updated_v1` of a task that still exists: one request for it (with its
/// collaborators and followers), upserted as a page would be. A task the API no longer
/// finds is retired.
pub async fn reread_task(ctx: &SyncContext, id: &str) -> anyhow::Result<crate::db::RunCounts> {
    let mut request = ApiRequest::new(Endpoint::Tasks);
    request.path = Some(feishu_endpoints::fill_path(feishu_endpoints::TASK_PATH, id));
    let record = match ctx.client.call(&request).await {
        Ok(reply) => reply.data.get("task").cloned(),
        Err(error) if error.code() == Some(TASK_NOT_FOUND) => None,
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("re-reading task {id}")));
        }
    };
    let Some(record) = record else {
        return retire_task(ctx, id).await;
    };
    let mut tx = ctx.pool.begin().await?;
    let written = upsert_records(&mut tx, vec![record]).await?;
    tx.commit().await?;
    Ok(crate::db::RunCounts {
        rows_written: written,
        ..Default::default()
    })
}

/// Task v1's answer for a task that does not exist (deleted).
const TASK_NOT_FOUND: i64 = 1470404;

/// `task.task.updated_v1` with `obj_type` 7: the task was deleted, so it is retired.
pub async fn retire_task(ctx: &SyncContext, id: &str) -> anyhow::Result<crate::db::RunCounts> {
    let retired = sqlx::query!(
        "UPDATE feishu.tasks SET deleted_at = now(), synced_at = now() WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(&ctx.pool)
    .await?;
    Ok(crate::db::RunCounts {
        rows_retired: retired.rows_affected(),
        ..Default::default()
    })
}

/// The open-task sweep: every task with `task_completed=false`, whatever its create time,
/// in a partition (`open`) of its own.
async fn open_tasks(ctx: &SyncContext, mode: &ReadMode) -> StreamOutcome {
    let mut request = ApiRequest::new(Endpoint::Tasks);
    request.query = vec![("task_completed".into(), "false".into())];
    let sink = TaskSink {
        lookback: None,
        window_start: None,
        newest_create_time: None,
        seen: Vec::new(),
        sweeps_open_tasks: true,
    };
    let partition = Partition {
        key: "open".into(),
        request,
        sink,
    };
    read_partitions(ctx, mode, [partition], 1).await
}

/// Reads the tasks created since the watermark (minus the lookback), or all of them; the
/// partition reader opens the window.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    if *mode == ReadMode::OpenTasks {
        return Ok(open_tasks(ctx, mode).await);
    }
    let lookback = Duration::hours(i64::from(ctx.streams.tasks.lookback_hours));
    let sink = TaskSink {
        lookback: Some(lookback),
        window_start: None,
        newest_create_time: None,
        seen: Vec::new(),
        sweeps_open_tasks: false,
    };
    let partition = Partition {
        key: String::new(),
        request: ApiRequest::new(Endpoint::Tasks),
        sink,
    };
    Ok(read_partitions(ctx, mode, [partition], 1).await)
}

#[cfg(test)]
mod tests;
