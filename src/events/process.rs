//! Applying the inbox: events not yet processed are read in arrival order, a short window
//! at a time, and coalesced by what they touch (one user, one department, one task, one
//! approver), so a burst of 20 events for one user costs one re-read. Each target is
//! applied through its stream's own code, the stream's work journaled in `sync_runs`
//! (`trigger = 'event'`), and its events marked processed, or left pending with the error
//! for a later round. Approval re-reads take the approval stream's advisory lock, as a
//! scheduled run does; while another writer holds it their events stay pending and are
//! tried again shortly. Stored-but-unprocessed events of a crashed process are simply the
//! first batch of the next one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Notify;

use super::inbox::{self, Pending};
use super::plan::Action;
use super::subscriptions;
use super::targets::{Target, approval_user, coalesce};
use crate::db::{self, ApiCost, RunCounts, RunStatus};
use crate::feishu::{ApiRequest, Endpoint};
use crate::stream_lock::StreamLock;
use crate::sync::SyncContext;
use crate::sync::directory::events as directory;
use crate::sync::{approval_tasks, tasks};
use feishu_endpoints::{APPROVAL_INSTANCE_PATH, fill_path};

/// How long the processor waits after a wake-up, gathering the burst it belongs to.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(200);
/// Events read per round.
const BATCH: i64 = 500;
/// A failed event is tried again after this.
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// An event left pending because its stream was busy is tried again after this: trying
/// costs one query and no API request.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);
/// How often known approval codes are checked for subscriptions.
const SUBSCRIBE_EVERY: Duration = Duration::from_secs(60);

/// The service's event processor.
pub struct Processor {
    pub ctx: SyncContext,
    pub wake: Arc<Notify>,
    /// `events.approval_codes`.
    pub approval_codes: Vec<String>,
    /// `events.retain_days`, else `history.retain_days`.
    pub retain_days: Option<u32>,
    /// Connections for the stream locks (see [`takes_stream_lock`]), apart from the work
    /// pool like the service's own.
    pub locks: PgPool,
}

/// The events of one batch left pending.
#[derive(Debug, Default)]
pub struct Unapplied {
    /// Applying failed: tried again after [`RETRY_AFTER`].
    pub failed: Vec<String>,
    /// The stream was busy, nothing was read: tried again after [`BUSY_RETRY_AFTER`].
    pub deferred: Vec<String>,
}

impl Processor {
    /// Applies events as they come until the shutdown; the batch in hand is finished.
    pub async fn run(self) {
        let mut retry_at: HashMap<String, Instant> = HashMap::new();
        let mut subscribed_at: Option<Instant> = None;
        let mut pruned_at: Option<Instant> = None;
        loop {
            if subscribed_at.is_none_or(|at| at.elapsed() >= SUBSCRIBE_EVERY) {
                subscriptions::subscribe_known(&self.ctx, &self.approval_codes).await;
                subscribed_at = Some(Instant::now());
            }
            if let Some(days) = self.retain_days
                && pruned_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600))
            {
                match inbox::prune(&self.ctx.pool, days).await {
                    Ok(n) if n > 0 => tracing::info!(pruned = n, "pruned processed events"),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "pruning events failed")
                    }
                }
                pruned_at = Some(Instant::now());
            }
            if let Err(error) = self.drain(&mut retry_at).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "processing events failed; trying again shortly"
                );
            }
            tokio::select! {
                _ = self.ctx.shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            tokio::select! {
                _ = self.ctx.shutdown.cancelled() => break,
                _ = tokio::time::sleep(COALESCE_WINDOW) => {}
            }
        }
        tracing::info!("event processor stopped");
    }

    /// Applies every pending event that is not waiting for a retry.
    async fn drain(&self, retry_at: &mut HashMap<String, Instant>) -> anyhow::Result<()> {
        loop {
            let now = Instant::now();
            retry_at.retain(|_, at| *at > now);
            // Events waiting for a retry are left out in the query, so a backlog of them
            // (a long scheduled approval pass) never hides the events behind it.
            let waiting: Vec<String> = retry_at.keys().cloned().collect();
            let batch = inbox::pending(&self.ctx.pool, BATCH, &waiting).await?;
            let full = batch.len() as i64 == BATCH;
            if batch.is_empty() {
                return Ok(());
            }
            let unapplied = apply_batch(&self.ctx, &self.locks, batch).await?;
            let now = Instant::now();
            for failed in unapplied.failed {
                retry_at.insert(failed, now + RETRY_AFTER);
            }
            for deferred in unapplied.deferred {
                retry_at.insert(deferred, now + BUSY_RETRY_AFTER);
            }
            if !full || self.ctx.shutdown.is_cancelled() {
                return Ok(());
            }
        }
    }
}

