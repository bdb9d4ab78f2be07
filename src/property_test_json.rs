//! Arbitrary JSON for the parser property tests: values built from the field names the
//! documents use, so the mappings are driven deep into their code, not just rejected at
//! the first missing key.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names of the five endpoints' records.
const FIELDS: &[&str] = &[
    "id",
    "task_id",
    "user_id",
    "stage_id",
    "semester_id",
    "name",
    "zh-CN",
    "en-US",
    "zh_cn",
    "en_us",
    "description",
    "year",
    "type",
    "type_group",
    "progress",
    "mode",
    "start_time",
    "end_time",
    "create_time",
    "modify_time",
    "update_time",
    "complete_time",
    "deadline",
    "due",
    "time",
    "timezone",
    "is_all_day",
    "origin",
    "href",
    "url",
    "title",
    "platform_i18n_name",
    "collaborators",
    "followers",
    "items",
    "activities",
    "tasks",
    "stage_task_info_lists",
    "stage_num_lists",
    "task_option_id",
    "stage_num",
    "need_todo_count",
    "urls",
    "initiators",
    "initiator_names",
    "has_more",
    "page_token",
    "code",
    "msg",
    "data",
    "source",
    "can_edit",
    "repeat_rule",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[0-9]{0,20}".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("{\"zh_cn\":\"x\",\"en_us\":1}".into())),
    ]
}

/// Any JSON value, nested a few levels, with keys mostly from [`FIELDS`].
pub fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![4 => proptest::sample::select(FIELDS).prop_map(str::to_string), 1 => "[a-z_]{1,8}"];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}
