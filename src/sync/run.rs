//! Running streams: one stream read once, or a pass over several with parents first, each
//! run journaled in `feishu.sync_runs`.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;

use sqlx::PgPool;
use tracing::Instrument;

use super::context::SyncContext;
use super::outcome::{StreamOutcome, StreamReport};
use super::performance_results::{dictionaries, metric_details, review_data, reviewees};
use super::read_mode::ReadMode;
use super::{activities, approval_tasks, directory, semesters, stage_tasks, tasks};
use crate::db::{self, ApiCost, RunCounts, RunStatus};
use crate::feishu::Endpoint;
use crate::stream_lock::{self, StreamLock};

/// Reads one stream once, without journaling; tests and the scheduler call this.
pub async fn read_stream(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
) -> anyhow::Result<StreamOutcome> {
    match stream {
        Endpoint::Semesters => semesters::read(ctx, mode).await,
        Endpoint::Activities => activities::read(ctx, mode).await,
        Endpoint::StageTasks => stage_tasks::read(ctx, mode).await,
        Endpoint::ApprovalTasks => approval_tasks::read(ctx, mode).await,
        Endpoint::Tasks => tasks::read(ctx, mode).await,
        Endpoint::Departments => directory::departments::read(ctx, mode).await,
        Endpoint::Users => directory::users::read(ctx, mode).await,
        Endpoint::Reviewees => reviewees::read(ctx, mode).await,
        Endpoint::ReviewData => review_data::read(ctx, mode).await,
        Endpoint::MetricDetails => metric_details::read(ctx, mode).await,
        Endpoint::Indicators => dictionaries::read_indicators(ctx, mode).await,
        Endpoint::MetricFields => dictionaries::read_metric_fields(ctx, mode).await,
    }
}

/// One stream's journaled run, or `None` if it was not selected.
type Selected = anyhow::Result<Option<StreamReport>>;

/// Runs `streams` in one pass and journals each run in `sync_runs`. The Performance API
/// streams, the directory with the approval tasks, the tasks and the two dictionaries
/// (indicators, metric fields) run side by side, each group parents first (see
/// `performance_api` and `directory_and_approvals`). Each endpoint keeps its own
/// budget, so running them together costs no rate. Reports come in stream order.
///
/// Each stream runs under its advisory lock, like the service's runs: a stream the
/// service (or another `sync`) is writing is waited for, never written twice at once.
pub async fn run_pass(
    ctx: &SyncContext,
    streams: &[Endpoint],
    mode: &ReadMode,
) -> anyhow::Result<Vec<StreamReport>> {
    let locks = stream_lock::lock_pool(&ctx.pool);
    let run = |stream| run_if_selected(ctx, &locks, streams, stream, mode);
    let dictionaries = async {
        let (indicators, metric_fields) =
            tokio::join!(run(Endpoint::Indicators), run(Endpoint::MetricFields));
        [indicators, metric_fields]
    };
    let (performance_api, (directory, approval_tasks), tasks, dictionaries) = tokio::join!(
        performance_api(&run),
        directory_and_approvals(ctx, &run),
        run(Endpoint::Tasks),
        dictionaries
    );
    let mut reports = Vec::new();
    for report in performance_api
        .into_iter()
        .chain(directory)
        .chain([approval_tasks, tasks])
        .chain(dictionaries)
    {
        reports.extend(report?);
    }
    Ok(reports)
}

/// The streams of the Feishu Performance API, parents first: semesters, then activities,
/// stage tasks and reviewees (which read the semesters) side by side; review data and
/// metric details follow the reviewees they read.
async fn performance_api<F>(run: &impl Fn(Endpoint) -> F) -> [Selected; 6]
where
    F: Future<Output = Selected>,
{
    let semesters = run(Endpoint::Semesters).await;
    let results = async {
        let reviewees = run(Endpoint::Reviewees).await;
        let (review_data, metric_details) =
            tokio::join!(run(Endpoint::ReviewData), run(Endpoint::MetricDetails));
        [reviewees, review_data, metric_details]
    };
    let (activities, stage_tasks, results) = tokio::join!(
        run(Endpoint::Activities),
        run(Endpoint::StageTasks),
        results
    );
    let [reviewees, review_data, metric_details] = results;
    [
        semesters,
        activities,
        stage_tasks,
        reviewees,
        review_data,
        metric_details,
    ]
}

/// The directory (departments, then users, the members of those departments) and the
/// approval tasks. Approvals of configured users need no directory and run beside it;
/// approvals of "everyone" read the users the directory stream has just written.
async fn directory_and_approvals<F>(
    ctx: &SyncContext,
    run: &impl Fn(Endpoint) -> F,
) -> ([Selected; 2], Selected)
where
    F: Future<Output = Selected>,
{
    let directory = async {
        let departments = run(Endpoint::Departments).await;
        [departments, run(Endpoint::Users).await]
    };
    if ctx.streams.approval_tasks.user_ids.is_empty() {
        let directory = directory.await;
        (directory, run(Endpoint::ApprovalTasks).await)
    } else {
        tokio::join!(directory, run(Endpoint::ApprovalTasks))
    }
}

/// One selected stream's journaled run under its lock; `None` if not selected, or if a
/// shutdown came while waiting for the lock.
async fn run_if_selected(
    ctx: &SyncContext,
    locks: &PgPool,
    streams: &[Endpoint],
    stream: Endpoint,
    mode: &ReadMode,
) -> anyhow::Result<Option<StreamReport>> {
    if !streams.contains(&stream) {
        return Ok(None);
    }
    let Some(lock) = StreamLock::acquire_waiting(locks, stream, &ctx.shutdown).await? else {
        return Ok(None);
    };
    let report = run_locked(ctx, stream, mode, &lock).await;
    lock.release().await?;
    report.map(Some)
}

