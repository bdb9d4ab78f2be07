//! Missing field scopes told apart from malformed records: when the app lacks the scope
//! that returns a field, every record of a page lacks it alike, which is the stream's
//! error (naming the scope to grant), not each record's.

use serde_json::Value;

use crate::feishu::{ApiError, Endpoint, UserIdType};

/// The scope without which the contact and performance endpoints leave out `user_id`.
pub const USER_ID_SCOPE: &str = "contact:user.employee_id:readonly";

/// When `user_id_type = user_id` and not one of a page's records carries `field`, the
/// app lacks the field scope that returns it: every record would be rejected alike, so
/// this is the stream's error, not the records'.
pub fn missing_user_id_scope(
    endpoint: Endpoint,
    user_id_type: UserIdType,
    records: &[Value],
    field: &'static str,
) -> Option<ApiError> {
    let absent = |r: &Value| {
        r.get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    };
    let all_without =
        user_id_type == UserIdType::UserId && !records.is_empty() && records.iter().all(absent);
    all_without.then_some(ApiError::MissingFieldScope {
        endpoint,
        field,
        scope: USER_ID_SCOPE,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_page_without_any_user_id_under_user_id_is_a_missing_scope() {
        let without = [json!({"open_id": "ou_1"}), json!({"user_id": ""})];
        let one_with = [json!({"open_id": "ou_1"}), json!({"user_id": "u2"})];

        let missing =
            missing_user_id_scope(Endpoint::Users, UserIdType::UserId, &without, "user_id");

        assert!(
            matches!(
                missing,
                Some(ApiError::MissingFieldScope {
                    scope: USER_ID_SCOPE,
                    ..
                })
            ),
            "{missing:?}"
        );
        let (users, open) = (UserIdType::UserId, UserIdType::OpenId);
        assert!(missing_user_id_scope(Endpoint::Users, users, &one_with, "user_id").is_none());
        assert!(missing_user_id_scope(Endpoint::Users, open, &without, "user_id").is_none());
        assert!(missing_user_id_scope(Endpoint::Users, users, &[], "user_id").is_none());
    }
}
