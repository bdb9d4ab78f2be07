//! Task v1's wire records: serde types of the fields the document lists.

use serde::Deserialize;
use serde_json::Value;

/// `data` of one page.
#[derive(Debug, Deserialize)]
pub(super) struct TaskPage {
    #[serde(default)]
    pub(super) items: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireDue {
    pub(super) time: Option<String>,
    pub(super) timezone: Option<String>,
    pub(super) is_all_day: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireHref {
    pub(super) title: Option<String>,
    pub(super) url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireOrigin {
    #[serde(default)]
    pub(super) href: WireHref,
    /// A JSON object *inside a string*: `"{\"en_us\":\"IT Workspace\",\"zh_cn\":\"IT 工作台\"}"`.
    pub(super) platform_i18n_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireMember {
    pub(super) id: String,
}

/// One task as the API sends it.
#[derive(Debug, Deserialize)]
pub(super) struct WireTask {
    pub(super) id: String,
    pub(super) summary: Option<String>,
    pub(super) description: Option<String>,
    pub(super) complete_time: Option<String>,
    pub(super) create_time: Option<String>,
    pub(super) update_time: Option<String>,
    pub(super) creator_id: Option<String>,
    pub(super) extra: Option<String>,
    pub(super) custom: Option<String>,
    pub(super) can_edit: Option<bool>,
    pub(super) source: Option<i32>,
    pub(super) repeat_rule: Option<String>,
    #[serde(default)]
    pub(super) due: WireDue,
    #[serde(default)]
    pub(super) origin: WireOrigin,
    #[serde(default)]
    pub(super) collaborators: Vec<WireMember>,
    #[serde(default)]
    pub(super) followers: Vec<WireMember>,
}
