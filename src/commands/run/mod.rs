//! `feishu-sync run`: the long-lived service. One schedule loop per enabled stream (croner,
//! UTC) fires its runs; the probes and `/metrics` are served beside them; SIGTERM or SIGINT
//! cancels one `CancellationToken`, and a `TaskTracker` waits for the runs in flight (up to
//! `server.shutdown_timeout_secs`) before the HTTP server stops gracefully.

pub mod credentials;
pub mod http;
pub mod jobs;
pub mod probe_server;
pub mod schedule;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Sweep, parse_schedule};
use crate::feishu::{ClientSettings, Endpoint};
use crate::shutdown::{self, CancellationToken};
use crate::startup::Application;
use crate::stream_lock::{self, StreamLock};
use crate::sync::{ReadMode, SyncContext};
use jobs::{SharedJobs, StreamJobs, WhenBusy};

/// Runs the service until SIGTERM or SIGINT (exit 0); `backfill` runs one backfill pass
/// first. A database written under another `user_id_type` keeps it up but unhealthy.
pub async fn execute(
    config: &Config,
    settings: ClientSettings,
    backfill: Option<ReadMode>,
) -> anyhow::Result<ExitCode> {
    let app = Application::build(&config.database, settings).await?;
    if let Err(error) =
        crate::user_id_setting::check_user_id_type(&app.pool, config.feishu.user_id_type).await
    {
        return http::serve_config_error(&config.server.listen, &format!("{error:#}")).await;
    }
    let streams: Vec<Endpoint> = Endpoint::ALL
        .into_iter()
        .filter(|e| config.streams.enabled(*e))
        .collect();
    let lock_pool = stream_lock::lock_pool(&app.pool);
    close_abandoned_runs(&app.pool, &lock_pool, &streams).await?;
    let shutdown = CancellationToken::new();
    let ctx = app.sync_context(config.streams.clone(), shutdown.clone());
    let jobs: SharedJobs = Arc::new(StreamJobs::new(ctx.clone(), lock_pool));
    tokio::spawn(shutdown::cancel_on_signal(shutdown.clone()));
    let running = start(config, &ctx, &jobs, &streams, backfill).await?;
    shutdown.cancelled().await;
    running.stop(config, &jobs, &ctx.pool).await?;
    Ok(ExitCode::SUCCESS)
}

/// What [`start`] set going, for [`Running::stop`] to stop in order.
struct Running {
    /// The schedule loops, the events, the history pruning and the start-up backfill.
    tracker: TaskTracker,
    /// What `/livez` reports; false once a loop died or the shutdown began.
    scheduler_alive: Arc<AtomicBool>,
    /// The probe and metrics server, and what stops it.
    http: tokio::task::JoinHandle<()>,
    http_stop: CancellationToken,
}

/// Serves the probes and `/metrics`, then (once Feishu accepts the credentials) starts
/// the schedule loops and the long connection, and beside them the history pruning and
/// the start-up backfill.
async fn start(
    config: &Config,
    ctx: &SyncContext,
    jobs: &SharedJobs,
    streams: &[Endpoint],
    backfill: Option<ReadMode>,
) -> anyhow::Result<Running> {
    let scheduler_alive = Arc::new(AtomicBool::new(true));
    let http_stop = CancellationToken::new();
    let refused = credentials::CredentialsProblem::default();
    let events = config
        .events
        .enabled
        .then(crate::events::status::SharedStatus::default);
    let dead_loops = http::DeadLoops::default();
    let http = serve_http(
        config,
        ctx,
        &scheduler_alive,
        &refused,
        events.clone(),
        dead_loops.clone(),
        http_stop.clone(),
    )
    .await?;
    let tracker = TaskTracker::new();
    if credentials::wait_until_accepted(&ctx.client, &refused, &ctx.shutdown).await {
        start_loops(
            config,
            streams,
            jobs,
            &tracker,
            &scheduler_alive,
            &dead_loops,
        )?;
        if let Some(status) = events {
            crate::events::start(config, ctx, &tracker, status);
        }
    }
    if let Some(days) = config.history.retain_days {
        tracker.spawn(crate::history::prune_every_hour(
            ctx.pool.clone(),
            days,
            ctx.shutdown.clone(),
        ));
    }
    if let Some(mode) = backfill {
        spawn_backfill(&tracker, jobs, streams, mode);
    }
    tracker.close();
    Ok(Running {
        tracker,
        scheduler_alive,
        http,
        http_stop,
    })
}

