//! The events the simulated tenant pushes over the long connection: what a change of the
//! tenant emits (the diff of its state before and after a test's change), the queue of
//! events waiting for a connection, those sent but not yet acknowledged (re-sent after
//! `resend_after`, as Feishu does after about 3 s), and the controls tests use to make the
//! connection misbehave.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::people::{Department, Person};
use super::tenant::{ApprovalTask, Tenant};
use super::wire;

/// One event on its way to the client.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) event_id: String,
    pub(crate) payload: Vec<u8>,
}

/// What tests can make the long connection do.
#[derive(Debug, Clone)]
pub(crate) struct Controls {
    /// Each event is sent in this many fragments (1: whole).
    pub(crate) fragments: usize,
    /// Each event is delivered twice.
    pub(crate) duplicate: bool,
    /// Acknowledgements are ignored, so events are re-sent every `resend_after`.
    pub(crate) withhold_acks: bool,
    /// How long an unacknowledged event waits before it is sent again.
    pub(crate) resend_after: Duration,
    /// `/callback/ws/endpoint` answers this code and message instead of a URL.
    pub(crate) refuse_endpoint: Option<(i64, String)>,
    /// The WebSocket handshake is refused with this `Handshake-Status` (and
    /// `Handshake-Autherrcode`).
    pub(crate) refuse_handshake: Option<(u16, Option<i64>)>,
    /// Bumped to make every open socket drop (no close frame).
    pub(crate) drop_generation: u64,
    /// `ClientConfig.PingInterval`, seconds.
    pub(crate) ping_interval_secs: u64,
    /// Pings are not answered (a half-open connection).
    pub(crate) silent: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            fragments: 1,
            duplicate: false,
            withhold_acks: false,
            resend_after: Duration::from_secs(3),
            refuse_endpoint: None,
            refuse_handshake: None,
            drop_generation: 0,
            ping_interval_secs: 2,
            silent: false,
        }
    }
}

/// The event side of the simulator.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    pub(crate) controls: Controls,
    /// Set by the first request for a connection URL: only then do tenant changes emit.
    pub(crate) listening: bool,
    queue: VecDeque<Outgoing>,
    unacked: Vec<(Outgoing, Instant)>,
    /// Event ids acknowledged with `{"code":200}`, in order.
    pub(crate) acked: Vec<String>,
    /// Data frames sent (fragments and re-sends included).
    pub(crate) frames_sent: u64,
    /// Requests to `/callback/ws/endpoint`.
    pub(crate) endpoint_requests: u64,
    /// Approval definition codes the app subscribed to, with the number of requests.
    pub(crate) subscriptions: BTreeMap<String, u64>,
    /// When each event was emitted, for the benchmark's freshness.
    pub(crate) emitted_at: HashMap<String, Instant>,
    sequence: u64,
}

