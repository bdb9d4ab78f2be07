//! What every simulated endpoint shares: the error answer, request parameters, page sizes
//! and the paging fields of an answer.

use serde_json::{Value, json};

use super::paging;
use super::state::{Shared, lock};
use feishu_endpoints::Endpoint;

pub(crate) type Query = [(String, String)];

/// A non-zero answer: HTTP status, body code and message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: i64,
    pub(crate) msg: &'static str,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: i64, msg: &'static str) -> Self {
        ApiError { status, code, msg }
    }
}

/// The endpoint's "param is invalid" answer (`None`: the token endpoint).
pub(crate) fn param_error(endpoint: Option<Endpoint>) -> ApiError {
    match endpoint {
        None => ApiError::new(400, 10003, "invalid param"),
        Some(Endpoint::Departments | Endpoint::Users) => {
            ApiError::new(400, 40001, "invalid parameter")
        }
        Some(Endpoint::ApprovalTasks) => ApiError::new(400, 1390001, "param is invalid"),
        Some(Endpoint::Tasks) => ApiError::new(400, 99992402, "field validation failed"),
        Some(_) => ApiError::new(400, 1580102, "param is invalid"),
    }
}

/// The endpoint's answer to an unparseable page token.
pub(crate) fn bad_page_token(endpoint: Option<Endpoint>) -> ApiError {
    match endpoint {
        Some(Endpoint::Tasks) => ApiError::new(400, 1470422, "failed to parse page_token"),
        Some(Endpoint::Departments | Endpoint::Users) => {
            ApiError::new(400, 40012, "page token is invalid error")
        }
        other => param_error(other),
    }
}

pub(crate) fn success(data: Value) -> Value {
    json!({ "code": 0, "msg": "success", "data": data })
}

/// First non-empty value of query parameter `key`.
pub(crate) fn param<'a>(query: &'a Query, key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses an optional integer; `Err` when present but not an integer.
pub(crate) fn opt_int(value: Option<&str>) -> Result<Option<i64>, ()> {
    value
        .map(|v| v.trim().parse::<i64>().map_err(drop))
        .transpose()
}

/// A page size: `default` when absent or 0, `Err(true)` above `max`, `Err(false)` when
/// not a non-negative integer.
pub(crate) fn page_size(value: Option<i64>, default: usize, max: usize) -> Result<usize, bool> {
    match value {
        None | Some(0) => Ok(default),
        Some(n) if n < 0 => Err(false),
        Some(n) if n as u64 > max as u64 => Err(true),
        Some(n) => Ok(n as usize),
    }
}

pub(crate) fn check_user_id_type(
    query: &Query,
    allowed: &[&str],
    err: fn() -> ApiError,
) -> Result<(), ApiError> {
    match param(query, "user_id_type") {
        Some(t) if !allowed.contains(&t) => Err(err()),
        _ => Ok(()),
    }
}

/// `has_more` and, when more follow, `page_token`, written into `target`.
pub(crate) fn put_paging(
    target: &mut Value,
    endpoint: Endpoint,
    scope: &str,
    next_after: Option<String>,
) {
    target["has_more"] = json!(next_after.is_some());
    if let Some(key) = next_after {
        target["page_token"] = json!(paging::encode(endpoint, scope, &key));
    }
}

/// `record` with the patch `SimHandle::corrupt` set for it, if any.
pub(crate) fn corrupted(
    shared: &Shared,
    endpoint: Endpoint,
    key: &str,
    mut record: Value,
) -> Value {
    let corruptions = lock(&shared.corruptions);
    let Some(Value::Object(patch)) = corruptions.get(&(endpoint, key.to_string())) else {
        return record;
    };
    if let Value::Object(fields) = &mut record {
        for (name, value) in patch {
            match value {
                Value::Null => fields.remove(name),
                value => fields.insert(name.clone(), value.clone()),
            };
        }
    }
    record
}
