//! Unit tests of the review-data mapping. The stored copy of the document
//! (performance-v2/review_data/query) ends before its response example; this fixture
//! follows its response table and the SDKs' `ReviewProfile` → `ReviewStage` →
//! `ReviewRecord` → `ReviewUnit` → `ReviewDetail` models, ids and times as strings.

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

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_profile_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = rows(vec![record], UserIdType::OpenId);
    }
}
