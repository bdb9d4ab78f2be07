//! One pass over the selected streams: each stream module maps its pages to rows, and this
//! module drives the pages, the per-page transactions and the `sync_runs` journal.

pub mod activities;
pub mod approval_tasks;
#[cfg(test)]
pub(crate) mod arbitrary;
pub mod convert;
pub mod semesters;
pub mod stage_tasks;
pub mod tasks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::config::StreamsConfig;
use crate::db::{self, RunCounts, RunStatus};
use crate::feishu::{ApiError, ApiRequest, Endpoint, FeishuClient, Page, Pager, PagingEnd};
use crate::metrics::Metrics;
use crate::shutdown::{Interrupted, Shutdown};

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
    /// The run stopped early because of a shutdown.
    pub interrupted: bool,
}

impl StreamOutcome {
    /// Folds one partition's result in: its committed pages count even when a later page
    /// failed, and a failed partition does not stop the others.
    fn fold(&mut self, partition: &str, counts: RunCounts, result: anyhow::Result<()>) {
        self.counts.add(counts);
        match result {
            Ok(()) => {}
            Err(error) if error.is::<Interrupted>() => self.interrupted = true,
            Err(error) if partition.is_empty() => self.failed_partitions.push(format!("{error:#}")),
            Err(error) => {
                tracing::error!(partition, error = format!("{error:#}"), "partition failed");
                self.failed_partitions
                    .push(format!("{partition}: {error:#}"));
            }
        }
    }

    /// The run's final status and error text.
    fn verdict(&self) -> (RunStatus, Option<String>) {
        match self.failed_partitions.as_slice() {
            _ if self.interrupted => (RunStatus::Interrupted, None),
            [] => (RunStatus::Succeeded, None),
            [one] => (RunStatus::Failed, Some(one.clone())),
            many => {
                let text = format!("{} partitions failed: {}", many.len(), many.join("; "));
                (RunStatus::Failed, Some(text))
            }
        }
    }
}

/// One partition of a stream: its `sync_state` key (`""` for single-partition streams),
/// its request and the sink that writes it.
pub struct Partition<S> {
    pub key: String,
    pub request: ApiRequest,
    pub sink: S,
}

/// Reads `partitions`, up to `in_flight` at once, into one outcome. Partitions share the
/// endpoint's budget, so running a few at once only hides latency: while one waits for a
/// response or writes a page, another's request can leave on time.
pub async fn read_partitions<S: PartitionSink + Send>(
    ctx: &SyncContext,
    partitions: impl IntoIterator<Item = Partition<S>>,
    in_flight: usize,
) -> StreamOutcome {
    let mut outcome = StreamOutcome::default();
    let mut pending = partitions.into_iter();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < in_flight.max(1) {
            match pending.next() {
                Some(partition) => running.push(read_one(ctx, partition)),
                None => break,
            }
        }
        let Some((key, counts, result)) = running.next().await else {
            break;
        };
        outcome.fold(&key, counts, result);
    }
    outcome
}

/// One partition read, with what it committed whether or not it finished. A page token
/// the server rejects (expired, say) restarts the partition from its beginning, once:
/// what was written is written again unchanged, and nothing is lost.
async fn read_one<S: PartitionSink + Send>(
    ctx: &SyncContext,
    mut partition: Partition<S>,
) -> (String, RunCounts, anyhow::Result<()>) {
    let mut counts = RunCounts::default();
    let mut result = read_partition(
        ctx,
        partition.request.clone(),
        &mut partition.sink,
        &mut counts,
    )
    .await;
    let token_rejected = |r: &anyhow::Result<()>| {
        r.as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<ApiError>())
            .is_some_and(ApiError::is_bad_page_token)
    };
    if token_rejected(&result) {
        tracing::warn!(
            partition = partition.key,
            "page token rejected; reading the partition again from its beginning"
        );
        result = read_partition(ctx, partition.request, &mut partition.sink, &mut counts).await;
    }
    (partition.key, counts, result)
}

/// A stream's side of reading one partition: write each page's rows, then, after the
/// last page of a complete read, retire what was not seen and move the watermark.
/// Both run inside the page's transaction.
pub trait PartitionSink {
    /// The typed `data` object of one page.
    type Data: DeserializeOwned + Send;

    /// Upserts one page; returns rows inserted or changed.
    fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: Self::Data,
        raw: Value,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Called once after the last page of a complete read; returns rows retired.
    fn complete(
        &mut self,
        tx: &mut PgConnection,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;
}

/// Pages through `request`, one transaction per page, adding what it commits to
/// `counts`, and completes the partition when the read was complete. The next page is
/// fetched while the current one is written. A shutdown stops it between pages (a fetch in
/// flight is abandoned: nothing of it was written) with [`Interrupted`].
async fn read_partition<S: PartitionSink>(
    ctx: &SyncContext,
    request: ApiRequest,
    sink: &mut S,
    counts: &mut RunCounts,
) -> anyhow::Result<()> {
    let endpoint = request.endpoint;
    let mut pager = Pager::new(&ctx.client, request);
    let mut shutdown = ctx.shutdown.clone();
    let mut next = fetch(&mut pager, &mut shutdown).await?;
    while let Some(page) = next {
        if page.last {
            counts.add(write_page(ctx, endpoint, sink, page).await?);
            break;
        }
        let (written, fetched) = tokio::join!(
            write_page(ctx, endpoint, sink, page),
            fetch(&mut pager, &mut shutdown)
        );
        counts.add(written?);
        next = fetched?;
    }
    if pager.end() == PagingEnd::Truncated {
        anyhow::bail!(
            "the server stopped paging early (has_more without a new page_token); nothing was retired and the watermark did not move"
        );
    }
    Ok(())
}

/// The next page, unless a shutdown comes first.
async fn fetch<T: DeserializeOwned>(
    pager: &mut Pager<'_>,
    shutdown: &mut Shutdown,
) -> anyhow::Result<Option<Page<T>>> {
    tokio::select! {
        biased;
        _ = shutdown.wait() => Err(Interrupted.into()),
        page = pager.next_page::<T>() => Ok(page?),
    }
}

/// Writes one page in its own transaction; the last page also retires and moves the
/// watermark.
async fn write_page<S: PartitionSink>(
    ctx: &SyncContext,
    endpoint: Endpoint,
    sink: &mut S,
    page: Page<S::Data>,
) -> anyhow::Result<RunCounts> {
    let mut tx = ctx
        .pool
        .begin()
        .await
        .context("starting a page transaction")?;
    let written = sink.write_page(&mut tx, page.data, page.raw).await?;
    let retired = if page.last {
        sink.complete(&mut tx).await?
    } else {
        0
    };
    tx.commit().await.context("committing a page")?;
    ctx.metrics.page_committed(endpoint, written);
    Ok(RunCounts {
        pages: 1,
        rows_written: written,
        rows_retired: retired,
    })
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
