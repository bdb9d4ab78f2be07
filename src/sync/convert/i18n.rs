//! Feishu's two spellings of i18n text, both read into the `_zh`/`_en` column pairs.

use serde::Deserialize;

/// i18n text keyed `zh-CN` / `en-US` (semesters, stage tasks).
#[derive(Debug, Default, Deserialize)]
pub struct I18nDashed {
    #[serde(rename = "zh-CN", default)]
    pub zh: Option<String>,
    #[serde(rename = "en-US", default)]
    pub en: Option<String>,
}

/// i18n text keyed `zh_cn` / `en_us` (activities, task origins).
#[derive(Debug, Default, Deserialize)]
pub struct I18nSnake {
    #[serde(rename = "zh_cn", default)]
    pub zh: Option<String>,
    #[serde(rename = "en_us", default)]
    pub en: Option<String>,
}