/// One stream run with its `sync_runs` row.
pub async fn run_journaled(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
) -> anyhow::Result<StreamReport> {
    run_journaled_under(ctx, stream, mode, None).await
}

/// [`run_journaled`] under the stream's `lock`: if the lock's session is lost, the run
/// stops before its next page and is recorded `failed`, saying so.
pub async fn run_locked(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
    lock: &StreamLock,
) -> anyhow::Result<StreamReport> {
    // The run's own stop signal: a lost lock stops this run, not the service.
    let guarded = SyncContext {
        shutdown: ctx.shutdown.child_token(),
        ..ctx.clone()
    };
    // Boxed: a pass joins a dozen runs in one future, which must stay small.
    Box::pin(run_journaled_under(&guarded, stream, mode, Some(lock))).await
}

async fn run_journaled_under(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamReport> {
    let run_id = match db::start_run(
        &ctx.pool,
        stream.name(),
        mode.is_backfill(),
        mode.sweep_name(),
    )
    .await
    {
        Ok(id) => id,
        Err(error) => {
            // No row to record it in (a read-only database, say), but a failed run all the same.
            ctx.metrics
                .run_finished(stream, RunStatus::Failed.as_str(), Duration::ZERO);
            return Err(error);
        }
    };
    // Every log line of the run, the client's included, carries its run id and stream.
    let span = tracing::info_span!("run", run_id, stream = stream.name());
    run_journaled_in(ctx, stream, mode, run_id, lock)
        .instrument(span)
        .await
}

/// The body of [`run_journaled`], inside the run's span.
async fn run_journaled_in(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
    run_id: i64,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamReport> {
    let cost_before = api_cost(ctx, stream);
    let replaced_before = ctx.client.replaced_count(stream);
    let started = Instant::now();
    tracing::info!(%stream, backfill = mode.is_backfill(), sweep = mode.sweep_name(), "stream run started");
    let (result, panicked) = read_guarded(ctx, stream, mode, lock).await;
    let cost_after = api_cost(ctx, stream);
    let cost = ApiCost {
        requests: cost_after.requests - cost_before.requests,
        rate_limited: cost_after.rate_limited - cost_before.rate_limited,
    };
    let replaced = ctx.client.replaced_count(stream) - replaced_before;
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
    // A lost lock outweighs what the run made of being stopped.
    let (status, error) = match lock.and_then(StreamLock::loss) {
        Some(loss) => (RunStatus::Failed, Some(loss)),
        None => (status, error),
    };
    db::finish_run(&ctx.pool, run_id, status, counts, cost, error.as_deref()).await?;
    if let Some(ceiling) = ctx.client.rate_ceiling_per_minute(stream) {
        let ceiling = i32::try_from(ceiling).unwrap_or(i32::MAX);
        db::record_rate_ceiling(&ctx.pool, run_id, ceiling).await?;
    }
    let duration = started.elapsed();
    ctx.metrics.run_finished(stream, status.as_str(), duration);
    tracing::info!(%stream, status = status.as_str(), pages = counts.pages, rows_written = counts.rows_written,
        rows_retired = counts.rows_retired, requests = cost.requests, rate_limited = cost.rate_limited, replaced_code_points = replaced, duration_ms = duration.as_millis() as u64,
        error = error.as_deref().unwrap_or(""), "stream run finished");
    if let Some(payload) = panicked {
        // Recorded as failed; the panic goes on, so the service marks this loop dead.
        std::panic::resume_unwind(payload);
    }
    Ok(StreamReport {
        stream,
        status,
        counts,
        requests: cost.requests,
        rate_limited: cost.rate_limited,
        duration,
        error,
    })
}

/// Reads the stream unless the monthly quota is used up (which stops every stream, even
/// one with nothing to request), catching a panic: the run is then recorded as failed and
/// the panic's payload handed back to be resumed.
async fn read_guarded(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
    lock: Option<&StreamLock>,
) -> (
    anyhow::Result<StreamOutcome>,
    Option<Box<dyn std::any::Any + Send>>,
) {
    if let Some(stop) = ctx.client.quota_stop() {
        return (Err(stop.error(stream.name()).into()), None);
    }
    match AssertUnwindSafe(read_watched(ctx, stream, mode, lock))
        .catch_unwind()
        .await
    {
        Ok(result) => (result, None),
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            tracing::error!(%stream, panic = message, "stream run panicked");
            let error = anyhow::anyhow!("the run panicked: {message}");
            (Err(error), Some(payload))
        }
    }
}

/// [`read_stream`], stopped before its next page if `lock`'s session is lost.
async fn read_watched(
    ctx: &SyncContext,
    stream: Endpoint,
    mode: &ReadMode,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamOutcome> {
    match lock {
        Some(lock) => {
            lock.guard(&ctx.shutdown, read_stream(ctx, stream, mode))
                .await
        }
        None => read_stream(ctx, stream, mode).await,
    }
}

/// The text a panic was raised with (`panic!("...")`), or a placeholder.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_string(),
    }
}

/// The client's running totals for `stream`'s endpoint; a stream's runs never overlap, so
/// the difference over a run is the run's own cost.
fn api_cost(ctx: &SyncContext, stream: Endpoint) -> ApiCost {
    ApiCost {
        requests: ctx.client.requests_sent(stream),
        rate_limited: ctx.client.rate_limited_count(stream),
    }
}
