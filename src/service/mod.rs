//! `feishu-sync run`: the long-lived service. It schedules every enabled stream with
//! tokio-cron-scheduler, serves the probes and `/metrics`, and shuts down gracefully.
//!
//! The scheduler's known pitfalls are handled here rather than inherited:
//! - it spawns every firing without waiting, so [`jobs::StreamJobs`] skips a firing
//!   whose stream is still running (and counts it);
//! - its `shutdown()` does not wait for jobs in flight, so the runner counts them and the
//!   shutdown waits (up to `server.shutdown_timeout_secs`);
//! - it fixes a time zone's offset when a job is created, so every schedule is UTC.

pub mod http;
pub mod jobs;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::config::Config;
use crate::db;
use crate::feishu::{ClientSettings, Endpoint, FeishuClient};
use crate::metrics::Metrics;
use crate::shutdown::{Shutdown, ShutdownTrigger};
use crate::stream_lock::{self, StreamLock};
use crate::sync::{RunOptions, SyncContext};
use jobs::{SharedJobs, StreamJobs, WhenBusy};

/// Runs the service until SIGTERM or SIGINT; `backfill` runs one backfill pass first.
pub async fn run(
    config: &Config,
    settings: ClientSettings,
    backfill: Option<RunOptions>,
) -> anyhow::Result<()> {
    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let streams: Vec<Endpoint> = Endpoint::ALL
        .into_iter()
        .filter(|e| config.streams.enabled(*e))
        .collect();
    let lock_pool = stream_lock::lock_pool(&pool);
    close_abandoned_runs(&pool, &lock_pool, &streams).await?;
    let metrics = Arc::new(Metrics::new());
    let client = Arc::new(
        FeishuClient::with_metrics(settings, metrics.clone())
            .context("building the HTTP client")?,
    );
    let (trigger, shutdown) = Shutdown::channel();
    let ctx = SyncContext {
        pool: pool.clone(),
        client,
        streams: config.streams.clone(),
        metrics,
        shutdown,
    };
    let jobs: SharedJobs = Arc::new(StreamJobs::new(ctx.clone(), lock_pool));
    tokio::spawn(trigger_on_signal(trigger));

    let scheduler_alive = Arc::new(AtomicBool::new(false));
    let http = serve_http(config, &ctx, scheduler_alive.clone()).await?;
    let mut scheduler = start_scheduler(config, &streams, &jobs).await?;
    scheduler_alive.store(true, Ordering::Relaxed);
    if let Some(opts) = backfill {
        let jobs = jobs.clone();
        let streams = streams.clone();
        tokio::spawn(async move {
            for stream in streams {
                jobs.fire(stream, opts, WhenBusy::Wait).await;
            }
            tracing::info!("start-up backfill finished");
        });
    }

    ctx.shutdown.clone().wait().await;
    tracing::info!("shutting down: no new runs; waiting for runs in flight to commit their page");
    scheduler_alive.store(false, Ordering::Relaxed);
    if let Err(error) = scheduler.shutdown().await {
        tracing::warn!(%error, "stopping the scheduler");
    }
    let timeout = Duration::from_secs(config.server.shutdown_timeout_secs);
    if tokio::time::timeout(timeout, jobs.wait_idle())
        .await
        .is_err()
    {
        let busy = jobs.busy_streams();
        tracing::warn!(
            ?busy,
            "runs still going after the shutdown timeout; recording them as interrupted"
        );
        close_runs(
            &pool,
            &busy,
            "interrupted",
            "shutdown timeout reached before the run stopped",
        )
        .await?;
    }
    http.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Fires the shutdown on SIGTERM or SIGINT.
async fn trigger_on_signal(trigger: ShutdownTrigger) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("signal received");
    trigger.trigger();
}

async fn serve_http(
    config: &Config,
    ctx: &SyncContext,
    scheduler_alive: Arc<AtomicBool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on server.listen = {}", config.server.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving /livez, /readyz and /metrics");
    let state = http::HttpState {
        pool: ctx.pool.clone(),
        metrics: ctx.metrics.clone(),
        client: ctx.client.clone(),
        scheduler_alive,
    };
    let app = http::router(state);
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "health and metrics server stopped");
        }
    }))
}

async fn start_scheduler(
    config: &Config,
    streams: &[Endpoint],
    jobs: &SharedJobs,
) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new()
        .await
        .context("creating the scheduler")?;
    for &stream in streams {
        let schedule = config.streams.schedule(stream);
        let jobs = jobs.clone();
        // Job::new_async evaluates the schedule in UTC.
        let job = Job::new_async(schedule.as_str(), move |_id, _scheduler| {
            let jobs = jobs.clone();
            Box::pin(async move {
                jobs.fire(stream, RunOptions::default(), WhenBusy::Skip)
                    .await
            })
        })
        .with_context(|| format!("scheduling {stream} with {schedule:?}"))?;
        scheduler
            .add(job)
            .await
            .with_context(|| format!("adding the {stream} job"))?;
        tracing::info!(%stream, %schedule, "scheduled (UTC)");
    }
    scheduler.start().await.context("starting the scheduler")?;
    Ok(scheduler)
}

/// After a crash, runs of free streams still marked `running` are closed as `abandoned`.
/// A stream whose lock another replica holds is left alone: its run is alive.
async fn close_abandoned_runs(
    pool: &sqlx::PgPool,
    lock_pool: &sqlx::PgPool,
    streams: &[Endpoint],
) -> anyhow::Result<()> {
    for &stream in streams {
        if let Some(lock) = StreamLock::try_acquire(lock_pool, stream).await? {
            close_runs(
                pool,
                &[stream],
                "abandoned",
                "the process ended without closing this run",
            )
            .await?;
            lock.release().await?;
        }
    }
    Ok(())
}

async fn close_runs(
    pool: &sqlx::PgPool,
    streams: &[Endpoint],
    status: &str,
    error: &str,
) -> anyhow::Result<()> {
    let names: Vec<String> = streams.iter().map(|s| s.name().to_string()).collect();
    let closed = sqlx::query!(
        "UPDATE feishu.sync_runs SET status = $2, finished_at = now(), error = $3
          WHERE status = 'running' AND stream = ANY($1::text[])",
        &names,
        status,
        error
    )
    .execute(pool)
    .await
    .context("closing unfinished runs")?;
    if closed.rows_affected() > 0 {
        tracing::warn!(
            closed = closed.rows_affected(),
            status,
            "closed unfinished runs"
        );
    }
    Ok(())
}
