//! Unit tests of the reviewee mapping. No full copy of the document
//! (performance-v2/reviewee/query) with its response example was found, so no fixture
//! here is the document's verbatim example: this one follows the response table and the
//! SDKs' `Reviewee` model field by field.

use super::*;

const ANSWER: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "semester_id": "6992035450862224940",
        "reviewees": [
            {
                "reviewee_user_id": {"open_id": "ou_3245842393d09e9428ad4655da6e30b3", "user_id": "2ag4g6d3"},
                "activity_ids": ["7343513161666707459"],
                "reviewprofile_url": "https://performance.feishu.cn/perf/profile/6992035450862224940"
            },
            {"reviewee_user_id": {"user_id": "only_user_id"}, "activity_ids": []}
        ],
        "has_more": false
    }
}"#;

fn sink(user_id_type: UserIdType) -> RevieweeSink {
    RevieweeSink {
        semester_id: "6992035450862224940".into(),
        user_id_type,
        seen: Vec::new(),
    }
}

#[test]
fn reviewees_map_to_rows_of_the_configured_id_type() {
    let envelope: Value = serde_json::from_str(ANSWER).unwrap();
    let page = RevieweePage::deserialize(&envelope["data"]).unwrap();
    let (c, rejected) = sink(UserIdType::OpenId).columns(page.reviewees.clone());
    assert_eq!(c.user_id, ["ou_3245842393d09e9428ad4655da6e30b3"]);
    assert_eq!(
        c.activity_ids[0],
        serde_json::json!(["7343513161666707459"])
    );
    assert!(
        c.url[0]
            .as_deref()
            .unwrap()
            .starts_with("https://performance.feishu.cn/")
    );
    assert_eq!(rejected.len(), 1, "no open_id: rejected, not guessed");
    assert!(
        rejected[0].reason.contains("open_id"),
        "{}",
        rejected[0].reason
    );

    let (c, rejected) = sink(UserIdType::UserId).columns(page.reviewees);
    assert_eq!(c.user_id, ["2ag4g6d3", "only_user_id"]);
    assert!(rejected.is_empty());
}

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = sink(UserIdType::OpenId).columns(vec![record]);
    }
}
