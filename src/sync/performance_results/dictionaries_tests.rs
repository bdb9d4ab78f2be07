//! Unit tests of the dictionaries. `METRIC_FIELDS_EXAMPLE` is the response example of
//! performance-v2/metric_field/query, verbatim (`examples/metric_fields_query.json`).
//! `INDICATORS_EXAMPLE` is the response example of performance-v2/indicator/query
//! (<https://open.feishu.cn/document/performance-v1/review_config/review_template/query-3>)
//! as the FeishuNetSdk tests quote it, verbatim (`examples/indicators_query.json`; the
//! official page itself was not in the stored copies). `INDICATORS` and `METRIC_FIELDS`
//! are hand-built after the response tables, for what the examples lack (several levels,
//! an indicator without id, numeric ids; note `lable`, and the field type `pencentage`,
//! spelt as the document spells them).

use super::*;

const INDICATORS: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "indicators": [
            {
                "id": "7343513161666707459",
                "name": {"zh_cn": "综合绩效", "en_us": "Overall performance"},
                "type": "score_and_level",
                "options": [
                    {"id": "7343513161666707460", "name": {"zh_cn": "卓越", "en_us": "Outstanding"}, "lable": "S"},
                    {"id": "7343513161666707461", "name": {"zh_cn": "良好", "en_us": "Good"}, "lable": "B"}
                ]
            },
            {"name": {"zh_cn": "无 id"}}
        ],
        "has_more": true,
        "page_token": "eVQrYzJBNDNONlk4VFZBZVlSdzlKdFJ4bVVHVExENDNKVHoxaVdiVnViQT0="
    }
}"#;

const METRIC_FIELDS: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "items": [
            {"field_id": "7293169069640630291", "name": {"zh_cn": "目标值", "en_us": "Target"}, "type": "number"},
            {"field_id": 7293169069640630292, "name": {"zh_cn": "完成率", "en_us": "Rate"}, "type": "pencentage"}
        ]
    }
}"#;

#[test]
fn indicators_and_their_levels_map_to_rows() {
    let envelope: Value = serde_json::from_str(INDICATORS).unwrap();
    let page = IndicatorPage::deserialize(&envelope["data"]).unwrap();
    let (c, rejected) = IndicatorColumns::from_records(page.indicators);
    assert_eq!(c.id, ["7343513161666707459"]);
    assert_eq!(c.name_en[0].as_deref(), Some("Overall performance"));
    assert_eq!(c.option_id, ["7343513161666707460", "7343513161666707461"]);
    assert_eq!(
        c.option_label,
        [Some("S".to_string()), Some("B".to_string())]
    );
    assert_eq!(c.option_zh[0].as_deref(), Some("卓越"));
    assert_eq!(c.option_raw[1]["lable"], "B");
    assert_eq!(rejected.len(), 1, "an indicator without id is rejected");
}

#[test]
fn metric_fields_take_string_or_numeric_ids() {
    let envelope: Value = serde_json::from_str(METRIC_FIELDS).unwrap();
    let list = MetricFieldList::deserialize(&envelope["data"]).unwrap();
    let fields: Vec<WireMetricField> = list
        .items
        .iter()
        .map(|v| WireMetricField::deserialize(v).unwrap())
        .collect();
    assert_eq!(fields[0].field_id, "7293169069640630291");
    assert_eq!(fields[1].field_id, "7293169069640630292");
    assert_eq!(fields[0].name.en.as_deref(), Some("Target"));
    assert_eq!(fields[1].r#type.as_deref(), Some("pencentage"));
}

/// The document's own response example, byte for byte.
const METRIC_FIELDS_EXAMPLE: &str = include_str!("examples/metric_fields_query.json");

#[test]
fn the_documents_metric_field_example_maps_to_one_field() {
    let envelope: Value = serde_json::from_str(METRIC_FIELDS_EXAMPLE).unwrap();
    assert_eq!(envelope["code"], 0);
    let list = MetricFieldList::deserialize(&envelope["data"]).unwrap();
    assert_eq!(list.items.len(), 1);
    let field = WireMetricField::deserialize(&list.items[0]).unwrap();
    assert_eq!(field.field_id, "7272581996315099155");
    assert_eq!(field.name.zh.as_deref(), Some("销量"));
    assert_eq!(field.name.en.as_deref(), Some("Sales"));
    assert_eq!(field.r#type.as_deref(), Some("text"));
}

/// The document's response example as the FeishuNetSdk tests quote it, byte for byte.
const INDICATORS_EXAMPLE: &str = include_str!("examples/indicators_query.json");

#[test]
fn the_documents_indicator_example_maps_to_one_indicator_and_one_level() {
    let envelope: Value = serde_json::from_str(INDICATORS_EXAMPLE).unwrap();
    assert_eq!(envelope["code"], 0);
    assert_eq!(envelope["data"]["has_more"], true, "the pager reads on");
    let page = IndicatorPage::deserialize(&envelope["data"]).unwrap();
    assert_eq!(page.indicators.len(), 1);
    let raw = page.indicators[0].clone();
    let (c, rejected) = IndicatorColumns::from_records(page.indicators);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(c.id, ["7343513161666707459"]);
    assert_eq!(c.name_zh[0].as_deref(), Some("完成度"));
    assert_eq!(c.name_en[0].as_deref(), Some("Completeness"));
    assert_eq!(c.r#type[0].as_deref(), Some("plus"));
    assert_eq!(c.raw[0], raw);
    // The example's level reuses its indicator's placeholder id: levels are keyed by
    // (indicator, option), so that is one level, not a clash.
    assert_eq!(c.option_indicator, ["7343513161666707459"]);
    assert_eq!(c.option_id, ["7343513161666707459"]);
    assert_eq!(
        c.option_label,
        [Some("qwerty".to_string())],
        "read from `lable`"
    );
    assert_eq!(c.option_zh[0].as_deref(), Some("等级 1"));
    assert_eq!(c.option_en[0].as_deref(), Some("Rank 1"));
    assert_eq!(c.option_raw[0], raw["options"][0]);
    assert_eq!(c.option_raw[0]["lable"], "qwerty");
}

proptest::proptest! {
    /// Any JSON gives rows or rejections, never a panic.
    #[test]
    fn any_indicator_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = IndicatorColumns::from_records(vec![record.clone()]);
        let _ = WireMetricField::deserialize(&record);
    }
}
