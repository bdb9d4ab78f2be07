//! Reading one HTTP answer from Feishu: the `code`/`msg` envelope, the frequency-limit
//! headers and the log id, classified into what the client's retry loop should do.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use crate::feishu::budget::Reset;
use crate::feishu::error::{
    CODE_QUOTA_EXHAUSTED, CODE_RATE_LIMITED, FORBIDDEN_CODES, LogId, TOKEN_CODES, TRANSIENT_CODES,
};
use crate::feishu::scrub::scrub;
use crate::metrics::RequestOutcome;

/// A successful (`code == 0`) answer.
#[derive(Debug)]
pub struct ApiReply {
    /// The `data` object.
    pub data: Value,
    /// Top-level fields besides `code`, `msg` and `data` (stage tasks put paging there).
    pub beside_data: Map<String, Value>,
    pub log_id: LogId,
    /// Code points PostgreSQL cannot store (NUL, lone surrogates, invalid UTF-8) that
    /// were replaced by U+FFFD before parsing; see [`crate::feishu::scrub`].
    pub replaced: u64,
}

/// Outcome of one HTTP exchange, before the retry policy decides what to do.
pub(crate) enum Attempt {
    Done(ApiReply),
    Transient(String, LogId),
    /// The server's wait and, if it sent `x-ogw-ratelimit-limit`, its limit.
    RateLimited(Reset, Option<u32>, LogId),
    TokenRejected {
        code: i64,
        msg: String,
        log_id: LogId,
    },
    /// Code 99991403: the tenant's monthly quota is used up.
    QuotaExhausted(LogId),
    /// The app may not call the endpoint; `scopes` are those Feishu named, if any.
    Forbidden {
        code: i64,
        msg: String,
        scopes: Vec<String>,
        log_id: LogId,
    },
    /// A body larger than the client reads (bytes); not retried.
    TooLarge(usize, LogId),
    /// A `code != 0` answer that no retry can fix.
    Failed {
        http_status: u16,
        code: i64,
        msg: String,
        log_id: LogId,
    },
}

impl Attempt {
    pub(crate) fn outcome(&self) -> RequestOutcome {
        match self {
            Attempt::Done(_) => RequestOutcome::Ok,
            Attempt::Transient(..) => RequestOutcome::Transient,
            Attempt::RateLimited(..) => RequestOutcome::RateLimited,
            Attempt::TokenRejected { .. } => RequestOutcome::TokenRejected,
            Attempt::QuotaExhausted(_) => RequestOutcome::QuotaExhausted,
            Attempt::Forbidden { .. } | Attempt::Failed { .. } | Attempt::TooLarge(..) => {
                RequestOutcome::ApiError
            }
        }
    }
}