impl EventHub {
    /// Queues `payload` for the next connection.
    pub(crate) fn emit(&mut self, payload: Value) {
        let event_id = payload
            .pointer("/header/event_id")
            .or_else(|| payload.get("uuid"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.emitted_at.insert(event_id.clone(), Instant::now());
        self.queue.push_back(Outgoing {
            event_id,
            payload: payload.to_string().into_bytes(),
        });
    }

    /// Events to send now: the queue, and unacknowledged ones past `resend_after`.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Outgoing> {
        let resend_after = self.controls.resend_after;
        let mut due: Vec<Outgoing> = Vec::new();
        for (event, sent) in &mut self.unacked {
            if now.duration_since(*sent) >= resend_after {
                *sent = now;
                due.push(event.clone());
            }
        }
        while let Some(event) = self.queue.pop_front() {
            self.unacked.push((event.clone(), now));
            due.push(event);
        }
        due
    }

    /// An acknowledgement of `event_id`; only `{"code":200}` settles it.
    pub(crate) fn ack(&mut self, event_id: &str, code: i64) {
        if self.controls.withhold_acks || code != 200 {
            return;
        }
        let before = self.unacked.len();
        self.unacked.retain(|(e, _)| e.event_id != event_id);
        if self.unacked.len() < before || !self.acked.iter().any(|a| a == event_id) {
            self.acked.push(event_id.to_string());
        }
    }

    /// Events sent and not yet acknowledged, plus those not sent yet.
    pub(crate) fn outstanding(&self) -> usize {
        self.unacked.len() + self.queue.len()
    }

    fn next_id(&mut self, kind: &str) -> String {
        self.sequence += 1;
        format!(
            "sim-{kind}-{:08}-{:08x}",
            self.sequence,
            rand::random::<u32>()
        )
    }

    /// A schema 2.0 event.
    pub(crate) fn v2(&mut self, app_id: &str, event_type: &str, event: Value) -> Value {
        json!({
            "schema": "2.0",
            "header": {
                "event_id": self.next_id("v2"),
                "token": "",
                "create_time": chrono::Utc::now().timestamp_millis().to_string(),
                "event_type": event_type,
                "tenant_key": "sim_tenant",
                "app_id": app_id,
            },
            "event": event,
        })
    }

    /// A v1 event (`approval_task`, `approval_instance`).
    pub(crate) fn v1(&mut self, app_id: &str, mut event: Value) -> Value {
        let now = chrono::Utc::now();
        event["app_id"] = json!(app_id);
        event["tenant_key"] = json!("sim_tenant");
        event["operate_time"] = json!(now.timestamp_millis().to_string());
        json!({
            "uuid": self.next_id("v1"),
            "token": "",
            "ts": format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros()),
            "type": "event_callback",
            "event": event,
        })
    }

    /// Emits the events that turn `before` into `after`, for approval definitions in
    /// the subscriptions only.
    pub(crate) fn emit_changes(&mut self, app_id: &str, before: &Tenant, after: &Tenant) {
        for (event_type, object) in user_changes(before, after) {
            let event = self.v2(app_id, event_type, json!({ "object": object }));
            self.emit(event);
        }
        for (event_type, object) in department_changes(before, after) {
            let event = self.v2(app_id, event_type, json!({ "object": object }));
            self.emit(event);
        }
        for (task_id, obj_type) in task_changes(before, after) {
            let body = json!({ "task_id": task_id, "obj_type": obj_type });
            let event = self.v2(app_id, "task.task.updated_v1", body);
            self.emit(event);
        }
        for event in approval_changes(before, after) {
            let code = event["approval_code"].as_str().unwrap_or_default();
            if self.subscriptions.contains_key(code) {
                let event = self.v1(app_id, event);
                self.emit(event);
            }
        }
    }
}

/// A user as user events carry it: the contact object, without `is_tenant_manager`.
fn user_object(p: &Person) -> Value {
    let mut object = wire::user(p, p.leader.clone());
    if let Some(map) = object.as_object_mut() {
        map.remove("is_tenant_manager");
    }
    object
}

fn user_changes(before: &Tenant, after: &Tenant) -> Vec<(&'static str, Value)> {
    let old: HashMap<&str, &Person> = before
        .people
        .iter()
        .map(|p| (p.open_id.as_str(), p))
        .collect();
    let mut changes = Vec::new();
    for p in &after.people {
        match old.get(p.open_id.as_str()) {
            None => changes.push(("contact.user.created_v3", user_object(p))),
            Some(o) if *o != p => changes.push(("contact.user.updated_v3", user_object(p))),
            Some(_) => {}
        }
    }
    let now: BTreeSet<&str> = after.people.iter().map(|p| p.open_id.as_str()).collect();
    for p in before
        .people
        .iter()
        .filter(|p| !now.contains(p.open_id.as_str()))
    {
        let object = json!({ "open_id": p.open_id, "union_id": p.union_id, "user_id": p.user_id });
        changes.push(("contact.user.deleted_v3", object));
    }
    changes
}

/// A department as its events carry it: no i18n names, no member counts.
fn department_object(d: &Department) -> Value {
    json!({
        "name": d.name,
        "parent_department_id": d.parent,
        "department_id": d.custom_id,
        "open_department_id": d.open_id,
        "leader_user_id": d.leader,
        "chat_id": "",
        "order": 100,
        "status": { "is_deleted": false },
    })
}