/// Applies one batch, taking stream locks from `locks`; returns the events left pending.
pub async fn apply_batch(
    ctx: &SyncContext,
    locks: &PgPool,
    batch: Vec<Pending>,
) -> anyhow::Result<Unapplied> {
    let mut by_stream: BTreeMap<Option<Endpoint>, Vec<Target>> = BTreeMap::new();
    for target in coalesce(ctx, batch).await {
        by_stream
            .entry(target.action.stream())
            .or_default()
            .push(target);
    }
    let mut unapplied = Unapplied::default();
    for (stream, targets) in by_stream {
        let lock = match stream.filter(|s| takes_stream_lock(*s)) {
            Some(stream) => match StreamLock::try_acquire(locks, stream).await? {
                Some(lock) => Some(lock),
                None => {
                    unapplied
                        .deferred
                        .extend(defer(ctx, stream, &targets).await?);
                    continue;
                }
            },
            None => None,
        };
        unapplied
            .failed
            .extend(apply_stream(ctx, stream, targets).await?);
        if let Some(lock) = lock
            && let Err(error) = lock.release().await
        {
            tracing::warn!(
                error = format!("{error:#}"),
                "releasing a stream lock failed"
            );
        }
    }
    Ok(unapplied)
}

/// Whether event re-reads of `stream` take its advisory lock, as a scheduled run does.
/// Approval re-reads do: they re-read whole (user, topic) partitions and retire what
/// moved, the very rows a scheduled `approval_tasks` pass writes and retires, so the two
/// must never run at once. The directory's and tasks' events write single records by id,
/// as the passes do, and stay free of the lock: a pass takes minutes, and holding their
/// events that long would lose the freshness they are for.
fn takes_stream_lock(stream: Endpoint) -> bool {
    stream == Endpoint::ApprovalTasks
}

/// Leaves the events of `targets` pending because another writer (a scheduled run,
/// another replica, a one-off `sync`) holds `stream`'s lock: nothing is read or written,
/// the events keep `processed_at` NULL with a note in `error`, and the retry path tries
/// them again after [`BUSY_RETRY_AFTER`]. Returns their ids.
async fn defer(
    ctx: &SyncContext,
    stream: Endpoint,
    targets: &[Target],
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = targets
        .iter()
        .flat_map(|t| t.events.iter().map(|e| e.event_id.clone()))
        .collect();
    let note = format!(
        "{stream} is busy: another writer holds its lock (a scheduled run, another replica or a one-off sync); \
         applied once it is free"
    );
    inbox::finish(&ctx.pool, &ids, Some(&note)).await?;
    for event in targets.iter().flat_map(|t| &t.events) {
        ctx.metrics.event(&event.event_type, "deferred");
    }
    tracing::info!(%stream, events = ids.len(), "stream busy; its events wait for the lock");
    Ok(ids)
}

