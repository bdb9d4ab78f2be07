//! The typed error at the API-client boundary, so callers can tell a rate limit from a
//! token problem from an API code, and every message carries what Feishu support asks for.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::feishu::Endpoint;

/// Frequency-limit code; arrives with HTTP 429, or HTTP 400 on older endpoints.
pub const CODE_RATE_LIMITED: i64 = 99991400;

/// Codes meaning "this tenant_access_token is not (or no longer) valid: get a new one"
/// (99991665: "tenant_access_token invalid"). 99991663 also means "this API takes no
/// tenant token", which only a refused fresh token tells apart.
pub const TOKEN_CODES: [i64; 4] = [99991663, 99991664, 99991665, 99991671];

/// Answers that are the server's trouble, not the request's, though they come with HTTP
/// 400: contact v3's 40003 ("internal error"). Retried like a 5xx.
pub const TRANSIENT_CODES: [i64; 1] = [40003];

/// The tenant has no licence for Feishu Performance: every performance request answers it.
pub const CODE_NO_PERFORMANCE_LICENCE: i64 = 1580901;

/// The tenant's monthly API quota is used up (Basic plan, shared by all its custom apps).
pub const CODE_QUOTA_EXHAUSTED: i64 = 99991403;

/// Answers that mean "this app may not call this endpoint": a missing scope (99991672),
/// a token without the permission (99991676), and task v1's "identity token is incorrect"
/// (1470403, HTTP 403). No retry can fix them; a grant in the developer console can.
pub const FORBIDDEN_CODES: [i64; 3] = [99991672, 99991676, 1470403];

/// The `X-Tt-Logid` of a response, or a marker when there was none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogId(pub Option<String>);

impl LogId {
    /// The id alone, or `-`, for structured log fields.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("-")
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "log id {id}"),
            None => f.write_str("no log id"),
        }
    }
}

/// What can go wrong talking to Feishu. Secrets and tokens never appear in it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Feishu answered with `code != 0` that no retry can fix (bad parameter, no licence...).
    #[error("Feishu {endpoint} failed: code {code}: {msg} (HTTP {http_status}, {log_id})")]
    Api {
        endpoint: Endpoint,
        http_status: u16,
        code: i64,
        msg: String,
        log_id: LogId,
    },
    /// The token endpoint refused the app's credentials or failed.
    #[error(
        "cannot get a tenant_access_token: code {code}: {msg} ({log_id}); check feishu.app_id and feishu.app_secret"
    )]
    Token {
        code: i64,
        msg: String,
        log_id: LogId,
    },
    /// The token was rejected again after asking for a new one. The token endpoint hands
    /// back the same token while 30 minutes or more of it remain, so the second try may
    /// have sent the very token refused: either this endpoint takes no tenant token, or
    /// the token itself is refused. The refused token is dropped from the cache.
    #[error(
        "Feishu {endpoint} refused the tenant_access_token again after a new one was asked for: code {code}: \
         {msg} ({log_id}); {which}. Either this endpoint ({path}) may not accept tenant tokens at all (disable \
         the stream, or check the endpoint's document for the token types it takes), or Feishu refuses this \
         token itself; the refused token is dropped, so the next run asks for another. The stream stopped",
        path = endpoint.path(),
        which = match same_token {
            true => "the token endpoint handed back the same token (it does while 30 minutes or more of it remain)",
            false => "the second token was a new one",
        }
    )]
    TokenRejected {
        endpoint: Endpoint,
        code: i64,
        msg: String,
        log_id: LogId,
        /// The token endpoint answered the refused token again.
        same_token: bool,
    },
    /// The app lacks a scope (or the permission) the endpoint needs.
    #[error(
        "Feishu {endpoint} refused the app: code {code}: {msg} ({log_id}); grant the app one of these scopes: \
         {scopes} (developer console > Permissions & Scopes), then publish a version and have an admin approve it",
        scopes = scopes.join(", ")
    )]
    Forbidden {
        endpoint: Endpoint,
        code: i64,
        msg: String,
        /// The scopes Feishu named in `error.permission_violations`, else the document's.
        scopes: Vec<String>,
        log_id: LogId,
    },
    /// Every record of a page lacks a field that only a field scope returns (`user_id`
    /// without `contact:user.employee_id:readonly`): each would be rejected, so the
    /// stream stops and says which scope to grant.
    #[error(
        "Feishu {endpoint} sent records without `{field}`: the app lacks the field scope {scope}, which \
         `{field}` needs (feishu.user_id_type = user_id); grant it (developer console > Permissions & Scopes), \
         or set feishu.user_id_type to open_id"
    )]
    MissingFieldScope {
        endpoint: Endpoint,
        field: &'static str,
        scope: &'static str,
    },
    /// Code 99991403: the client sends nothing more until `until`.
    #[error(
        "Feishu {endpoint}: code 99991403: the tenant's monthly API quota is used up (shared by all its custom \
         apps); nothing more is sent until it renews at {until} ({log_id}); wait for the renewal or upgrade the \
         Feishu plan",
        until = until.format("%Y-%m-%d %H:%M UTC")
    )]
    QuotaExhausted {
        endpoint: String,
        until: DateTime<Utc>,
        log_id: LogId,
    },
    /// The frequency limit kept answering after the allowed number of waits.
    #[error(
        "Feishu {endpoint} still rate limited (code 99991400) after {waits} waits ({log_id}); lower feishu.rate_limits.{endpoint}"
    )]
    RateLimited {
        endpoint: Endpoint,
        waits: u32,
        log_id: LogId,
    },
    /// Network errors, timeouts, 5xx or non-JSON bodies, still failing after every retry.
    #[error("Feishu {endpoint} unavailable after {attempts} attempts: {last} ({log_id})")]
    Unavailable {
        endpoint: String,
        attempts: u32,
        last: String,
        log_id: LogId,
    },
    /// The answer's body was larger than the client reads: the request failed, unread.
    #[error(
        "Feishu {endpoint} answered a body larger than {limit} bytes; it was not read ({log_id})"
    )]
    TooLarge {
        endpoint: String,
        limit: usize,
        log_id: LogId,
    },
    /// The body was JSON with `code == 0` but not of the documented shape.
    #[error("Feishu {endpoint} answered an unexpected shape: {reason} ({log_id})")]
    Shape {
        endpoint: Endpoint,
        reason: String,
        log_id: LogId,
    },
}

