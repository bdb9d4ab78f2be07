//! One pass over the selected streams: each stream module maps its pages to rows, and this
//! module drives the pages, the per-page transactions and the `sync_runs` journal.

pub mod activities;
pub mod approval_tasks;
#[cfg(test)]
pub(crate) mod arbitrary;
pub mod convert;
mod partition;
pub mod pass_state;
pub mod semesters;
pub mod stage_tasks;
pub mod tasks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::config::StreamsConfig;
use crate::db::{self, RunCounts, RunStatus};
use crate::feishu::{Endpoint, FeishuClient};
use crate::metrics::Metrics;
use crate::shutdown::{Interrupted, Shutdown};
pub use partition::{PageWrite, Partition, PartitionSink, read_partitions};
pub use pass_state::{Pass, RejectedRecord};

/// What every stream run needs.
#[derive(Clone)]
pub struct SyncContext {
    pub pool: PgPool,
    pub client: Arc<FeishuClient>,
    pub streams: StreamsConfig,
    /// Shared with the client, so runs and requests land in one registry.
    pub metrics: Arc<Metrics>,
    /// Runs stop between pages once this fires.
    pub shutdown: Shutdown,
}

impl SyncContext {
    /// A context for one-off passes: the client's metrics, no shutdown signal.
    pub fn new(pool: PgPool, client: Arc<FeishuClient>, streams: StreamsConfig) -> Self {
        let metrics = client.metrics();
        SyncContext {
            pool,
            client,
            streams,
            metrics,
            shutdown: Shutdown::never(),
        }
    }
}

/// How a pass reads: incrementally from the watermarks, or as a backfill.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Ignore watermarks and re-read everything (from `since`, if given).
    pub backfill: bool,
    /// With `backfill`: the earliest deadline / create time to re-read.
    pub since: Option<DateTime<Utc>>,
}

/// The result of one stream run.
#[derive(Debug)]
pub struct StreamReport {
    pub stream: Endpoint,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub requests: u64,
    pub duration: Duration,
    pub error: Option<String>,
}

/// What a stream module hands back: its counts and the partitions that failed.
#[derive(Debug, Default)]
pub struct StreamOutcome {
    pub counts: RunCounts,
    /// `partition: error` for each failed partition (`error` alone for single-partition
    /// streams).
    pub failed_partitions: Vec<String>,
    /// `partition: why` for each partition whose pass skipped malformed records.
    pub partial_partitions: Vec<String>,
    /// The run stopped early because of a shutdown.
    pub interrupted: bool,
}

impl StreamOutcome {
    /// Folds one partition's result in (`Ok(Some(why))`: the pass skipped records): its
    /// committed pages count even when a later page failed, and a failed partition does
    /// not stop the others.
    fn fold(&mut self, partition: &str, counts: RunCounts, result: anyhow::Result<Option<String>>) {
        self.counts.add(counts);
        match result {
            Ok(None) => {}
            Ok(Some(why)) => self.partial_partitions.push(labelled(partition, why)),
            Err(error) if error.is::<Interrupted>() => self.interrupted = true,
            Err(error) if partition.is_empty() => self.failed_partitions.push(format!("{error:#}")),
            Err(error) => {
                tracing::error!(partition, error = format!("{error:#}"), "partition failed");
                self.failed_partitions
                    .push(format!("{partition}: {error:#}"));
            }
        }
    }

    /// The run's final status and error text: interrupted, else failed if a partition
    /// failed, else partial if one skipped malformed records.
    fn verdict(&self) -> (RunStatus, Option<String>) {
        if self.interrupted {
            return (RunStatus::Interrupted, None);
        }
        let summary = |list: &[String], what: &str| match list {
            [one] => one.clone(),
            many => format!("{} partitions {what}: {}", many.len(), many.join("; ")),
        };
        match (
            self.failed_partitions.as_slice(),
            self.partial_partitions.as_slice(),
        ) {
            ([], []) => (RunStatus::Succeeded, None),
            ([], partial) => (
                RunStatus::Partial,
                Some(summary(partial, "skipped records")),
            ),
            (failed, _) => (RunStatus::Failed, Some(summary(failed, "failed"))),
        }
    }
}

