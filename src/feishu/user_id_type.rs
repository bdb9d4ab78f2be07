//! The kind of user id every request asks Feishu for (`feishu.user_id_type`): parsed once
//! when the configuration loads, passed as this enum everywhere, and turned back into its
//! wire word only where a request or the database needs the text.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Which of a person's ids every user column holds, and which one the API is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserIdType {
    /// `open_id`: the id of the person within this app (the default).
    #[default]
    OpenId,
    /// `union_id`: the id of the person across the apps of one developer.
    UnionId,
    /// `user_id`: the tenant's employee id; needs the `contact:user.employee_id:readonly` scope.
    UserId,
}

impl UserIdType {
    /// Every kind, in the order messages list them.
    pub const ALL: [UserIdType; 3] = [UserIdType::OpenId, UserIdType::UnionId, UserIdType::UserId];

    /// The wire word: the value of the `user_id_type` parameter, the name of the record
    /// field that holds such an id, and the text `feishu.sync_settings` records.
    pub fn as_str(self) -> &'static str {
        match self {
            UserIdType::OpenId => "open_id",
            UserIdType::UnionId => "union_id",
            UserIdType::UserId => "user_id",
        }
    }
}

impl fmt::Display for UserIdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `feishu.user_id_type` that is none of the three words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("feishu.user_id_type {0:?} must be open_id, union_id or user_id")]
pub struct UnknownUserIdType(pub String);

impl FromStr for UserIdType {
    type Err = UnknownUserIdType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        UserIdType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownUserIdType(text.to_string()))
    }
}

/// Through [`FromStr`], so a wrong word reads as every other configuration problem does.
impl<'de> Deserialize<'de> for UserIdType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_words_parse_and_print_back() {
        for kind in UserIdType::ALL {
            assert_eq!(kind.as_str().parse::<UserIdType>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(UserIdType::default(), UserIdType::OpenId);
    }

    #[test]
    fn any_other_word_is_refused_with_the_accepted_ones() {
        let error = "email".parse::<UserIdType>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "feishu.user_id_type \"email\" must be open_id, union_id or user_id"
        );
        assert!("Open_ID".parse::<UserIdType>().is_err(), "spelt exactly");
        let from_json = serde_json::from_value::<UserIdType>("union".into()).unwrap_err();
        assert!(
            from_json.to_string().contains("must be open_id"),
            "{from_json}"
        );
    }
}
