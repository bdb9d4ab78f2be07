//! Applying the inbox: events not yet processed are read in arrival order, a short window
//! at a time, and coalesced by what they touch (one user, one department, one task, one
//! approver), so a burst of 20 events for one user costs one re-read. Each target is
//! applied through its stream's own code, the stream's work journaled in `sync_runs`
//! (`trigger = 'event'`), and its events marked processed, or left pending with the error
//! for a later round. Stored-but-unprocessed events of a crashed process are simply the
//! first batch of the next one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use serde_json::Value;
use tokio::sync::Notify;

use super::inbox::{self, Pending};
use super::subscriptions;
use crate::db::{self, ApiCost, RunCounts, RunStatus};
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
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
/// How often known approval codes are checked for subscriptions.
const SUBSCRIBE_EVERY: Duration = Duration::from_secs(60);

/// What one coalesced target needs done.
#[derive(Debug, Clone)]
enum Action {
    UpsertUser(Value),
    RetireUser,
    RereadDepartment,
    RetireDepartment,
    RereadApprovals,
    ApprovalInstance,
    RereadTask,
    RetireTask,
    Nothing,
}

impl Action {
    /// The stream whose tables the action writes; `None` for nothing.
    fn stream(&self) -> Option<Endpoint> {
        match self {
            Action::UpsertUser(_) | Action::RetireUser => Some(Endpoint::Users),
            Action::RereadDepartment | Action::RetireDepartment => Some(Endpoint::Departments),
            Action::RereadApprovals | Action::ApprovalInstance => Some(Endpoint::ApprovalTasks),
            Action::RereadTask | Action::RetireTask => Some(Endpoint::Tasks),
            Action::Nothing => None,
        }
    }
}

/// The events of one target, and the last word on what to do with it.
struct Target {
    id: String,
    action: Action,
    events: Vec<Pending>,
}

/// The service's event processor.
pub struct Processor {
    pub ctx: SyncContext,
    pub wake: Arc<Notify>,
    /// `events.approval_codes`.
    pub approval_codes: Vec<String>,
    /// `events.retain_days`, else `history.retain_days`.
    pub retain_days: Option<u32>,
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
            let pending = inbox::pending(&self.ctx.pool, BATCH).await?;
            let full = pending.len() as i64 == BATCH;
            let batch: Vec<Pending> = pending
                .into_iter()
                .filter(|e| !retry_at.contains_key(&e.event_id))
                .collect();
            if batch.is_empty() {
                return Ok(());
            }
            for failed in apply_batch(&self.ctx, batch).await? {
                retry_at.insert(failed, Instant::now() + RETRY_AFTER);
            }
            if !full || self.ctx.shutdown.is_cancelled() {
                return Ok(());
            }
        }
    }
}

/// Applies one batch; returns the ids of events that failed.
pub async fn apply_batch(ctx: &SyncContext, batch: Vec<Pending>) -> anyhow::Result<Vec<String>> {
    let mut by_stream: BTreeMap<Option<Endpoint>, Vec<Target>> = BTreeMap::new();
    for target in coalesce(ctx, batch).await {
        by_stream
            .entry(target.action.stream())
            .or_default()
            .push(target);
    }
    let mut failed = Vec::new();
    for (stream, targets) in by_stream {
        failed.extend(apply_stream(ctx, stream, targets).await?);
    }
    Ok(failed)
}

/// Groups events by target, in arrival order, the last event of a target deciding.
async fn coalesce(ctx: &SyncContext, batch: Vec<Pending>) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
    for event in batch {
        let (kind, id, action) = plan(ctx, &event).await;
        match index.get(&(kind, id.clone())) {
            Some(&i) => {
                targets[i].action = action;
                targets[i].events.push(event);
            }
            None => {
                index.insert((kind, id.clone()), targets.len());
                targets.push(Target {
                    id,
                    action,
                    events: vec![event],
                });
            }
        }
    }
    targets
}

/// What one event asks for: its target's kind and id, and the action.
async fn plan(ctx: &SyncContext, event: &Pending) -> (&'static str, String, Action) {
    let body = event.payload.get("event").cloned().unwrap_or_default();
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let object = body.get("object").cloned().unwrap_or_default();
    let nothing = ("nothing", event.event_id.clone(), Action::Nothing);
    match event.event_type.as_str() {
        "contact.user.created_v3" | "contact.user.updated_v3" => {
            match directory::user_key(ctx, &object) {
                Some(id) => ("user", id, Action::UpsertUser(object)),
                None => nothing,
            }
        }
        "contact.user.deleted_v3" => match directory::user_key(ctx, &object) {
            Some(id) => ("user", id, Action::RetireUser),
            None => nothing,
        },
        "contact.department.created_v3"
        | "contact.department.updated_v3"
        | "contact.department.deleted_v3" => {
            let id = text(&object, "open_department_id");
            let action = match event.event_type.ends_with("deleted_v3") {
                true => Action::RetireDepartment,
                false => Action::RereadDepartment,
            };
            if id.is_empty() {
                nothing
            } else {
                ("department", id, action)
            }
        }
        "approval_task" => {
            match approval_user(ctx, &text(&body, "user_id"), &text(&body, "open_id")).await {
                Some(user) => ("approver", user, Action::RereadApprovals),
                None => nothing,
            }
        }
        "approval_instance" => {
            let code = text(&body, "instance_code");
            if code.is_empty() {
                nothing
            } else {
                ("instance", code, Action::ApprovalInstance)
            }
        }
        "task.task.updated_v1" => {
            let id = text(&body, "task_id");
            let action = match body.get("obj_type").and_then(Value::as_i64) {
                Some(7) => Action::RetireTask,
                _ => Action::RereadTask,
            };
            if id.is_empty() {
                nothing
            } else {
                ("task", id, action)
            }
        }
        _ => nothing,
    }
}

/// The `feishu.users.id` of an approval event's user: `user_id` is always of type
/// user_id, so other id types take `open_id` (union ids through `feishu.users`).
async fn approval_user(ctx: &SyncContext, user_id: &str, open_id: &str) -> Option<String> {
    let found = match ctx.client.user_id_type() {
        UserIdType::UserId => user_id.to_string(),
        UserIdType::OpenId => open_id.to_string(),
        UserIdType::UnionId => {
            sqlx::query_scalar!("SELECT id FROM feishu.users WHERE open_id = $1", open_id)
                .fetch_optional(&ctx.pool)
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        }
    };
    (!found.is_empty()).then_some(found)
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