/// Applies one stream's targets under one `sync_runs` row (`trigger = 'event'`); events
/// of no stream (unknown types, nothing to do) are only marked processed.
async fn apply_stream(
    ctx: &SyncContext,
    stream: Option<Endpoint>,
    targets: Vec<Target>,
) -> anyhow::Result<Vec<String>> {
    let Some(stream) = stream else {
        for target in &targets {
            settle(ctx, target, None).await?;
        }
        return Ok(Vec::new());
    };
    let run_id = db::start_event_run(&ctx.pool, stream.name()).await?;
    let started = Instant::now();
    let requests_before = (
        ctx.client.requests_sent(stream),
        ctx.client.rate_limited_count(stream),
    );
    let mut counts = RunCounts::default();
    let mut errors = Vec::new();
    let mut failed = Vec::new();
    for target in &targets {
        match apply(ctx, &target.action, &target.id).await {
            Ok(done) => {
                counts.add(done);
                settle(ctx, target, None).await?;
            }
            Err(error) => {
                let error = format!("{}: {error:#}", target.id);
                tracing::warn!(%stream, error, "applying events failed; they stay pending");
                settle(ctx, target, Some(&error)).await?;
                failed.extend(target.events.iter().map(|e| e.event_id.clone()));
                errors.push(error);
            }
        }
    }
    let cost = ApiCost {
        requests: ctx.client.requests_sent(stream) - requests_before.0,
        rate_limited: ctx.client.rate_limited_count(stream) - requests_before.1,
    };
    let (status, error) = match errors.as_slice() {
        [] => (RunStatus::Succeeded, None),
        _ => (RunStatus::Failed, Some(errors.join("; "))),
    };
    db::finish_run(&ctx.pool, run_id, status, counts, cost, error.as_deref()).await?;
    ctx.metrics
        .run_finished(stream, status.as_str(), started.elapsed());
    Ok(failed)
}

/// Marks a target's events processed (or records the error), and counts them.
async fn settle(ctx: &SyncContext, target: &Target, error: Option<&str>) -> anyhow::Result<()> {
    let ids: Vec<String> = target.events.iter().map(|e| e.event_id.clone()).collect();
    inbox::finish(&ctx.pool, &ids, error).await?;
    let now = Utc::now();
    for event in &target.events {
        let outcome = match (error, &target.action) {
            (Some(_), _) => "failed",
            (None, Action::Nothing) => "ignored",
            (None, _) => "applied",
        };
        ctx.metrics.event(&event.event_type, outcome);
        if error.is_none()
            && let Some(created) = event.created_at
        {
            ctx.metrics
                .event_lag((now - created).num_milliseconds() as f64 / 1000.0);
        }
    }
    Ok(())
}

/// Does what `action` says for target `id`, through the stream's code.
async fn apply(ctx: &SyncContext, action: &Action, id: &str) -> anyhow::Result<RunCounts> {
    let topics = ctx.streams.approval_tasks.topics.clone();
    match action {
        Action::UpsertUser(object) => directory::apply_user(ctx, id, object).await,
        Action::RetireUser => directory::retire_user(ctx, id).await,
        Action::RereadDepartment => directory::reread_department(ctx, id).await,
        Action::RetireDepartment => directory::retire_department(ctx, id).await,
        Action::RereadApprovals => approvals(ctx, id, &topics).await,
        Action::ApprovalInstance => match initiator(ctx, id).await? {
            Some(user) => approvals(ctx, &user, &["3".to_string()]).await,
            None => Ok(RunCounts::default()),
        },
        Action::RereadTask => tasks::reread_task(ctx, id).await,
        Action::RetireTask => tasks::retire_task(ctx, id).await,
        Action::Nothing => Ok(RunCounts::default()),
    }
}

/// Re-reads `topics` of one approver through the approval stream's partition reader.
async fn approvals(ctx: &SyncContext, user: &str, topics: &[String]) -> anyhow::Result<RunCounts> {
    let outcome = approval_tasks::reread_users(ctx, &[user.to_string()], topics).await;
    if let Some(error) = outcome
        .stopped_by
        .as_ref()
        .or(outcome.failed_partitions.first())
    {
        anyhow::bail!("{error}");
    }
    Ok(outcome.counts)
}

/// The initiator of approval instance `code` (`GET /approval/v4/instances/:id`).
async fn initiator(ctx: &SyncContext, code: &str) -> anyhow::Result<Option<String>> {
    let mut request = ApiRequest::new(Endpoint::ApprovalTasks);
    request.path = Some(fill_path(APPROVAL_INSTANCE_PATH, code));
    let reply = ctx
        .client
        .call(&request)
        .await
        .with_context(|| format!("reading approval instance {code}"))?;
    let field = |k: &str| {
        reply
            .data
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(approval_user(ctx, &field("user_id"), &field("open_id")).await)
}