impl ApiError {
    /// The Feishu code, where the error has one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Api { code, .. }
            | ApiError::Token { code, .. }
            | ApiError::TokenRejected { code, .. }
            | ApiError::Forbidden { code, .. } => Some(*code),
            ApiError::RateLimited { .. } => Some(CODE_RATE_LIMITED),
            ApiError::QuotaExhausted { .. } => Some(CODE_QUOTA_EXHAUSTED),
            ApiError::Unavailable { .. }
            | ApiError::TooLarge { .. }
            | ApiError::Shape { .. }
            | ApiError::MissingFieldScope { .. } => None,
        }
    }

    /// Whether the token endpoint refused the app's credentials (10003 invalid param,
    /// 10014 app secret invalid and the other 10xxx codes of the token document): no
    /// stream can run, and only a configuration change helps.
    pub fn refuses_credentials(&self) -> bool {
        matches!(self, ApiError::Token { code, .. } if (10000..20000).contains(code))
    }

    /// Whether every other request of the stream would fail the same way, so the stream
    /// stops at once instead of trying each partition: no quota, no scope, no token.
    pub fn stops_the_stream(&self) -> bool {
        matches!(
            self,
            ApiError::Api {
                code: CODE_NO_PERFORMANCE_LICENCE,
                ..
            } | ApiError::QuotaExhausted { .. }
                | ApiError::Forbidden { .. }
                | ApiError::MissingFieldScope { .. }
                | ApiError::TokenRejected { .. }
                | ApiError::Token { .. }
        )
    }

    /// Whether the app's contact range does not reach what was asked: a department (40004,
    /// or 40014 for its parent) or a user (41050). One such answer costs that partition,
    /// not the stream.
    pub fn is_out_of_contact_range(&self) -> bool {
        matches!(
            self,
            ApiError::Api {
                endpoint: Endpoint::Departments | Endpoint::Users,
                code: 40004 | 40014 | 41050,
                ..
            }
        )
    }

    /// Whether a department's subtree is too large to list in one recursive read (43010,
    /// "big dept forbid recursion"): the caller walks it one level at a time.
    pub fn refuses_recursion(&self) -> bool {
        matches!(
            self,
            ApiError::Api {
                endpoint: Endpoint::Departments,
                code: 43010,
                ..
            }
        )
    }

    /// Whether the server refused the request's parameters ("param is invalid": an
    /// unknown or departed user id, say). Sent with a page token, the same codes may mean
    /// the token went stale; see [`ApiError::is_bad_page_token`].
    pub fn is_invalid_parameter(&self) -> bool {
        matches!(
            self,
            ApiError::Api {
                endpoint: Endpoint::ApprovalTasks,
                code: 1390001,
                ..
            } | ApiError::Api {
                endpoint: Endpoint::Semesters | Endpoint::Activities | Endpoint::StageTasks,
                code: 1580102,
                ..
            }
        )
    }

    /// Whether the server may have rejected a page token: task v1's own code, or the
    /// parameter error the performance and approval endpoints answer for a bad token.
    /// Callers read the partition again from its beginning, once.
    pub fn is_bad_page_token(&self) -> bool {
        matches!(
            self,
            ApiError::Api {
                endpoint: Endpoint::Tasks,
                code: 1470422,
                ..
            } | ApiError::Api {
                endpoint: Endpoint::StageTasks,
                code: 1580102,
                ..
            } | ApiError::Api {
                endpoint: Endpoint::ApprovalTasks,
                code: 1390001,
                ..
            } | ApiError::Api {
                endpoint: Endpoint::Departments | Endpoint::Users,
                code: 40012,
                ..
            }
        )
    }
}
