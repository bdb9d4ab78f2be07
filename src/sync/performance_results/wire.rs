//! Wire shapes the performance v2 queries share: ids the SDKs type as numbers and the
//! documents as strings, user objects carrying several ids, and numbers sent as text.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::feishu::UserIdType;

/// An id sent as a JSON string or number, kept as text.
pub(super) fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if !s.is_empty() => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id (string or number), got {other}"
        ))),
    }
}

/// An optional id sent as a JSON string or number; empty strings and null are `None`.
pub(super) fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an id (string or number), got {other}"
        ))),
    }
}

/// A person as the performance v2 answers carry one: `{open_id, user_id}`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireUser {
    #[serde(default)]
    open_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    union_id: Option<String>,
}

impl WireUser {
    /// The id of `feishu.user_id_type`, so it joins `feishu.users.id`.
    pub(super) fn id(&self, user_id_type: UserIdType) -> Option<String> {
        let id = match user_id_type {
            UserIdType::UserId => &self.user_id,
            UserIdType::UnionId => &self.union_id,
            UserIdType::OpenId => &self.open_id,
        };
        id.clone().filter(|s| !s.is_empty())
    }
}

/// A number sent as text ("85", "85%", "1,200", " 4.5 "); `None` when it is none.
pub(super) fn number(text: Option<&str>) -> Option<f64> {
    let cleaned: String = text?
        .trim()
        .trim_end_matches('%')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    cleaned.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A JSON string or number as text: `score` and `dimension_weight` come either way.
pub(super) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Ok(Some(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_text_parse_and_others_do_not() {
        assert_eq!(number(Some("85")), Some(85.0));
        assert_eq!(number(Some(" 40% ")), Some(40.0));
        assert_eq!(number(Some("1,200.5")), Some(1200.5));
        assert_eq!(number(Some("excellent")), None);
        assert_eq!(number(Some("")), None);
        assert_eq!(number(None), None);
        assert_eq!(number(Some("NaN")), None);
    }

    #[test]
    fn user_ids_follow_the_configured_type() {
        let user: WireUser =
            serde_json::from_value(serde_json::json!({"open_id": "ou_1", "user_id": "u1"}))
                .unwrap();
        assert_eq!(user.id(UserIdType::OpenId).as_deref(), Some("ou_1"));
        assert_eq!(user.id(UserIdType::UserId).as_deref(), Some("u1"));
        assert_eq!(user.id(UserIdType::UnionId), None);
    }
}
