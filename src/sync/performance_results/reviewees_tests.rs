//! Unit tests of the reviewee mapping. `EXAMPLE` is the response example of
//! performance-v2/reviewee/query
//! (<https://open.feishu.cn/document/performance-v1/review_config/semester_activity/reviewee/query>)
//! as the FeishuNetSdk tests quote it, verbatim (`examples/reviewees_query.json`; the
//! official page itself was not in the stored copies). `ANSWER` is hand-built after the
//! response table and the SDKs' `Reviewee` model, for what the example lacks (a reviewee
//! without an open_id).

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

/// The document's response example as the FeishuNetSdk tests quote it, byte for byte.
const EXAMPLE: &str = include_str!("examples/reviewees_query.json");

#[test]
fn the_documents_example_maps_to_one_reviewee() {
    let envelope: Value = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(envelope["code"], 0);
    // The sink's semester comes from the request; the answer repeats it, and pages on.
    assert_eq!(envelope["data"]["semester_id"], "7291278856547794964");
    assert_eq!(envelope["data"]["has_more"], true);
    let page = RevieweePage::deserialize(&envelope["data"]).unwrap();
    assert_eq!(page.reviewees.len(), 1);
    let (c, rejected) = sink(UserIdType::OpenId).columns(page.reviewees.clone());
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(c.user_id, ["od-asd2dasdasd"]);
    assert_eq!(c.activity_ids, [serde_json::json!(["7376847302857555971"])]);
    assert_eq!(
        c.url,
        [Some(
            "https://perf.feishu.cn/perf/profile?rootReviewId=7380183500051202067".to_string()
        )]
    );
    assert_eq!(c.raw, page.reviewees, "the record is kept whole in `raw`");

    let (c, rejected) = sink(UserIdType::UserId).columns(page.reviewees.clone());
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(c.user_id, ["ou-ux987dsf6x"]);

    let (c, rejected) = sink(UserIdType::UnionId).columns(page.reviewees);
    assert!(c.user_id.is_empty(), "the example has no union_id");
    assert_eq!(rejected.len(), 1);
}

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = sink(UserIdType::OpenId).columns(vec![record]);
    }
}
