//! The REST side of events: the single-record reads an event's consumer makes (one task,
//! one approval instance) and the approval subscription, which decides whether approval
//! events are emitted at all.

use serde_json::{Value, json};

use super::params::{ApiError, Query, success};
use super::state::{Shared, lock};
use super::wire;

/// The approval API's answer to a subscription that exists already (HTTP 400), as the
/// subscribe document's error-code table gives it:
/// <https://open.feishu.cn/document/server-docs/approval-v4/event/event-interface/subscribe>.
pub(crate) const ALREADY_SUBSCRIBED: (i64, &str) = (1390007, "subscription existed");

/// `GET /open-apis/task/v1/tasks/{task_id}`: `data.task`.
pub(crate) fn task(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    let tenant = lock(&shared.tenant);
    match tenant.tasks.iter().find(|t| t.id == id) {
        Some(t) => Ok(success(json!({ "task": wire::task(t) }))),
        None => Err(ApiError::new(404, 1470404, "task not found")),
    }
}

/// `GET /open-apis/approval/v4/instances/{instance_id}`: the instance's initiator
/// (`user_id`, `open_id`) and status, found through the initiator's topic-3 task.
pub(crate) fn instance(shared: &Shared, code: &str, _query: &Query) -> Result<Value, ApiError> {
    let tenant = lock(&shared.tenant);
    let found = tenant
        .approval_tasks
        .iter()
        .find(|a| a.topic == "3" && a.process_code == code);
    let Some(a) = found else {
        return Err(ApiError::new(400, 1390001, "param is invalid"));
    };
    let user_id = tenant
        .people
        .iter()
        .find(|p| p.open_id == a.user_id)
        .map_or(a.user_id.clone(), |p| p.user_id.clone());
    Ok(success(json!({
        "approval_code": a.definition_code,
        "approval_name": a.definition_name,
        "instance_code": a.process_code,
        "status": a.process_status,
        "user_id": user_id,
        "open_id": a.user_id,
        "serial_number": "202612020001",
    })))
}

/// `POST /open-apis/approval/v4/approvals/{approval_code}/subscribe`: the first request
/// subscribes, later ones answer [`ALREADY_SUBSCRIBED`].
pub(crate) fn subscribe(shared: &Shared, code: &str) -> Result<Value, ApiError> {
    let known = lock(&shared.tenant)
        .approval_tasks
        .iter()
        .any(|a| a.definition_code == code)
        || code.starts_with("extra-");
    if !known {
        return Err(ApiError::new(400, 1390001, "param is invalid"));
    }
    let mut hub = lock(&shared.events);
    let requests = hub.subscriptions.entry(code.to_string()).or_default();
    *requests += 1;
    match *requests {
        1 => Ok(success(json!({}))),
        _ => Err(ApiError::new(
            400,
            ALREADY_SUBSCRIBED.0,
            ALREADY_SUBSCRIBED.1,
        )),
    }
}