fn labelled(partition: &str, text: String) -> String {
    if partition.is_empty() {
        text
    } else {
        format!("{partition}: {text}")
    }
}

/// Runs one stream once, without journaling; tests and the scheduler call this.
pub async fn run_once(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
) -> anyhow::Result<StreamOutcome> {
    match stream {
        Endpoint::Semesters => semesters::run_once(ctx, opts).await,
        Endpoint::Activities => activities::run_once(ctx, opts).await,
        Endpoint::StageTasks => stage_tasks::run_once(ctx, opts).await,
        Endpoint::ApprovalTasks => approval_tasks::run_once(ctx, opts).await,
        Endpoint::Tasks => tasks::run_once(ctx, opts).await,
    }
}

/// Runs `streams` and journals each run in `sync_runs`. Semesters run first, then
/// activities and stage tasks (which read the semesters) side by side; approval tasks and
/// tasks depend on nothing and run alongside from the start. Each endpoint keeps its own
/// budget, so running them together costs no rate. Reports come in stream order.
pub async fn sync(
    ctx: &SyncContext,
    streams: &[Endpoint],
    opts: &RunOptions,
) -> anyhow::Result<Vec<StreamReport>> {
    let performance = async {
        let semesters = run_if_selected(ctx, streams, Endpoint::Semesters, opts).await;
        let (activities, stage_tasks) = tokio::join!(
            run_if_selected(ctx, streams, Endpoint::Activities, opts),
            run_if_selected(ctx, streams, Endpoint::StageTasks, opts)
        );
        [semesters, activities, stage_tasks]
    };
    let (performance, approval_tasks, tasks) = tokio::join!(
        performance,
        run_if_selected(ctx, streams, Endpoint::ApprovalTasks, opts),
        run_if_selected(ctx, streams, Endpoint::Tasks, opts)
    );
    let mut reports = Vec::new();
    for report in performance.into_iter().chain([approval_tasks, tasks]) {
        reports.extend(report?);
    }
    Ok(reports)
}

async fn run_if_selected(
    ctx: &SyncContext,
    streams: &[Endpoint],
    stream: Endpoint,
    opts: &RunOptions,
) -> anyhow::Result<Option<StreamReport>> {
    if streams.contains(&stream) {
        run_journaled(ctx, stream, opts).await.map(Some)
    } else {
        Ok(None)
    }
}

/// One stream run with its `sync_runs` row.
pub async fn run_journaled(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
) -> anyhow::Result<StreamReport> {
    let run_id = db::start_run(&ctx.pool, stream.name(), opts.backfill).await?;
    let requests_before = ctx.client.requests_sent(stream);
    let started = Instant::now();
    tracing::info!(%stream, backfill = opts.backfill, "stream run started");
    let result = run_once(ctx, stream, opts).await;
    let requests = ctx.client.requests_sent(stream) - requests_before;
    let (status, counts, error) = match result {
        Ok(outcome) => {
            let (status, error) = outcome.verdict();
            (status, outcome.counts, error)
        }
        Err(error) => (
            RunStatus::Failed,
            RunCounts::default(),
            Some(format!("{error:#}")),
        ),
    };
    db::finish_run(
        &ctx.pool,
        run_id,
        status,
        counts,
        requests,
        error.as_deref(),
    )
    .await?;
    let duration = started.elapsed();
    ctx.metrics.run_finished(stream, status.as_str(), duration);
    tracing::info!(%stream, status = status.as_str(), pages = counts.pages, rows_written = counts.rows_written,
        rows_retired = counts.rows_retired, requests, duration_ms = duration.as_millis() as u64, "stream run finished");
    Ok(StreamReport {
        stream,
        status,
        counts,
        requests,
        duration,
        error,
    })
}

/// Ids of the semesters currently present, for the streams that read per semester.
pub async fn current_semester_ids(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT id FROM feishu.semesters WHERE deleted_at IS NULL ORDER BY id")
        .fetch_all(pool)
        .await
        .context("listing current semesters")
}