impl Running {
    /// After the shutdown signal: no new runs; the runs in flight get
    /// `server.shutdown_timeout_secs` to commit their page (those still going are
    /// journaled `interrupted`); then the HTTP server finishes the requests in hand.
    async fn stop(
        self,
        config: &Config,
        jobs: &SharedJobs,
        pool: &sqlx::PgPool,
    ) -> anyhow::Result<()> {
        tracing::info!(
            "shutting down: no new runs; waiting for runs in flight to commit their page"
        );
        self.scheduler_alive.store(false, Ordering::Relaxed);
        let timeout = Duration::from_secs(config.server.shutdown_timeout_secs);
        if tokio::time::timeout(timeout, self.tracker.wait())
            .await
            .is_err()
        {
            let busy = jobs.busy_streams();
            tracing::warn!(
                ?busy,
                "runs still going after the shutdown timeout; recording them as interrupted"
            );
            close_runs(
                pool,
                &busy,
                "interrupted",
                "shutdown timeout reached before the run stopped",
            )
            .await?;
        }
        self.http_stop.cancel();
        if let Err(error) = self.http.await {
            tracing::warn!(%error, "the probe and metrics server ended badly");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The start-up backfill: each stream once, in order, each waiting its turn while the
/// stream is busy (a scheduled run here, or another writer).
fn spawn_backfill(tracker: &TaskTracker, jobs: &SharedJobs, streams: &[Endpoint], mode: ReadMode) {
    let (jobs, streams) = (jobs.clone(), streams.to_vec());
    tracker.spawn(async move {
        for stream in streams {
            jobs.fire(stream, &mode, WhenBusy::Wait).await;
        }
        tracing::info!("start-up backfill finished");
    });
}

/// Serves the probes and `/metrics` until `stop`, then finishes the requests in hand.
async fn serve_http(
    config: &Config,
    ctx: &SyncContext,
    scheduler_alive: &Arc<AtomicBool>,
    credentials: &credentials::CredentialsProblem,
    events: Option<crate::events::status::SharedStatus>,
    dead_loops: http::DeadLoops,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on server.listen = {}", config.server.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving /livez, /readyz and /metrics");
    // The probes' own connection: a `/readyz` flood or a slow probe never takes one of
    // the runs' connections, and runs holding them all never make the probe time out.
    let probe_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with((*ctx.pool.connect_options()).clone());
    let state = http::HttpState {
        pool: probe_pool,
        metrics: ctx.metrics.clone(),
        client: ctx.client.clone(),
        scheduler_alive: scheduler_alive.clone(),
        credentials: credentials.clone(),
        events,
        dead_loops,
    };
    let app = http::router(state);
    let limits = probe_server::ProbeLimits::default();
    Ok(tokio::spawn(probe_server::serve(
        listener, app, limits, stop,
    )))
}

/// Spawns one schedule loop per stream. A loop that ends before the shutdown marks the
/// scheduler dead, which `/livez` reports.
fn start_loops(
    config: &Config,
    streams: &[Endpoint],
    jobs: &SharedJobs,
    tracker: &TaskTracker,
    scheduler_alive: &Arc<AtomicBool>,
    dead_loops: &http::DeadLoops,
) -> anyhow::Result<()> {
    let incremental = streams
        .iter()
        .map(|&stream| (stream, None, config.streams.schedule(stream)));
    let sweeps = config
        .streams
        .sweeps()
        .into_iter()
        .filter(|(stream, _, _, schedule)| streams.contains(stream) && *schedule != "off")
        .map(|(stream, sweep, _, schedule)| (stream, Some(sweep), schedule.to_string()));
    for (stream, sweep, schedule) in incremental.chain(sweeps).collect::<Vec<_>>() {
        let cron = parse_schedule(&schedule)
            .map_err(|e| anyhow::anyhow!("scheduling {stream} with {schedule:?}: {e}"))?;
        let (jobs, alive) = (jobs.clone(), scheduler_alive.clone());
        let mode = sweep.map_or(ReadMode::Incremental, ReadMode::from);
        let dead = dead_loops.clone();
        tracker.spawn(async move {
            let ended = schedule::run_loop(jobs.clone(), stream, cron, mode);
            let ended = supervise(stream, sweep, ended, &dead).await;
            if ended.is_err() || !jobs.shutdown().is_cancelled() {
                alive.store(false, Ordering::Relaxed);
            }
        });
        tracing::info!(%stream, sweep = sweep.map(Sweep::name), %schedule, "scheduled (UTC)");
    }
    Ok(())
}

/// Awaits a schedule loop; a panic in it (its run is already recorded `failed`) is
/// logged with its message and the loop named in `dead`, which `/livez` reports.
async fn supervise(
    stream: Endpoint,
    sweep: Option<Sweep>,
    ended: impl Future<Output = ()>,
    dead: &http::DeadLoops,
) -> Result<(), String> {
    use futures::FutureExt;
    let Err(payload) = std::panic::AssertUnwindSafe(ended).catch_unwind().await else {
        return Ok(());
    };
    let message = crate::sync::panic_message(payload.as_ref());
    let name = match sweep {
        None => stream.name().to_string(),
        Some(sweep) => format!("{stream} ({})", sweep.name()),
    };
    tracing::error!(%stream, sweep = sweep.map(Sweep::name), panic = message, "schedule loop stopped by a panic; /livez now answers 503");
    dead.add(format!("{name}: {message}"));
    Err(message)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_loop_is_named_with_its_message() {
        let dead = http::DeadLoops::default();

        let ended = supervise(
            Endpoint::Tasks,
            None,
            async { panic!("boom at page 3") },
            &dead,
        )
        .await;
        let fine = supervise(Endpoint::Users, None, async {}, &dead).await;

        assert_eq!(ended, Err("boom at page 3".to_string()));
        assert_eq!(fine, Ok(()));
        assert_eq!(dead.names(), ["tasks: boom at page 3"]);
    }
}
