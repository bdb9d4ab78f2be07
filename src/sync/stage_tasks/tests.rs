//! Unit tests of the stage-task mapping on the document's own example.

use super::*;

/// The response example of the stage-task document, verbatim (note `has_more` and
/// `page_token` beside `data`).
const DOC_EXAMPLE: &str = r#"{
    "code": 0,
    "data": {
        "base": {
            "end_time": "1748707140000",
            "semester_id": "7235911950407352321",
            "semester_name": {
                "en-US": "Demo Semester",
                "zh-CN": "示例周期"
            },
            "start_time": "1684684800000"
        },
        "items": [
            {
                "stage_num_lists": [
                    {
                        "task_option_id": 1,
                        "stage_num": 1
                    },
                    {
                        "task_option_id": 2,
                        "stage_num": 1
                    },
                    {
                        "task_option_id": 3,
                        "stage_num": 0
                    }
                ],
                "stage_task_info_lists": [
                    {
                        "deadline": "1717142244000",
                        "jump_url": "https://performance.feishu-pre.cn/perf/review/7235911950407352321/7235906557915987996/members",
                        "name": {
                            "en-US": "confirm_invitation",
                            "zh-CN": "360° 确认"
                        },
                        "need_todo_count": 10,
                        "stage_id": "7270346432875692033",
                        "stage_task_status": "need_todo",
                        "task_option_id": 1
                    },
                    {
                        "deadline": "1717142244000",
                        "jump_url": "https://performance.feishu-pre.cn/perf/review/7235911950407352321/7235906557916086300",
                        "name": {
                            "en-US": "pdt_manager_review",
                            "zh-CN": "pdt项目经理上级评估"
                        },
                        "need_todo_count": 2,
                        "stage_id": "7270346432875741185",
                        "stage_task_status": "all_done",
                        "task_option_id": 2
                    }
                ],
                "user_id": "bega29ca"
            }
        ]
    },
    "has_more": true,
    "page_token": "84I9nKzkGJjwv1FrJ1sIveEE2ij7xnes6nhcmxNOXLaLLe52sFVu8S0NPxRFkMhLFCMutL9a6Eod7kzOqWQeu47R7NWiZEmBKJ93Asg5VZv1oJkrG318reCJlrljfaeR",
    "msg": ""
}"#;

fn sink(after_time: Option<DateTime<Utc>>) -> StageTaskSink {
    StageTaskSink {
        semester_id: "7235911950407352321".into(),
        lookback: chrono::Duration::hours(48),
        after_time,
        seen_tasks: HashSet::new(),
        seen_counts: HashSet::new(),
        user_id_type: crate::feishu::UserIdType::OpenId,
    }
}

#[test]
fn document_example_maps_tasks_and_counts() {
    let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
    let page = StageTaskPage::deserialize(&envelope["data"]).unwrap();
    let mut sink = sink(None);

    let (tasks, counts, rejected) = sink.columns(page.items);
    assert_eq!(rejected, []);

    assert_eq!(tasks.user_id, ["bega29ca", "bega29ca"]);
    assert_eq!(
        tasks.stage_id,
        ["7270346432875692033", "7270346432875741185"]
    );
    assert_eq!(tasks.name_zh[0].as_deref(), Some("360° 确认"));
    assert_eq!(tasks.name_en[1].as_deref(), Some("pdt_manager_review"));
    assert_eq!(tasks.deadline[0].unwrap().timestamp_millis(), 1717142244000);
    assert_eq!(tasks.need_todo_count, [Some(10), Some(2)]);
    assert_eq!(tasks.stage_task_status[1].as_deref(), Some("all_done"));
    assert_eq!(tasks.task_option_id, [Some(1), Some(2)]);
    assert!(
        tasks.jump_url[0]
            .as_deref()
            .unwrap()
            .starts_with("https://performance.feishu-pre.cn/")
    );
    assert_eq!(counts.task_option_id, [1, 2, 3]);
    assert_eq!(counts.stage_num, [Some(1), Some(1), Some(0)]);
}

#[test]
fn document_example_paging_is_found() {
    let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
    let reply = crate::feishu::ApiReply::from_envelope(
        envelope.as_object().unwrap().clone(),
        Default::default(),
    );

    assert_eq!(
        reply.paging(),
        (
            true,
            "84I9nKzkGJjwv1FrJ1sIveEE2ij7xnes6nhcmxNOXLaLLe52sFVu8S0NPxRFkMhLFCMutL9a6Eod7kzOqWQeu47R7NWiZEmBKJ93Asg5VZv1oJkrG318reCJlrljfaeR"
        )
    );
}

#[test]
fn a_task_repeated_in_one_pass_is_written_once() {
    let envelope: Value = serde_json::from_str(DOC_EXAMPLE).unwrap();
    let mut sink = sink(None);
    let first = StageTaskPage::deserialize(&envelope["data"]).unwrap();
    let again = StageTaskPage::deserialize(&envelope["data"]).unwrap();

    let (tasks_first, _, _) = sink.columns(first.items);
    let (tasks_again, _, _) = sink.columns(again.items);

    assert_eq!(tasks_first.stage_id.len(), 2);
    assert!(tasks_again.stage_id.is_empty());
}

#[test]
fn a_bad_deadline_rejects_that_task_alone() {
    let raw = serde_json::json!({"items": [
        {"user_id": "u1", "stage_task_info_lists": [
            {"stage_id": "s1", "deadline": "tomorrow"},
            {"stage_id": "s2", "deadline": "1717142244000"}],
         "stage_num_lists": [{"task_option_id": "not a number"}, {"task_option_id": 1, "stage_num": 2}]},
        {"stage_task_info_lists": []}]});
    let page = StageTaskPage::deserialize(&raw).unwrap();

    let (tasks, counts, rejected) = sink(None).columns(page.items);

    assert_eq!(tasks.stage_id, ["s2"]);
    assert_eq!(tasks.raw.len(), 1);
    assert_eq!(counts.task_option_id, [1]);
    let keys: Vec<_> = rejected.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, [Some("u1/s1"), Some("u1"), None]);
    assert!(
        rejected[0].reason.contains("deadline"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(rejected[0].raw["deadline"], "tomorrow");
    assert!(
        rejected[2].reason.contains("user_id"),
        "{}",
        rejected[2].reason
    );
}

proptest::proptest! {
    /// Any JSON gives rows or an error, never a panic.
    #[test]
    fn any_json_maps_or_errors_without_panicking(data in crate::property_test_json::json()) {
        let Ok(page) = StageTaskPage::deserialize(&data) else { return Ok(()) };
        let _ = sink(None).columns(page.items);
    }
}