fn department_changes(before: &Tenant, after: &Tenant) -> Vec<(&'static str, Value)> {
    let old: HashMap<&str, &Department> = before
        .departments
        .iter()
        .map(|d| (d.open_id.as_str(), d))
        .collect();
    let mut changes = Vec::new();
    for d in &after.departments {
        match old.get(d.open_id.as_str()) {
            None => changes.push(("contact.department.created_v3", department_object(d))),
            Some(o) if *o != d => {
                changes.push(("contact.department.updated_v3", department_object(d)));
            }
            Some(_) => {}
        }
    }
    let now: BTreeSet<&str> = after
        .departments
        .iter()
        .map(|d| d.open_id.as_str())
        .collect();
    for d in before
        .departments
        .iter()
        .filter(|d| !now.contains(d.open_id.as_str()))
    {
        let mut object = department_object(d);
        object["status"] = json!({ "is_deleted": true });
        changes.push(("contact.department.deleted_v3", object));
    }
    changes
}

/// `(task_id, obj_type)`: 7 for a deleted task, 5 completed, 6 reopened, 1 otherwise.
/// A new task emits nothing: the event has no "created" kind.
fn task_changes(before: &Tenant, after: &Tenant) -> Vec<(String, i64)> {
    let old: HashMap<&str, _> = before.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut changes = Vec::new();
    for t in &after.tasks {
        if let Some(o) = old.get(t.id.as_str())
            && *o != t
        {
            let kind = match (o.complete_time_s, t.complete_time_s) {
                (0, c) if c > 0 => 5,
                (c, 0) if c > 0 => 6,
                _ => 1,
            };
            changes.push((t.id.clone(), kind));
        }
    }
    let now: BTreeSet<&str> = after.tasks.iter().map(|t| t.id.as_str()).collect();
    for t in before.tasks.iter().filter(|t| !now.contains(t.id.as_str())) {
        changes.push((t.id.clone(), 7));
    }
    changes
}

/// One `approval_task` event per (user, task) whose topics 1/2 changed, and one
/// `approval_instance` event per instance whose initiator's topic 3 changed. CC topics
/// emit nothing.
fn approval_changes(before: &Tenant, after: &Tenant) -> Vec<Value> {
    type Key<'a> = (&'a str, &'a str, &'a str);
    let index = |t: &Tenant| -> HashMap<(String, String, String), ApprovalTask> {
        t.approval_tasks
            .iter()
            .map(|a| {
                (
                    (a.user_id.clone(), a.topic.clone(), a.task_id.clone()),
                    a.clone(),
                )
            })
            .collect()
    };
    let (old, new) = (index(before), index(after));
    let mut changed: BTreeMap<(String, String), (&ApprovalTask, bool)> = BTreeMap::new();
    let keys: BTreeSet<&(String, String, String)> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o == n {
            continue;
        }
        let (user, topic, task): Key = (&key.0, &key.1, &key.2);
        let record = n.or(o).expect("present on one side");
        match topic {
            "1" | "2" => {
                changed.insert((user.to_string(), task.to_string()), (record, false));
            }
            "3" => {
                changed.insert(
                    (user.to_string(), record.process_code.clone()),
                    (record, true),
                );
            }
            _ => {}
        }
    }
    let person = |open_id: &str| {
        after
            .people
            .iter()
            .chain(&before.people)
            .find(|p| p.open_id == open_id)
    };
    changed
        .into_values()
        .map(|(a, instance)| {
            let user_id = person(&a.user_id).map_or(a.user_id.clone(), |p| p.user_id.clone());
            match instance {
                true => json!({
                    "type": "approval_instance",
                    "approval_code": a.definition_code,
                    "instance_code": a.process_code,
                    "status": a.process_status,
                }),
                false => json!({
                    "type": "approval_task",
                    "approval_code": a.definition_code,
                    "instance_code": a.process_code,
                    "task_id": a.task_id,
                    "user_id": user_id,
                    "open_id": a.user_id,
                    "status": a.status,
                }),
            }
        })
        .collect()
}
