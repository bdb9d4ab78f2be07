//! Unit tests of the approval-task mapping on the document's own example.

use super::*;

/// The response example of the approval-task document, verbatim.
const DOC_EXAMPLE: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "tasks": [
            {
                "topic": "1",
                "user_id": "example_user_id",
                "title": "任务题目示例",
                "urls": {
                    "helpdesk": "https://blabla",
                    "mobile": "https://blabla",
                    "pc": "https://blabla"
                },
                "process_external_id": "example_instance_id",
                "task_external_id": "example_task_id",
                "status": "Todo",
                "process_status": "Running",
                "definition_code": "000000-00000000000000-0example",
                "initiators": [
                    "starter"
                ],
                "initiator_names": [
                    "发起人姓名"
                ],
                "task_id": "1212564555454",
                "process_id": "1214564545474",
                "process_code": "123e4567-e89b-12d3-a456-426655440000",
                "definition_group_id": "1212564555454",
                "definition_group_name": "流程定义名称",
                "definition_id": "1212564555454",
                "definition_name": "流程定义组名称"
            }
        ],
        "page_token": "example_page_token",
        "has_more": true,
        "count": {
            "total": 123,
            "has_more": false
        }
    }
}"#;

#[test]
fn document_example_maps_to_typed_columns() {
    let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
    let page = ApprovalPage::deserialize(&envelope["data"]).unwrap();
    let (c, rejected) = Columns::from_records(page.tasks, "task_id");
    assert_eq!(rejected, []);

    assert_eq!(c.task_id, ["1212564555454"]);
    assert_eq!(c.title[0].as_deref(), Some("任务题目示例"));
    assert_eq!(c.url_helpdesk[0].as_deref(), Some("https://blabla"));
    assert_eq!(c.url_pc[0].as_deref(), Some("https://blabla"));
    assert_eq!(c.status[0].as_deref(), Some("Todo"));
    assert_eq!(c.process_status[0].as_deref(), Some("Running"));
    assert_eq!(c.initiators[0], serde_json::json!(["starter"]));
    assert_eq!(c.initiator_names[0], serde_json::json!(["发起人姓名"]));
    assert_eq!(
        c.process_code[0].as_deref(),
        Some("123e4567-e89b-12d3-a456-426655440000")
    );
    assert_eq!(c.definition_name[0].as_deref(), Some("流程定义组名称"));
    assert_eq!(
        envelope["data"]["has_more"], true,
        "the example pages inside data"
    );
}

#[test]
fn a_record_without_task_id_is_rejected() {
    let mut c = Columns::default();

    let error = c.push(&serde_json::json!({"title": "no id"})).unwrap_err();

    assert!(format!("{error:#}").contains("task_id"), "{error:#}");
}

proptest::proptest! {
    /// Any JSON gives rows or an error, never a panic.
    #[test]
    fn any_json_maps_or_errors_without_panicking(data in crate::property_test_json::json()) {
        let _ = ApprovalPage::deserialize(&data);
        let _ = Columns::default().push(&data);
    }
}
