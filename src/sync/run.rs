//! Running streams: one stream once, or a pass over several with parents first, each run
//! journaled in `feishu.sync_runs`.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;

use sqlx::PgPool;
use tracing::Instrument;

use super::context::{RunOptions, StreamOutcome, StreamReport, SyncContext};
use super::performance_results::{dictionaries, metric_details, review_data, reviewees};
use super::{activities, approval_tasks, directory, semesters, stage_tasks, tasks};
use crate::db::{self, ApiCost, RunCounts, RunStatus};
use crate::feishu::Endpoint;
use crate::stream_lock::{self, StreamLock};

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
        Endpoint::Departments => directory::departments::run_once(ctx, opts).await,
        Endpoint::Users => directory::users::run_once(ctx, opts).await,
        Endpoint::Reviewees => reviewees::run_once(ctx, opts).await,
        Endpoint::ReviewData => review_data::run_once(ctx, opts).await,
        Endpoint::MetricDetails => metric_details::run_once(ctx, opts).await,
        Endpoint::Indicators => dictionaries::run_indicators(ctx, opts).await,
        Endpoint::MetricFields => dictionaries::run_metric_fields(ctx, opts).await,
    }
}

/// Runs `streams` and journals each run in `sync_runs`. Semesters run first, then
/// activities, stage tasks and reviewees (which read the semesters) side by side; review
/// data and metric details follow the reviewees they read. The two dictionaries
/// (indicators, metric fields) depend on nothing. Beside them the
/// directory runs departments, then users (the members of those departments), then
/// approval tasks when they are read for the directory's users; approvals of configured
/// users and tasks depend on nothing and run from the start. Each endpoint keeps its own
/// budget, so running them together costs no rate. Reports come in stream order.
///
/// Each stream runs under its advisory lock, like the service's runs: a stream the
/// service (or another `sync`) is writing is waited for, never written twice at once.
pub async fn sync(
    ctx: &SyncContext,
    streams: &[Endpoint],
    opts: &RunOptions,
) -> anyhow::Result<Vec<StreamReport>> {
    let locks = stream_lock::lock_pool(&ctx.pool);
    let run = |stream| run_if_selected(ctx, &locks, streams, stream, opts);
    let performance = async {
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
    };
    let dictionaries = async {
        let (indicators, metric_fields) =
            tokio::join!(run(Endpoint::Indicators), run(Endpoint::MetricFields));
        [indicators, metric_fields]
    };
    let directory = async {
        let departments = run(Endpoint::Departments).await;
        [departments, run(Endpoint::Users).await]
    };
    // Approvals of configured users need no directory and run beside it; approvals of
    // "everyone" read the users the directory stream has just written.
    let directory_and_approvals = async {
        if ctx.streams.approval_tasks.user_ids.is_empty() {
            let directory = directory.await;
            (directory, run(Endpoint::ApprovalTasks).await)
        } else {
            tokio::join!(directory, run(Endpoint::ApprovalTasks))
        }
    };
    let (performance, (directory, approval_tasks), tasks, dictionaries) = tokio::join!(
        performance,
        directory_and_approvals,
        run(Endpoint::Tasks),
        dictionaries
    );
    let mut reports = Vec::new();
    for report in performance
        .into_iter()
        .chain(directory)
        .chain([approval_tasks, tasks])
        .chain(dictionaries)
    {
        reports.extend(report?);
    }
    Ok(reports)
}

/// One selected stream's journaled run under its lock; `None` if not selected, or if a
/// shutdown came while waiting for the lock.
async fn run_if_selected(
    ctx: &SyncContext,
    locks: &PgPool,
    streams: &[Endpoint],
    stream: Endpoint,
    opts: &RunOptions,
) -> anyhow::Result<Option<StreamReport>> {
    if !streams.contains(&stream) {
        return Ok(None);
    }
    let Some(lock) = StreamLock::acquire_waiting(locks, stream, &ctx.shutdown).await? else {
        return Ok(None);
    };
    let report = run_locked(ctx, stream, opts, &lock).await;
    lock.release().await?;
    report.map(Some)
}

/// One stream run with its `sync_runs` row.
pub async fn run_journaled(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
) -> anyhow::Result<StreamReport> {
    run_journaled_under(ctx, stream, opts, None).await
}

/// [`run_journaled`] under the stream's `lock`: if the lock's session is lost, the run
/// stops before its next page and is recorded `failed`, saying so.
pub async fn run_locked(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
    lock: &StreamLock,
) -> anyhow::Result<StreamReport> {
    // The run's own stop signal: a lost lock stops this run, not the service.
    let guarded = SyncContext {
        shutdown: ctx.shutdown.child_token(),
        ..ctx.clone()
    };
    // Boxed: `sync` joins a dozen runs in one future, which must stay small.
    Box::pin(run_journaled_under(&guarded, stream, opts, Some(lock))).await
}

async fn run_journaled_under(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamReport> {
    let run_id =
        match db::start_run(&ctx.pool, stream.name(), opts.backfill, opts.sweep.name()).await {
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
    run_journaled_in(ctx, stream, opts, run_id, lock)
        .instrument(span)
        .await
}

/// The body of [`run_journaled`], inside the run's span.
async fn run_journaled_in(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
    run_id: i64,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamReport> {
    let cost_before = api_cost(ctx, stream);
    let replaced_before = ctx.client.replaced_count(stream);
    let started = Instant::now();
    tracing::info!(%stream, backfill = opts.backfill, sweep = opts.sweep.name(), "stream run started");
    // A used-up monthly quota stops every stream, even one with nothing to request.
    let mut panicked = None;
    let result = match ctx.client.quota_stop() {
        Some(stop) => Err(stop.error(stream.name()).into()),
        None => match AssertUnwindSafe(run_watched(ctx, stream, opts, lock))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                tracing::error!(%stream, panic = message, "stream run panicked");
                panicked = Some(payload);
                Err(anyhow::anyhow!("the run panicked: {message}"))
            }
        },
    };
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

/// [`run_once`], stopped before its next page if `lock`'s session is lost.
async fn run_watched(
    ctx: &SyncContext,
    stream: Endpoint,
    opts: &RunOptions,
    lock: Option<&StreamLock>,
) -> anyhow::Result<StreamOutcome> {
    match lock {
        Some(lock) => lock.guard(&ctx.shutdown, run_once(ctx, stream, opts)).await,
        None => run_once(ctx, stream, opts).await,
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
