//! What one stored event asks for, read from its payload alone: the target it touches
//! (one user, department, task, approver or approval instance) and the action to take on
//! it. The processor coalesces events by target and applies the last action of each.

use serde_json::Value;

use crate::feishu::{Endpoint, UserIdType};
use crate::sync::directory::events::user_key_as;

/// What one coalesced target needs done.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Upsert the user from the event's `object` (re-read when a scope hides fields).
    UpsertUser(Value),
    RetireUser,
    /// Department events carry no i18n names or member counts: one request re-reads it.
    RereadDepartment,
    RetireDepartment,
    /// Re-read the approver's configured topics, as a poll would.
    RereadApprovals,
    /// Find the instance's initiator, then re-read their topic 3.
    ApprovalInstance,
    RereadTask,
    RetireTask,
    /// Unknown types, or events that name no target: stored, acked, marked processed.
    Nothing,
}

impl Action {
    /// The stream whose tables the action writes; `None` for nothing.
    pub(super) fn stream(&self) -> Option<Endpoint> {
        match self {
            Action::UpsertUser(_) | Action::RetireUser => Some(Endpoint::Users),
            Action::RereadDepartment | Action::RetireDepartment => Some(Endpoint::Departments),
            Action::RereadApprovals | Action::ApprovalInstance => Some(Endpoint::ApprovalTasks),
            Action::RereadTask | Action::RetireTask => Some(Endpoint::Tasks),
            Action::Nothing => None,
        }
    }
}

/// An event's target and action.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    /// `user`, `department`, `approver`, `instance`, `task` or `nothing`.
    pub(super) kind: &'static str,
    pub(super) id: String,
    pub(super) action: Action,
    /// `id` is an approver's open_id that `feishu.users` must translate first (with
    /// `user_id_type = union_id`, which approval events do not carry).
    pub(super) id_is_open_id: bool,
}

impl Plan {
    fn new(kind: &'static str, id: String, action: Action) -> Plan {
        Plan {
            kind,
            id,
            action,
            id_is_open_id: false,
        }
    }
}

/// The plan of event `event_id` of `event_type`, whose ids are read as `user_id_type`
/// (`feishu.user_id_type`). An event that names no target plans nothing.
pub(super) fn plan(
    event_id: &str,
    event_type: &str,
    payload: &Value,
    user_id_type: UserIdType,
) -> Plan {
    let body = payload.get("event").cloned().unwrap_or_default();
    let object = body.get("object").cloned().unwrap_or_default();
    let nothing = Plan::new("nothing", event_id.to_string(), Action::Nothing);
    let target = |kind, id: String, action| match id.is_empty() {
        true => nothing.clone(),
        false => Plan::new(kind, id, action),
    };
    let user_key = user_key_as(user_id_type, &object).unwrap_or_default();
    match event_type {
        "contact.user.created_v3" | "contact.user.updated_v3" => {
            target("user", user_key, Action::UpsertUser(object))
        }
        "contact.user.deleted_v3" => target("user", user_key, Action::RetireUser),
        "contact.department.created_v3" | "contact.department.updated_v3" => target(
            "department",
            text(&object, "open_department_id"),
            Action::RereadDepartment,
        ),
        "contact.department.deleted_v3" => target(
            "department",
            text(&object, "open_department_id"),
            Action::RetireDepartment,
        ),
        "approval_task" => approver(&body, user_id_type).unwrap_or(nothing),
        "approval_instance" => target(
            "instance",
            text(&body, "instance_code"),
            Action::ApprovalInstance,
        ),
        "task.task.updated_v1" => {
            let action = match body.get("obj_type").and_then(Value::as_i64) {
                Some(7) => Action::RetireTask,
                _ => Action::RereadTask,
            };
            target("task", text(&body, "task_id"), action)
        }
        _ => nothing,
    }
}

/// An `approval_task` event's approver: `user_id` is always of type user_id, so other id
/// types take `open_id` (translated later for union ids).
fn approver(body: &Value, user_id_type: UserIdType) -> Option<Plan> {
    let (id, id_is_open_id) = match user_id_type {
        UserIdType::UserId => (text(body, "user_id"), false),
        UserIdType::OpenId => (text(body, "open_id"), false),
        UserIdType::UnionId => (text(body, "open_id"), true),
    };
    (!id.is_empty()).then_some(Plan {
        id_is_open_id,
        ..Plan::new("approver", id, Action::RereadApprovals)
    })
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
