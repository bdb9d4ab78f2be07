//! Firing stream runs under the service: never two runs of one stream at once, in this
//! process (a per-stream guard: the start-up backfill and the schedule loop) or across
//! writers (the advisory lock replicas and one-off `sync` runs share). A shutdown waits
//! for the firings through the service's `TaskTracker`.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{Mutex, MutexGuard};

use crate::feishu::Endpoint;
use crate::shutdown::CancellationToken;
use crate::stream_lock::StreamLock;
use crate::sync::{self, ReadMode, SyncContext};

/// How a firing treats a stream that is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Scheduled firings: skip, warn and count.
    Skip,
    /// The start-up backfill: wait its turn.
    Wait,
}

/// The service's stream runner, shared by every schedule loop.
pub struct StreamJobs {
    ctx: SyncContext,
    /// Connections that hold advisory locks for the length of a run; apart from the work
    /// pool, so five held locks can never starve the runs of connections.
    lock_pool: PgPool,
    guards: HashMap<Endpoint, Mutex<()>>,
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
        }
    }

    /// Runs `stream` once unless it is busy here or on another replica, the monthly quota
    /// is used up, or the service is shutting down.
    pub async fn fire(&self, stream: Endpoint, mode: &ReadMode, when_busy: WhenBusy) {
        if self.ctx.shutdown.is_cancelled() {
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
        if let Err(error) = sync::run_locked(&self.ctx, stream, mode, &lock).await {
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
                    tracing::info!(%stream, "another replica or a one-off sync is running this stream; skipping");
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

    /// The service's shutdown signal.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.ctx.shutdown
    }

    /// Counts `missed` firings of `stream` skipped because its run outlasted them.
    pub fn missed_firings(&self, stream: Endpoint, missed: u64) {
        tracing::warn!(%stream, missed, "previous run still going; skipping this firing");
        self.ctx.metrics.skipped_overlaps(stream, missed);
    }

    /// Streams with a run in flight in this process.
    pub fn busy_streams(&self) -> Vec<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .filter(|e| self.guards[e].try_lock().is_err())
            .collect()
    }
}

/// Shares a runner with the schedule loops, which are `'static` tasks.
pub type SharedJobs = Arc<StreamJobs>;
