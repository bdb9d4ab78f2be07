//! Unit tests of the metric-detail mapping. `EXAMPLE` is the response example of
//! performance-v2/metric_detail/query
//! (<https://open.feishu.cn/document/performance-v1/metric_detail/query>) as the
//! FeishuNetSdk tests quote it, verbatim (`examples/metric_details_query.json`; the
//! official page itself was not in the stored copies). `ANSWER` is hand-built after the
//! response table and the SDKs' `RevieweeMetric` model, for what the example lacks:
//! `metric_details` is one object per entry, so a reviewee with two metrics comes back
//! as two entries; numeric ids; an entry without a metric id.

use super::*;

const ANSWER: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "semester_id": "7293040702907514899",
        "reviewee_metrics": [
            {
                "reviewee_user_id": {"open_id": "ou_3245842393d09e9428ad4655da6e30b3", "user_id": "u1"},
                "metric_template_id": "7293040702907514800",
                "metric_details": {
                    "metric_id": "7293040702907514901",
                    "name": "Revenue",
                    "fields": [
                        {"field_id": "7293169069640630291", "field_value": "1,000"},
                        {"field_id": "7293169069640630292", "field_value": "85%"},
                        {"field_id": "7293169069640630293", "field_value_person": {"open_id": "ou_owner"}}
                    ],
                    "dimension_id": "7293040702907514700",
                    "dimension_name": {"zh_cn": "业绩", "en_us": "Results"},
                    "dimension_weight": "60",
                    "add_from": "admin",
                    "is_from_library": true
                },
                "reviewee_stage_statuses": [{"stage_id": "1", "stage_type": "metric_development", "stage_status": 3}]
            },
            {
                "reviewee_user_id": {"open_id": "ou_3245842393d09e9428ad4655da6e30b3"},
                "metric_details": {"metric_id": 7293040702907514902, "name": "Delivery", "fields": []}
            },
            {"reviewee_user_id": {"open_id": "ou_x"}, "metric_details": {"name": "no id"}}
        ]
    }
}"#;

#[test]
fn one_entry_per_metric_maps_to_metric_and_field_rows() {
    let envelope: Value = serde_json::from_str(ANSWER).unwrap();
    let answer = MetricAnswer::deserialize(&envelope["data"]).unwrap();
    let mut c = Columns::default();
    let results: Vec<bool> = answer
        .reviewee_metrics
        .into_iter()
        .map(|raw| c.push(raw, UserIdType::OpenId).is_ok())
        .collect();
    assert_eq!(results, [true, true, false]);
    assert_eq!(c.metric_id, ["7293040702907514901", "7293040702907514902"]);
    assert_eq!(c.weight, [Some(60.0), None]);
    assert_eq!(c.dimension_en[0].as_deref(), Some("Results"));
    assert_eq!(c.f_field.len(), 3);
    assert_eq!(c.f_number, [Some(1000.0), Some(85.0), None]);
    assert_eq!(c.f_person[2].as_deref(), Some("ou_owner"));
    assert_eq!(c.statuses[1], serde_json::json!([]));
}

/// The document's response example as the FeishuNetSdk tests quote it, byte for byte.
const EXAMPLE: &str = include_str!("examples/metric_details_query.json");

#[test]
fn the_documents_example_maps_to_one_metric_and_one_field() {
    let envelope: Value = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(envelope["code"], 0);
    assert_eq!(envelope["data"]["semester_id"], "7291278856547794964");
    let answer = MetricAnswer::deserialize(&envelope["data"]).unwrap();
    assert_eq!(answer.reviewee_metrics.len(), 1);
    let entry = answer.reviewee_metrics[0].clone();
    let mut c = Columns::default();
    c.push(entry.clone(), UserIdType::OpenId).unwrap();

    assert_eq!(c.reviewee, ["od-asd2dasdasd"]);
    assert_eq!(c.metric_id, ["7272581996315099155"]);
    assert_eq!(c.template_id[0].as_deref(), Some("7294570803306168339"));
    assert_eq!(
        c.name[0].as_deref(),
        Some("示例指标"),
        "a plain string, not i18n"
    );
    assert_eq!(c.dimension_id[0].as_deref(), Some("7303895818346430484"));
    assert_eq!(c.dimension_zh[0].as_deref(), Some("维度一"));
    assert_eq!(c.dimension_en[0].as_deref(), Some("Dimension 1"));
    assert_eq!(c.weight, [Some(90.0)], "\"90%\" is 90, as \"60\" is 60");
    assert_eq!(c.add_from[0].as_deref(), Some("admin"));
    assert_eq!(c.from_library, [Some(true)]);
    assert_eq!(
        c.statuses[0],
        serde_json::json!([{"stage_id": "1", "stage_type": "kpi_metric_setting", "stage_status": 0}])
    );
    assert_eq!(c.raw[0], entry);

    assert_eq!(c.f_reviewee, ["od-asd2dasdasd"]);
    assert_eq!(c.f_metric, ["7272581996315099155"]);
    assert_eq!(c.f_field, ["7296082067266207764"]);
    assert_eq!(c.f_value[0].as_deref(), Some("90"));
    assert_eq!(c.f_number, [Some(90.0)]);
    assert_eq!(c.f_person[0].as_deref(), Some("od-asd2dasdasd"));
    assert_eq!(c.f_raw, [entry["metric_details"]["fields"][0].clone()]);

    let mut c = Columns::default();
    c.push(entry, UserIdType::UserId).unwrap();
    assert_eq!(c.reviewee, ["ou-ux987dsf6x"]);
    assert_eq!(c.f_reviewee, ["ou-ux987dsf6x"]);
    assert_eq!(c.f_person[0].as_deref(), Some("ou-ux987dsf6x"));
}

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_entry_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = Columns::default().push(record, UserIdType::OpenId);
    }
}
