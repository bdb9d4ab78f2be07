//! The typed error at the API-client boundary, so callers can tell a rate limit from a
//! token problem from an API code, and every message carries what Feishu support asks for.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::feishu::Endpoint;

/// Frequency-limit code; arrives with HTTP 429, or HTTP 400 on older endpoints.
pub const CODE_RATE_LIMITED: i64 = 99991400;

/// Codes meaning "this tenant_access_token is not (or no longer) valid: get a new one".
/// 99991663 also means "this API takes no tenant token", which only a refused fresh
/// token tells apart.
pub const TOKEN_CODES: [i64; 3] = [99991663, 99991664, 99991671];

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
    /// A freshly fetched token was rejected too: the endpoint does not take tenant tokens.
    #[error(
        "Feishu {endpoint} refused a freshly fetched tenant_access_token: code {code}: {msg} ({log_id}); \
         this endpoint ({path}) may not accept tenant tokens at all, so the stream stopped (disable it, or \
         check the endpoint's document for the token types it takes)",
        path = endpoint.path()
    )]
    TokenRejected {
        endpoint: Endpoint,
        code: i64,
        msg: String,
        log_id: LogId,
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
            ApiError::QuotaExhausted { .. }
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
