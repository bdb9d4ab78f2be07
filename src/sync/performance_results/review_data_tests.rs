//! Unit tests of the review-data mapping. `EXAMPLE` is the response example of
//! performance-v2/review_data/query, verbatim (`examples/review_datas_query.json`); its
//! `submit_time` is a placeholder id, not a time, so one test reads it as is and one
//! with that single value replaced. `ANSWER` is hand-built after the response table and
//! the SDKs' `ReviewProfile` → `ReviewStage` → `ReviewRecord` → `ReviewUnit` →
//! `ReviewDetail` models, for what the example lacks (numeric ids, a fallback reviewer,
//! a profile without a reviewee).

use super::super::review_rows::rows;
use crate::feishu::UserIdType;
use serde::Deserialize;
use serde_json::Value;

const ANSWER: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "datas": [
            {
                "user_id": {"open_id": "ou_reviewee", "user_id": "u_reviewee"},
                "semester_id": "7348736302176534547",
                "activity_id": "7343513161666707459",
                "review_template_id": "7348736302176534500",
                "stages": [
                    {
                        "stage_id": "7348736302176534600",
                        "stage_type": "review",
                        "review_stage_roles": ["solid_line_leader"],
                        "review_stage_role": "solid_line_leader",
                        "template_id": "7348736302176534700",
                        "records": [
                            {
                                "record_id": "7348736302176534800",
                                "progress": 3,
                                "invited_review_record_info": {"reviewer_id": {"open_id": "ou_manager"}},
                                "units": [
                                    {
                                        "unit_id": "7348736302176534900",
                                        "is_unknown": false,
                                        "data": [
                                            {
                                                "field_id": "7348736302176535000",
                                                "reviewer_user_id": {"open_id": "ou_manager", "user_id": "u_manager"},
                                                "submit_time": "1718863058000",
                                                "indicator_id": "7343513161666707459",
                                                "option_id": "7343513161666707460",
                                                "score": "4.5",
                                                "is_principal_review_item": true
                                            },
                                            {
                                                "field_id": 7348736302176535001,
                                                "submit_time": 1718863058000,
                                                "text": "Delivered the migration early",
                                                "is_principal_review_item": false
                                            }
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            {"semester_id": "7348736302176534547", "user_id": {}, "stages": []}
        ]
    }
}"#;

#[test]
fn nested_review_data_flattens_to_stages_and_items() {
    let envelope: Value = serde_json::from_str(ANSWER).unwrap();
    let answer = super::ReviewDataAnswer::deserialize(&envelope["data"]).unwrap();
    let (s, i, rejected) = rows(answer.datas, UserIdType::OpenId);
    assert_eq!(s.stage_id, ["7348736302176534600"]);
    assert_eq!(s.reviewee, ["ou_reviewee"]);
    assert_eq!(s.stage_type[0].as_deref(), Some("review"));
    assert_eq!(s.role[0].as_deref(), Some("solid_line_leader"));
    assert_eq!(s.roles[0], serde_json::json!(["solid_line_leader"]));
    assert_eq!(i.field_id, ["7348736302176535000", "7348736302176535001"]);
    assert_eq!(
        i.reviewer,
        ["ou_manager", "ou_manager"],
        "the record's reviewer fills in"
    );
    assert_eq!(i.score, [Some(4.5), None]);
    assert_eq!(i.option_id[0].as_deref(), Some("7343513161666707460"));
    assert_eq!(i.text[1].as_deref(), Some("Delivered the migration early"));
    assert_eq!(i.principal, [Some(true), Some(false)]);
    assert_eq!(i.record_id[0], "7348736302176534800");
    assert_eq!(i.progress, [Some(3), Some(3)]);
    assert_eq!(i.submit_time[1].unwrap().timestamp_millis(), 1718863058000);
    assert_eq!(
        rejected.len(),
        1,
        "a profile without the reviewee's id is rejected"
    );

    let (_, i, _) = rows(
        super::ReviewDataAnswer::deserialize(&envelope["data"])
            .unwrap()
            .datas,
        UserIdType::UserId,
    );
    assert_eq!(i.reviewer[0], "u_manager");
    assert_eq!(i.reviewer[1], "", "no user_id of the invited reviewer");
}

/// The document's own response example, byte for byte.
const EXAMPLE: &str = include_str!("examples/review_datas_query.json");

#[test]
fn the_documents_example_is_quarantined_for_its_placeholder_submit_time() {
    // The example's `submit_time` is "7343513161666707459", the page's placeholder id:
    // as milliseconds it lies beyond the year 9999, which no column stores, so the whole
    // profile is rejected (nothing of a profile is kept when one item fails).
    let envelope: Value = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(envelope["code"], 0);
    let answer = super::ReviewDataAnswer::deserialize(&envelope["data"]).unwrap();
    assert_eq!(answer.datas.len(), 1);
    let (s, i, rejected) = rows(answer.datas, UserIdType::OpenId);
    assert!(s.stage_id.is_empty());
    assert!(i.field_id.is_empty());
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].key.as_deref(), Some("7343513161666707459"));
    assert!(
        rejected[0].reason.contains("submit_time")
            && rejected[0]
                .reason
                .contains("7343513161666707459 ms since 1970 is out of range"),
        "{}",
        rejected[0].reason
    );
}

#[test]
fn the_documents_example_with_a_real_submit_time_maps_to_one_stage_and_one_item() {
    let mut envelope: Value = serde_json::from_str(EXAMPLE).unwrap();
    let detail =
        &mut envelope["data"]["datas"][0]["stages"][0]["records"][0]["units"][0]["data"][0];
    assert_eq!(detail["submit_time"], "7343513161666707459");
    detail["submit_time"] = Value::from("1718863058000");
    let answer = super::ReviewDataAnswer::deserialize(&envelope["data"]).unwrap();
    let (s, i, rejected) = rows(answer.datas, UserIdType::OpenId);
    assert!(rejected.is_empty(), "{rejected:?}");

    assert_eq!(s.stage_id, ["7343513161666707459"]);
    assert_eq!(s.semester_id, ["7343513161666707459"]);
    assert_eq!(s.reviewee, ["od-asd2dasdasd"]);
    assert_eq!(s.activity_id[0].as_deref(), Some("7343513161666707459"));
    assert_eq!(
        s.review_template_id[0].as_deref(),
        Some("7343513161666707459")
    );
    assert_eq!(s.template_id[0].as_deref(), Some("7343513161666707459"));
    assert_eq!(s.stage_type[0].as_deref(), Some("review"));
    assert_eq!(s.role[0].as_deref(), Some("reviewee"));
    assert_eq!(
        s.roles[0],
        serde_json::json!([]),
        "the example has no review_stage_roles"
    );

    assert_eq!(i.field_id, ["7343513161666707459"]);
    assert_eq!(i.record_id, ["7385000219907457024-7385000219907457025"]);
    assert_eq!(i.unit_id, ["7343513161666707459"]);
    assert_eq!(i.reviewer, ["od-asd2dasdasd"]);
    assert_eq!(i.progress, [Some(1)]);
    assert_eq!(i.is_unknown, [None]);
    assert_eq!(i.indicator_id[0].as_deref(), Some("7343513161666707459"));
    assert_eq!(i.option_id[0].as_deref(), Some("7343513161666707459"));
    assert_eq!(i.score, [Some(1.1)]);
    assert_eq!(i.text[0].as_deref(), Some("qwert"));
    assert_eq!(i.question_id[0].as_deref(), Some("7343513161666707459"));
    assert_eq!(i.coefficient[0].as_deref(), Some("1.1"));
    assert_eq!(i.source[0].as_deref(), Some("review"));
    assert_eq!(i.principal, [Some(true)]);
    assert_eq!(i.submit_time[0].unwrap().timestamp_millis(), 1718863058000);
    // What has no column stays in `raw`: sub-indicators, objectives, metrics, tags.
    assert_eq!(i.raw[0]["sub_indicator_data"][0]["text"], "qwertyuiop");
    assert_eq!(
        i.raw[0]["objective_data"][0]["keyresult_data"][0]["text"],
        "qwerty"
    );
    assert_eq!(i.raw[0]["metric_data"][0]["score"], "1.1");
    assert_eq!(i.raw[0]["tag_text_item_data"][0]["tag_text"], "qwertyu");
    // The project leader's record info is kept only in the stage's `raw`.
    assert_eq!(
        s.raw[0]["records"][0]["direct_project_leader_record_info"]["cooperation_projects"][0]["name"]
            ["en_us"],
        "Interactive experience"
    );

    let answer = super::ReviewDataAnswer::deserialize(&envelope["data"]).unwrap();
    let (s, i, _) = rows(answer.datas, UserIdType::UserId);
    assert_eq!(s.reviewee, ["ou-ux987dsf6x"]);
    assert_eq!(i.reviewer, ["ou-ux987dsf6x"]);
}

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_profile_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = rows(vec![record], UserIdType::OpenId);
    }
}
