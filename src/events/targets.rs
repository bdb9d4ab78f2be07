//! What each event targets (one user, one department, one task, one approver), and the
//! events of a batch grouped by target, so a burst of 20 events for one user costs one
//! re-read.

use std::collections::HashMap;

use super::inbox::Pending;
use super::plan::{self, Action};
use crate::feishu::UserIdType;
use crate::sync::SyncContext;

/// The events of one target, and the last word on what to do with it.
pub(super) struct Target {
    pub(super) id: String,
    pub(super) action: Action,
    pub(super) events: Vec<Pending>,
}

/// Groups events by target, in arrival order, the last event of a target deciding.
pub(super) async fn coalesce(ctx: &SyncContext, batch: Vec<Pending>) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
    for event in batch {
        let (kind, id, action) = target_of(ctx, &event).await;
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

/// What one event asks for: its target's kind and id, and the action; an approver
/// named by open_id under `user_id_type = union_id` is translated through `feishu.users`.
async fn target_of(ctx: &SyncContext, event: &Pending) -> (&'static str, String, Action) {
    let plan = plan::plan(
        &event.event_id,
        &event.event_type,
        &event.payload,
        ctx.client.user_id_type(),
    );
    if !plan.id_is_open_id {
        return (plan.kind, plan.id, plan.action);
    }
    match approval_user(ctx, "", &plan.id).await {
        Some(id) => (plan.kind, id, plan.action),
        None => ("nothing", event.event_id.clone(), Action::Nothing),
    }
}

/// The `feishu.users.id` of an approval event's user: `user_id` is always of type
/// user_id, so other id types take `open_id` (union ids through `feishu.users`).
pub(super) async fn approval_user(
    ctx: &SyncContext,
    user_id: &str,
    open_id: &str,
) -> Option<String> {
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
