//! The directory streams' mapping, checked on the documents' example answers, verbatim.

use serde::Deserialize;
use serde_json::Value;

use super::SharedSeen;
use super::departments::{Columns as DepartmentColumns, DepartmentPage};
use super::user_rows::{Columns as UserColumns, UserPage, id_field};
use super::users::warn_missing_field_scopes;
use super::{ContactRange, ScopesPage};
use crate::feishu::UserIdType;
use crate::sync::columns::ColumnBuilder;

mod examples;

use examples::{CHILDREN_EXAMPLE, FIND_BY_DEPARTMENT_EXAMPLE, SCOPES_EXAMPLE, USER_EXAMPLE};

fn data(example: &str) -> Value {
    let envelope: Value = serde_json::from_str(example).unwrap();
    assert_eq!(envelope["code"], 0);
    envelope["data"].clone()
}

#[test]
fn the_children_example_maps_to_department_rows() {
    let page = DepartmentPage::deserialize(&data(CHILDREN_EXAMPLE)).unwrap();
    let (c, rejected) = DepartmentColumns::from_records(page.items, "open_department_id");
    assert_eq!(rejected, []);
    assert_eq!(c.id, ["od-4e6ac4d14bcd5071a37a39de902c7141"]);
    assert_eq!(c.department_id, [Some("D096".to_string())]);
    assert_eq!(c.parent_id, [Some("D067".to_string())]);
    assert_eq!(c.name, [Some("DemoName".to_string())]);
    assert_eq!(c.name_zh, [Some("Demo名称".to_string())]);
    assert_eq!(c.name_en, [Some("Demo Name".to_string())]);
    assert_eq!(
        c.leader_user_id,
        [Some("ou_7dab8a3d3cdcc9da365777c7ad535d62".to_string())]
    );
    assert_eq!(c.member_count, [Some(100)]);
    assert_eq!(c.sort_order, [Some(100)]);
    assert_eq!(
        c.leader_user_ids,
        [serde_json::json!(["ou_7dab8a3d3cdcc9da365777c7ad535d62"])]
    );
    assert_eq!(c.deputy_leader_user_ids, [serde_json::json!([])]);
    assert_eq!(c.primary_member_count, [None], "not in this example");
    assert_eq!(c.raw[0]["chat_id"], "oc_5ad11d72b830411d72b836c20");
}

#[test]
fn the_find_by_department_example_maps_to_user_rows() {
    let page = UserPage::deserialize(&data(FIND_BY_DEPARTMENT_EXAMPLE)).unwrap();
    let (c, rejected) = UserColumns::build(page.items, id_field(UserIdType::OpenId));
    assert_eq!(rejected, []);
    assert_eq!(c.id, ["ou_7dab8a3d3cdcc9da365777c7ad535d62"]);
    assert_eq!(c.name, [Some("张三".to_string())]);
    assert_eq!(c.email, [Some("zhangsan@gmail.com".to_string())]);
    assert_eq!(c.employee_type, [Some(1)]);
    assert_eq!(c.join_time[0].unwrap().timestamp(), 2147483647);
    assert_eq!(c.is_resigned, [Some(false)]);
    assert_eq!(c.is_exited, [Some(false)]);
    assert_eq!(c.is_unjoin, [Some(false)]);
    assert_eq!(c.gender, [Some(1)]);
    assert_eq!(c.job_level_id, [Some("mga5oa8ayjlp9rb".to_string())]);
    assert_eq!(c.job_family_id, [Some("mga5oa8ayjlp9rb".to_string())]);
    assert_eq!(
        c.dotted_line_leader_user_ids,
        [Some(vec![
            "ou_7dab8a3d3cdcc9da365777c7ad535d62".to_string()
        ])]
    );
    assert_eq!(
        c.departments,
        [Some(vec![
            "od-4e6ac4d14bcd5071a37a39de902c7141".to_string()
        ])]
    );
    assert_eq!(
        c.is_primary(0, "od-4e6ac4d14bcd5071a37a39de902c7141"),
        Some(true)
    );
    assert_eq!(
        c.is_primary(0, "od-elsewhere"),
        None,
        "no orders entry: unknown"
    );
}

#[test]
fn the_user_example_keys_by_the_configured_id_type() {
    let user = data(USER_EXAMPLE)["user"].clone();
    let (by_user_id, _) = UserColumns::build(vec![user.clone()], id_field(UserIdType::UserId));
    let (by_union_id, _) = UserColumns::build(vec![user.clone()], id_field(UserIdType::UnionId));
    assert_eq!(by_user_id.id, ["3e3cf96b"]);
    assert_eq!(by_union_id.id, ["on_94a1ee5551019f18cd73d9f111898cf2"]);

    let mut without_scope = user;
    without_scope.as_object_mut().unwrap().remove("user_id");
    without_scope.as_object_mut().unwrap().remove("email");
    let (c, rejected) =
        UserColumns::build(vec![without_scope.clone()], id_field(UserIdType::UserId));
    assert_eq!(c.id.len(), 0);
    assert!(
        rejected[0].reason.contains("without user_id"),
        "{}",
        rejected[0].reason
    );
    let (c, rejected) = UserColumns::build(vec![without_scope], id_field(UserIdType::OpenId));
    assert_eq!(
        (rejected.len(), c.email[0].clone()),
        (0, None),
        "an absent field is NULL"
    );
}

#[test]
fn a_page_without_status_or_departments_names_the_missing_scopes_once() {
    let page = UserPage::deserialize(&data(FIND_BY_DEPARTMENT_EXAMPLE)).unwrap();
    let seen = SharedSeen::default();
    assert_eq!(
        warn_missing_field_scopes(&page.items, &seen),
        Vec::<&str>::new()
    );
    let mut hidden = page.items[0].clone();
    let fields = hidden.as_object_mut().unwrap();
    fields.remove("status");
    fields.remove("department_ids");
    let records = vec![hidden];
    assert_eq!(
        warn_missing_field_scopes(&records, &seen),
        ["status", "department_ids"]
    );
    assert_eq!(
        warn_missing_field_scopes(&records, &seen),
        Vec::<&str>::new(),
        "once per pass"
    );
    let (c, rejected) = UserColumns::build(records, id_field(UserIdType::OpenId));
    assert_eq!(rejected, []);
    assert_eq!(
        (c.is_resigned[0], c.is_exited[0], c.is_unjoin[0]),
        (None, None, None),
        "hidden flags are NULL, never false"
    );
}

#[test]
fn the_scopes_example_gives_departments_and_users() {
    let mut range = ContactRange::default();
    range.add(ScopesPage::deserialize(&data(SCOPES_EXAMPLE)).unwrap());
    assert_eq!(range.departments, ["75217143312g9842"]);
    assert_eq!(range.users, ["9b2fabg6"]);
    assert_eq!(range.groups, ["4bgga762"]);
}

proptest::proptest! {
    /// Any JSON gives a row or an error, never a panic.
    #[test]
    fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = DepartmentColumns::from_records(vec![record.clone()], "open_department_id");
        let _ = UserColumns::build(vec![record], "open_id");
    }
}
