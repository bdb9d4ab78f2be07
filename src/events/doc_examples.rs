//! The documents' example payloads of every event type the processor uses, verbatim in
//! `examples/`, read through the inbox's envelope and the planner.
//!
//! Sources (all found; no event used lacks an example):
//! - `contact.user.{created,updated,deleted}_v3`, `contact.department.{created,updated,
//!   deleted}_v3`: the contact v3 event pages, e.g.
//!   <https://open.feishu.cn/document/server-docs/contact-v3/user/events/updated>
//!   (事件体示例);
//! - `approval_task`, `approval_instance`:
//!   <https://open.feishu.cn/document/server-docs/approval-v4/event/common-event/approval-task-event>
//!   and `.../approval-instance-event`;
//! - `task.task.updated_v1`: <https://open.feishu.cn/document/server-docs/task-v1/task/events/updated>,
//!   as the FeishuNetSdk tests quote it (the page itself was not in the stored copies).
//!
//! The approval instance page notes that a `REVERTED` event sends `operate_time` as a
//! number, not a string: nothing here reads that field.

use serde_json::Value;

use super::inbox::Envelope;
use super::plan::{Action, Plan, plan};
use crate::feishu::UserIdType;

const USER_CREATED: &str = include_str!("examples/contact.user.created_v3.json");
const USER_UPDATED: &str = include_str!("examples/contact.user.updated_v3.json");
const USER_DELETED: &str = include_str!("examples/contact.user.deleted_v3.json");
const DEPARTMENT_CREATED: &str = include_str!("examples/contact.department.created_v3.json");
const DEPARTMENT_UPDATED: &str = include_str!("examples/contact.department.updated_v3.json");
const DEPARTMENT_DELETED: &str = include_str!("examples/contact.department.deleted_v3.json");
const APPROVAL_TASK: &str = include_str!("examples/approval_task.json");
const APPROVAL_INSTANCE: &str = include_str!("examples/approval_instance.json");
const TASK_UPDATED: &str = include_str!("examples/task.task.updated_v1.json");

/// The envelope and the plan of `example`, as the inbox stores it and the processor
/// reads it back.
fn read(example: &str, user_id_type: UserIdType) -> (Envelope, Plan) {
    let payload: Value = serde_json::from_str(example).expect("the document's JSON parses");
    let envelope = Envelope::read(&payload).expect("the example names its event id");
    let plan = plan(
        &envelope.event_id,
        &envelope.event_type,
        &payload,
        user_id_type,
    );
    (envelope, plan)
}

#[test]
fn every_schema_2_example_names_its_id_type_and_creation_time() {
    for (example, event_type) in [
        (USER_CREATED, "contact.user.created_v3"),
        (USER_UPDATED, "contact.user.updated_v3"),
        (USER_DELETED, "contact.user.deleted_v3"),
        (DEPARTMENT_CREATED, "contact.department.created_v3"),
        (DEPARTMENT_UPDATED, "contact.department.updated_v3"),
        (DEPARTMENT_DELETED, "contact.department.deleted_v3"),
        (TASK_UPDATED, "task.task.updated_v1"),
    ] {
        let (envelope, _) = read(example, UserIdType::OpenId);
        assert_eq!(envelope.event_id, "5e3702a84e847582be8db7fb73283c02");
        assert_eq!(envelope.event_type, event_type);
        let created = envelope.created_at.expect("header.create_time");
        assert_eq!(
            created.timestamp_millis(),
            1_608_725_989_000,
            "{event_type}"
        );
    }
}

#[test]
fn the_v1_approval_examples_are_keyed_by_uuid_type_and_ts() {
    for (example, event_type) in [
        (APPROVAL_TASK, "approval_task"),
        (APPROVAL_INSTANCE, "approval_instance"),
    ] {
        let (envelope, _) = read(example, UserIdType::OpenId);
        assert_eq!(envelope.event_id, "bc447199585340d1f3728d26b1c0297a");
        assert_eq!(envelope.event_type, event_type);
        let created = envelope.created_at.expect("ts");
        assert_eq!(
            created.timestamp_millis(),
            1_502_199_207_717,
            "{event_type}"
        );
    }
}

#[test]
fn user_events_upsert_or_retire_the_user_under_the_configured_id() {
    let (_, created) = read(USER_CREATED, UserIdType::UserId);
    assert_eq!((created.kind, created.id.as_str()), ("user", "e33ggbyz"));
    let Action::UpsertUser(object) = &created.action else {
        panic!("{:?}", created.action);
    };
    assert_eq!(object["job_title"], "软件工程师");
    assert!(
        object.get("is_tenant_manager").is_none(),
        "events carry none"
    );

    let (_, updated) = read(USER_UPDATED, UserIdType::OpenId);
    assert_eq!(updated.id, "ou_7dab8a3d3cdcc9da365777c7ad535d62");
    let Action::UpsertUser(object) = &updated.action else {
        panic!("{:?}", updated.action);
    };
    assert_eq!(
        object["enterprise_email"], "demo@mail.com",
        "the new object, not old_object"
    );

    let (_, deleted) = read(USER_DELETED, UserIdType::UnionId);
    assert_eq!(deleted.id, "on_576833b917gda3d939b9a3c2d53e72c8");
    assert_eq!(deleted.action, Action::RetireUser);
}

#[test]
fn department_events_reread_or_retire_the_department_by_open_id() {
    for (example, action) in [
        (DEPARTMENT_CREATED, Action::RereadDepartment),
        (DEPARTMENT_UPDATED, Action::RereadDepartment),
        (DEPARTMENT_DELETED, Action::RetireDepartment),
    ] {
        let (_, plan) = read(example, UserIdType::OpenId);
        assert_eq!(plan.kind, "department");
        // The deleted example's old_object names another id: the object decides.
        assert_eq!(plan.id, "od_j10j52hjksd9g0isdfg43");
        assert_eq!(plan.action, action);
    }
}

#[test]
fn an_approval_task_rereads_its_approver_by_the_configured_id_type() {
    let (_, by_user_id) = read(APPROVAL_TASK, UserIdType::UserId);
    assert_eq!(by_user_id.id, "b613t51g");
    assert_eq!(by_user_id.action, Action::RereadApprovals);
    assert!(!by_user_id.id_is_open_id);

    let (_, by_open_id) = read(APPROVAL_TASK, UserIdType::OpenId);
    assert_eq!(
        (by_open_id.kind, by_open_id.id.as_str()),
        ("approver", "ou_123456")
    );

    let (_, by_union_id) = read(APPROVAL_TASK, UserIdType::UnionId);
    assert_eq!(by_union_id.id, "ou_123456");
    assert!(by_union_id.id_is_open_id, "translated through feishu.users");
}

#[test]
fn an_approval_instance_and_a_task_update_name_their_records() {
    let (_, instance) = read(APPROVAL_INSTANCE, UserIdType::OpenId);
    assert_eq!(instance.kind, "instance");
    assert_eq!(instance.id, "81D31358-93AF-92D6-7425-01A5D67C4E71");
    assert_eq!(instance.action, Action::ApprovalInstance);

    let (_, task) = read(TASK_UPDATED, UserIdType::OpenId);
    assert_eq!(task.kind, "task");
    assert_eq!(task.id, "626cf808-4c26-4f27-9da8-01f2eb73d717");
    assert_eq!(task.action, Action::RereadTask, "obj_type 1 is an update");
}
