//! Conversions from Feishu's wire formats to column types, one file per kind of value:
//! [`time`] for epoch strings, [`i18n`] for localized text.

pub mod i18n;
pub mod time;
