//! The simulator's canned answers: `Reply` (an answer before it becomes an HTTP response),
//! and the platform's answers for a missing scope, a frequency limit and each injected
//! fault.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::config::Fault;
use super::params::{self, ApiError};
use super::state::Shared;
use feishu_endpoints::Endpoint;

/// Code and message of an invalid or missing access token.
pub(crate) const TOKEN_INVALID: (i64, &str) = (99991663, "Invalid access token for authorization");
/// Code and message of a used-up monthly quota.
pub(crate) const QUOTA_EXHAUSTED: (i64, &str) =
    (99991403, "the tenant's monthly API call quota is exhausted");
/// Code and message of a frequency-limit answer.
pub(crate) const RATE_LIMITED: (i64, &str) = (99991400, "request trigger frequency limit");

/// An answer before it becomes an HTTP response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    body: Result<Value, (&'static str, String)>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: Ok(body),
            headers: Vec::new(),
        }
    }

    pub(crate) fn text(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: Err((content_type, body.into())),
            headers: Vec::new(),
        }
    }

    pub(crate) fn code(&self) -> i64 {
        match &self.body {
            Ok(v) => v.get("code").and_then(Value::as_i64).unwrap_or(-1),
            Err(_) => -1,
        }
    }

    /// The answer with each `(from, to)` replaced in its JSON text as sent.
    pub(crate) fn rewritten(self, rewrites: &[(String, String)]) -> Reply {
        let Ok(value) = &self.body else {
            return self;
        };
        if rewrites.is_empty() {
            return self;
        }
        let mut text = value.to_string();
        for (from, to) in rewrites {
            text = text.replace(from.as_str(), to);
        }
        Reply {
            body: Err(("application/json; charset=utf-8", text)),
            ..self
        }
    }

    pub(crate) fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match self.body {
            Ok(v) => ("application/json; charset=utf-8", v.to_string()),
            Err(pair) => pair,
        };
        let mut response = (status, Body::from(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        Reply::json(e.status, json!({ "code": e.code, "msg": e.msg }))
    }
}

/// The platform's 99991672 answer, naming the endpoint's scopes.
pub(crate) fn missing_scope(endpoint: Endpoint) -> Reply {
    let scopes = endpoint.scopes();
    let violations: Vec<Value> = scopes
        .iter()
        .map(|s| json!({ "type": "action_scope_required", "subject": s }))
        .collect();
    let msg = format!(
        "Access denied. One of the following scopes is required: [{}]",
        scopes.join(", ")
    );
    Reply::json(
        400,
        json!({ "code": 99991672, "msg": msg, "error": { "permission_violations": violations } }),
    )
}

/// The frequency-limit answer, with its `x-ogw-ratelimit-*` headers.
pub(crate) fn rate_limited(shared: &Shared, endpoint: Option<Endpoint>, reset: u64) -> Reply {
    let legacy = shared.config.legacy_rate_limit_status
        && matches!(endpoint, Some(Endpoint::ApprovalTasks | Endpoint::Tasks));
    let limit = endpoint
        .and_then(|e| shared.config.rate_limits.get(&e))
        .map_or(1000, |l| match shared.config.announce_limit_per_second {
            true => (f64::from(l.requests) / l.window.as_secs_f64().max(1.0)).ceil() as u32,
            false => l.requests,
        });
    let body = json!({ "code": RATE_LIMITED.0, "msg": RATE_LIMITED.1 });
    let mut reply = Reply::json(if legacy { 400 } else { 429 }, body);
    reply
        .headers
        .push(("x-ogw-ratelimit-limit", limit.to_string()));
    reply
        .headers
        .push(("x-ogw-ratelimit-reset", reset.max(1).to_string()));
    reply
}

/// The answer an injected fault (other than `Delay`) replaces the real one with.
pub(crate) fn fault_reply(shared: &Shared, endpoint: Option<Endpoint>, fault: &Fault) -> Reply {
    match fault {
        Fault::ServerErrorHtml => Reply::text(502, "text/html", GATEWAY_PAGE),
        Fault::ServerErrorJson => ApiError::new(500, 1580101, "internal error").into(),
        Fault::RateLimited => rate_limited(shared, endpoint, 1),
        Fault::TokenInvalid => ApiError::new(400, TOKEN_INVALID.0, TOKEN_INVALID.1).into(),
        Fault::BadPageToken => params::bad_page_token(endpoint).into(),
        Fault::MalformedJson => Reply::text(
            200,
            "application/json; charset=utf-8",
            r#"{"code":0,"msg":"success","data":{"items":[{"id":"70"#,
        ),
        Fault::Answer { status, code, msg } => ApiError::new(*status, *code, msg).into(),
        Fault::Code(status, code, msg) => Reply::json(*status, json!({ "code": code, "msg": msg })),
        Fault::Oversize(bytes) => Reply::text(
            200,
            "application/json; charset=utf-8",
            format!(
                r#"{{"code":0,"msg":"success","data":{{"items":[],"padding":"{}"}}}}"#,
                "x".repeat(*bytes)
            ),
        ),
        Fault::Delay(_) | Fault::EndlessPage | Fault::TokenExpire(_) => {
            Reply::json(200, json!({ "code": 0, "msg": "success", "data": {} }))
        }
    }
}

const GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";