/// Decides what one HTTP answer means.
pub(crate) fn classify(status: u16, headers: &HeaderMap, bytes: &[u8], log_id: LogId) -> Attempt {
    if (300..400).contains(&status) {
        // The client follows no redirect, so the app secret and tokens go nowhere else.
        return Attempt::Failed {
            http_status: status,
            code: 0,
            msg: "a redirect, not followed: feishu.base_url must name the API host itself"
                .to_string(),
            log_id,
        };
    }
    let (bytes, replaced) = scrub(bytes);
    let envelope = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
    let Some(envelope) = envelope else {
        if status == 429 {
            return Attempt::RateLimited(reset_wait(headers), server_limit(headers), log_id);
        }
        return Attempt::Transient(format!("HTTP {status} with a non-JSON body"), log_id);
    };
    let code = envelope.get("code").and_then(Value::as_i64);
    let msg = printable(
        envelope
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    if status == 429 || code == Some(CODE_RATE_LIMITED) {
        return Attempt::RateLimited(reset_wait(headers), server_limit(headers), log_id);
    }
    let Some(code) = code else {
        return Attempt::Transient(format!("HTTP {status} with no `code` in the body"), log_id);
    };
    if let Some(refused) = refusal(status, code, msg, &envelope, &log_id) {
        return refused;
    }
    let mut reply = ApiReply::from_envelope(envelope, log_id);
    reply.replaced = replaced;
    Attempt::Done(reply)
}

/// What a well-formed answer with a `code` means when it is a refusal (a token, transient,
/// quota, permission, server or API error), or `None` when it succeeded; `classify` keeps
/// the HTTP-level cases (redirects, bodies that are not an envelope, rate limits).
fn refusal(
    status: u16,
    code: i64,
    msg: String,
    envelope: &Map<String, Value>,
    log_id: &LogId,
) -> Option<Attempt> {
    if TOKEN_CODES.contains(&code) {
        return Some(Attempt::TokenRejected {
            code,
            msg,
            log_id: log_id.clone(),
        });
    }
    if TRANSIENT_CODES.contains(&code) {
        return Some(Attempt::Transient(
            format!("HTTP {status}, code {code}: {msg}"),
            log_id.clone(),
        ));
    }
    if code == CODE_QUOTA_EXHAUSTED {
        return Some(Attempt::QuotaExhausted(log_id.clone()));
    }
    if FORBIDDEN_CODES.contains(&code) {
        let scopes = permission_violations(envelope);
        return Some(Attempt::Forbidden {
            code,
            msg,
            scopes,
            log_id: log_id.clone(),
        });
    }
    if status >= 500 {
        return Some(Attempt::Transient(
            format!("HTTP {status}, code {code}: {msg}"),
            log_id.clone(),
        ));
    }
    if code != 0 {
        return Some(Attempt::Failed {
            http_status: status,
            code,
            msg,
            log_id: log_id.clone(),
        });
    }
    None
}

/// The platform's text without control characters (newlines, escape sequences), so a
/// `msg` cannot forge log lines or drive a terminal when printed.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The scopes a 99991672 answer names in `error.permission_violations[].subject`.
fn permission_violations(envelope: &Map<String, Value>) -> Vec<String> {
    envelope
        .get("error")
        .and_then(|e| e.get("permission_violations"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("subject").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

impl ApiReply {
    /// Splits a `code == 0` envelope into `data` and the fields beside it.
    pub fn from_envelope(mut envelope: Map<String, Value>, log_id: LogId) -> ApiReply {
        let data = envelope.remove("data").unwrap_or(Value::Null);
        envelope.remove("code");
        envelope.remove("msg");
        ApiReply {
            data,
            beside_data: envelope,
            log_id,
            replaced: 0,
        }
    }

    /// `has_more` and `page_token`, read inside `data` as the SDKs do, else beside it as
    /// the stage-task document's example shows.
    pub fn paging(&self) -> (bool, &str) {
        let field = |name: &str| {
            self.data
                .get(name)
                .filter(|v| !v.is_null())
                .or_else(|| self.beside_data.get(name))
        };
        let has_more = field("has_more").and_then(Value::as_bool).unwrap_or(false);
        let token = field("page_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        (has_more, token)
    }
}

/// The longest pause a frequency limit imposes. Feishu's frequency windows are a second
/// or a minute, so a longer `x-ogw-ratelimit-reset` is a garbled header, not a reason to
/// stall a stream.
pub const MAX_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// How long the server asks us to wait: `x-ogw-ratelimit-reset` seconds (relative to now),
/// capped at [`MAX_RATE_LIMIT_PAUSE`], and whether it said so in whole seconds; one second,
/// taken as exact, when the header is missing or garbled.
pub(crate) fn reset_wait(headers: &HeaderMap) -> Reset {
    let said = headers
        .get("x-ogw-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    let seconds = said.unwrap_or(1.0);
    let wait = Duration::from_secs_f64(seconds.clamp(0.05, MAX_RATE_LIMIT_PAUSE.as_secs_f64()));
    match said {
        Some(s) if s.fract() == 0.0 && s >= 1.0 => Reset::whole_seconds(wait),
        _ => Reset::exact(wait),
    }
}

/// `x-ogw-ratelimit-limit`: the server's own limit, when it says.
pub(crate) fn server_limit(headers: &HeaderMap) -> Option<u32> {
    headers
        .get("x-ogw-ratelimit-limit")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `X-Tt-Logid` header, which Feishu support asks for.
pub(crate) fn log_id(headers: &HeaderMap) -> LogId {
    LogId(
        headers
            .get("x-tt-logid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Attempt {
        classify(status, &HeaderMap::new(), body.as_bytes(), LogId(None))
    }

    #[test]
    fn answers_are_classified_as_the_sdks_do() {
        let ok = r#"{"code":0,"msg":"","data":{"items":[]}}"#;
        let limited = r#"{"code":99991400,"msg":"request trigger frequency limit"}"#;
        assert!(matches!(answer(200, ok), Attempt::Done(_)));
        assert!(matches!(answer(429, limited), Attempt::RateLimited(..)));
        assert!(
            matches!(answer(400, limited), Attempt::RateLimited(..)),
            "older endpoints use 400"
        );
        assert!(matches!(
            answer(429, "<html>slow down</html>"),
            Attempt::RateLimited(..)
        ));
        assert!(matches!(
            answer(400, r#"{"code":99991663,"msg":"token"}"#),
            Attempt::TokenRejected { .. }
        ));
        assert!(matches!(
            answer(502, "<html>Bad Gateway</html>"),
            Attempt::Transient(..)
        ));
        assert!(matches!(
            answer(500, r#"{"code":1580101,"msg":"internal error"}"#),
            Attempt::Transient(..)
        ));
        assert!(matches!(
            answer(200, r#"{"msg":"no code"}"#),
            Attempt::Transient(..)
        ));
        let Attempt::Failed {
            code, http_status, ..
        } = answer(400, r#"{"code":1470422,"msg":"bad"}"#)
        else {
            panic!("an API error");
        };
        assert_eq!((code, http_status), (1470422, 400));
        assert!(matches!(
            answer(400, r#"{"code":99991403,"msg":"quota exceeded"}"#),
            Attempt::QuotaExhausted(_)
        ));
    }

    #[test]
    fn control_characters_in_msg_are_never_printed() {
        let body = r#"{"code":1470422,"msg":"bad\nINFO forged line \u001b[31mred"}"#;

        let Attempt::Failed { msg, .. } = answer(400, body) else {
            panic!("an API error");
        };

        assert_eq!(msg, "bad INFO forged line  [31mred");
    }

    #[test]
    fn a_missing_scope_answer_names_its_scopes() {
        // The shape of the platform's troubleshooting page for 99991672.
        let body = r#"{"code":99991672,"msg":"Access denied. One of the following scopes is required: [contact:user.id:readonly]",
            "error":{"log_id":"202307211618216F3E9EB64DC7E1234","permission_violations":[{"type":"action_scope_required","subject":"contact:user.id:readonly"}]}}"#;
        let Attempt::Forbidden { code, scopes, .. } = answer(400, body) else {
            panic!("a missing scope is forbidden");
        };
        assert_eq!(code, 99991672);
        assert_eq!(scopes, ["contact:user.id:readonly"]);
        let Attempt::Forbidden { scopes, .. } = answer(
            403,
            r#"{"code":1470403,"msg":"The identity token is incorrect."}"#,
        ) else {
            panic!("task v1's wrong-token answer is forbidden");
        };
        assert!(scopes.is_empty());
    }

    #[test]
    fn the_reset_header_sets_the_wait() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ogw-ratelimit-reset", "3".parse().unwrap());
        headers.insert("x-ogw-ratelimit-limit", "20".parse().unwrap());

        assert_eq!(
            reset_wait(&headers),
            Reset::whole_seconds(Duration::from_secs(3))
        );
        assert_eq!(server_limit(&headers), Some(20));
        assert_eq!(
            reset_wait(&HeaderMap::new()),
            Reset::exact(Duration::from_secs(1)),
            "one second when absent, not the server's word"
        );
        headers.insert("x-ogw-ratelimit-reset", "soon".parse().unwrap());
        assert_eq!(
            reset_wait(&headers),
            Reset::exact(Duration::from_secs(1)),
            "and when garbled"
        );
        headers.insert("x-ogw-ratelimit-reset", "0.4".parse().unwrap());
        assert_eq!(
            reset_wait(&headers),
            Reset::exact(Duration::from_millis(400)),
            "a fraction is exact"
        );
        headers.insert("x-ogw-ratelimit-reset", "86400".parse().unwrap());
        assert_eq!(reset_wait(&headers).wait, MAX_RATE_LIMIT_PAUSE, "capped");
    }

    proptest::proptest! {
        /// Any status and any bytes are classified, never a panic.
        #[test]
        fn any_body_is_classified_without_panicking(status in 100u16..600, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = classify(status, &HeaderMap::new(), &body, LogId(None));
        }
    }
}
