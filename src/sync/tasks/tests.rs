//! Unit tests of the task-v1 mapping on the document's own example.

use serde::Deserialize;
use serde_json::Value;

use super::*;

/// The response example of the task-v1 document, verbatim.
const DOC_EXAMPLE: &str = r#"{
"code": 0,
"data": {
"has_more": true,
"items": [
{
"can_edit": true,
"collaborators": [
{
"id": "ou_842f5b9b4b8faa60570e9008acc9af1f"
}
],
"complete_time": "1637119864",
"create_time": "1637045612",
"creator_id": "ou_5df8b925054285f7166bf8b6ff03341f",
"custom": "",
"description": "多吃水果,多运动,健康生活,快乐工作。",
"due": {
"time": "1637137860",
"timezone": "Asia/Shanghai"
},
"extra": "dGVzdA==",
"followers": [
{
"id": "ou_842f5b9b4b8faa60570e9008acc9af1f"
}
],
"id": "11d42f77-cfa4-4833-a76e-ad778b081077",
"origin": {
"href": {
"title": "反馈一个问题,需要协助排查",
"url": "https://support.feishu.com/internal/foo-bar"
},
"platform_i18n_name": "{\"en_us\":\"IT Workspace\",\"zh_cn\":\"IT 工作台\"}"
},
"source": 6,
"summary": "少喝咖啡",
"update_time": "1637119866"
},
{
"collaborators": [
{
"id": "ou_842f5b9b4b8faa60570e9008acc9af1f"
}
],
"complete_time": "1636965009",
"create_time": "1632886899",
"creator_id": "ou_5df8b925054285f7166bf8b6ff03341f",
"custom": "",
"description": "",
"due": {
"time": "0",
"timezone": ""
},
"extra": "",
"followers": [
{
"id": "ou_842f5b9b4b8faa60570e9008acc9af1f"
}
],
"id": "692ec13b-613d-4d0b-818d-a34ae2cb1413",
"origin": {
"href": {},
"platform_i18n_name": "null"
},
"source": 1,
"summary": "多喝热水",
"update_time": "1636965011",
"repeat_rule": "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR"
}
],
"page_token": "MTYzMTg3ODUxNQ=="
},
"msg": ""
}"#;

fn columns() -> Columns {
    let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
    let page = TaskPage::deserialize(&envelope["data"]).unwrap();
    let (c, rejected) = Columns::from_records(page.items, "id");
    assert_eq!(rejected, []);
    c
}

#[test]
fn document_example_maps_times_in_seconds() {
    let c = columns();

    assert_eq!(
        c.id,
        [
            "11d42f77-cfa4-4833-a76e-ad778b081077",
            "692ec13b-613d-4d0b-818d-a34ae2cb1413"
        ]
    );
    assert_eq!(c.create_time[0].unwrap().timestamp(), 1637045612);
    assert_eq!(c.complete_time[0].unwrap().timestamp(), 1637119864);
    assert_eq!(c.update_time[1].unwrap().timestamp(), 1636965011);
    assert_eq!(c.due_time[0].unwrap().timestamp(), 1637137860);
    assert_eq!(c.due_time[1], None, "a due time of \"0\" is no due time");
    assert_eq!(c.due_timezone, [Some("Asia/Shanghai".to_string()), None]);
}

#[test]
fn document_example_flattens_origin_and_keeps_text_fields() {
    let c = columns();

    assert_eq!(c.origin_platform_zh[0].as_deref(), Some("IT 工作台"));
    assert_eq!(c.origin_platform_en[0].as_deref(), Some("IT Workspace"));
    assert_eq!(
        c.origin_href_title[0].as_deref(),
        Some("反馈一个问题,需要协助排查")
    );
    assert_eq!(
        c.origin_href_url[0].as_deref(),
        Some("https://support.feishu.com/internal/foo-bar")
    );
    assert_eq!(
        (
            c.origin_platform_zh[1].clone(),
            c.origin_href_url[1].clone()
        ),
        (None, None)
    );
    assert_eq!(c.summary[1].as_deref(), Some("多喝热水"));
    assert_eq!(c.can_edit, [Some(true), None]);
    assert_eq!(c.source, [Some(6), Some(1)]);
    assert_eq!(c.extra[0].as_deref(), Some("dGVzdA=="));
    assert_eq!(
        c.repeat_rule[1].as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR")
    );
}

#[test]
fn document_example_lists_collaborators_and_followers() {
    let c = columns();

    assert_eq!(c.member_role, ["c", "f", "c", "f"]);
    assert_eq!(c.member_task[0], "11d42f77-cfa4-4833-a76e-ad778b081077");
    assert!(
        c.member_user
            .iter()
            .all(|u| u == "ou_842f5b9b4b8faa60570e9008acc9af1f")
    );
}

#[test]
fn a_malformed_record_is_rejected_and_the_rest_of_the_page_stays_aligned() {
    let good = |id: &str| {
        serde_json::json!({"id": id, "create_time": "1637045612",
        "collaborators": [{"id": "ou_1"}]})
    };
    let late_bad_time = serde_json::json!({"id": "t2", "create_time": "1637045612",
        "due": {"time": "next week"}, "collaborators": [{"id": "ou_2"}]});
    let wrong_type = serde_json::json!({"id": 3, "summary": "id is a number"});

    let (c, rejected) = Columns::from_records(
        vec![
            good("t1"),
            late_bad_time,
            wrong_type.clone(),
            good("t4"),
            wrong_type,
        ],
        "id",
    );

    assert_eq!(c.id, ["t1", "t4"]);
    for len in [
        c.raw.len(),
        c.create_time.len(),
        c.due_time.len(),
        c.summary.len(),
    ] {
        assert_eq!(len, 2, "every column holds the two good rows");
    }
    assert_eq!(c.member_task, ["t1", "t4"]);
    assert_eq!(rejected.len(), 3, "two keyless records are not duplicates");
    assert_eq!(rejected[0].key.as_deref(), Some("t2"));
    assert!(
        rejected[0].reason.contains("due.time"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(rejected[1].key, None, "a numeric id is no key");
    assert_eq!(rejected[1].raw["summary"], "id is a number");
}

proptest::proptest! {
    /// Any JSON gives rows or an error, never a panic.
    #[test]
    fn any_json_maps_or_errors_without_panicking(data in crate::property_test_json::json()) {
        let _ = TaskPage::deserialize(&data);
        let _ = Columns::from_records(vec![data], "id");
    }
}
