//! Unit tests of the metric-detail mapping. No full copy of the document
//! (performance-v2/metric_detail/query) with its response example was found, so no
//! fixture here is the document's verbatim example: this one follows the response table
//! and the SDKs' `RevieweeMetric` model: `metric_details` is one object per entry, so a
//! reviewee with two metrics comes back as two entries.

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

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_entry_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = Columns::default().push(record, UserIdType::OpenId);
    }
}
