//! Firing stream runs under the service: never two runs of one stream at once, in this
//! process (a per-stream guard) or across replicas (an advisory lock), and a count of runs
//! in flight so a shutdown can wait for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::PgPool;
use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::feishu::Endpoint;
use crate::stream_lock::StreamLock;
use crate::sync::{self, RunOptions, SyncContext};

/// How a firing treats a stream that is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Scheduled firings: skip, warn and count.
    Skip,
    /// The start-up backfill: wait its turn.
    Wait,
}

/// The service's stream runner, shared by every scheduled job.
pub struct StreamJobs {
    ctx: SyncContext,
    /// Connections that hold advisory locks for the length of a run; apart from the work
    /// pool, so five held locks can never starve the runs of connections.
    lock_pool: PgPool,
    guards: HashMap<Endpoint, Mutex<()>>,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Counts a firing as in flight until dropped.
struct InFlight<'a>(&'a StreamJobs);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl StreamJobs {
    /// A runner over `ctx`.
    pub fn new(ctx: SyncContext, lock_pool: PgPool) -> Self {
        let guards = Endpoint::ALL
            .into_iter()
            .map(|e| (e, Mutex::new(())))
            .collect();
        StreamJobs {
            ctx,
            lock_pool,
            guards,
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// Runs `stream` once unless it is busy here or on another replica, or the service is
    /// shutting down.
    pub async fn fire(&self, stream: Endpoint, opts: RunOptions, when_busy: WhenBusy) {
        // Counted before the shutdown check, so a shutdown never misses a starting run.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _in_flight = InFlight(self);
        if self.ctx.shutdown.is_triggered() {
            return;
        }
        if let Some(stop) = self.ctx.client.quota_stop() {
            tracing::warn!(%stream, until = %stop.until, "monthly API quota used up; skipping this firing");
            self.ctx.metrics.skipped_quota(stream);
            return;
        }
        let Some(_guard) = self.local_guard(stream, when_busy).await else {
            tracing::warn!(%stream, "previous run still going; skipping this firing");
            self.ctx.metrics.skipped_overlap(stream);
            return;
        };
        let Some(lock) = self.replica_lock(stream, when_busy).await else {
            return;
        };
        if let Err(error) = sync::run_journaled(&self.ctx, stream, &opts).await {
            tracing::error!(%stream, error = format!("{error:#}"), "run could not be journaled");
        }
        if let Err(error) = lock.release().await {
            tracing::warn!(%stream, error = format!("{error:#}"), "releasing the stream lock failed");
        }
    }

    async fn local_guard(
        &self,
        stream: Endpoint,
        when_busy: WhenBusy,
    ) -> Option<MutexGuard<'_, ()>> {
        match when_busy {
            WhenBusy::Skip => self.guards[&stream].try_lock().ok(),
            WhenBusy::Wait => Some(self.guards[&stream].lock().await),
        }
    }

    /// The stream's advisory lock; `None` if another writer holds it (after waiting, for
    /// `Wait`, until it is free or the service shuts down) or the database is unreachable.
    async fn replica_lock(&self, stream: Endpoint, when_busy: WhenBusy) -> Option<StreamLock> {
        let taken = match when_busy {
            WhenBusy::Skip => StreamLock::try_acquire(&self.lock_pool, stream).await,
            WhenBusy::Wait => {
                StreamLock::acquire_waiting(&self.lock_pool, stream, &self.ctx.shutdown).await
            }
        };
        match taken {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                if when_busy == WhenBusy::Skip {
                    tracing::info!(%stream, "another replica is running this stream; skipping");
                    self.ctx.metrics.skipped_locked(stream);
                }
                None
            }
            Err(error) => {
                tracing::error!(%stream, error = format!("{error:#}"), "cannot take the stream lock");
                None
            }
        }
    }

    /// Streams with a run in flight in this process.
    pub fn busy_streams(&self) -> Vec<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .filter(|e| self.guards[e].try_lock().is_err())
            .collect()
    }

    /// Resolves when no firing is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable(); // registered before the check, so no wake-up is lost
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Shares a runner with jobs that need `'static` closures.
pub type SharedJobs = Arc<StreamJobs>;
