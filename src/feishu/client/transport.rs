//! One HTTP exchange's edges: a JSON body with the `Content-Type` the documents require,
//! an answer's body read under a size limit, and reqwest errors described without URLs.

use serde_json::Value;

/// Why a body could not be read.
pub(super) enum BodyError {
    /// Larger than the limit (bytes): the request fails, never retried.
    TooLarge(usize),
    Read(reqwest::Error),
}

/// The body, chunk by chunk, refusing more than `limit` bytes (whatever `Content-Length`
/// says, or without one) so an oversize answer cannot grow memory until the process dies.
pub(super) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `body` as JSON with the `Content-Type` the documents require,
/// `application/json; charset=utf-8` (reqwest's `.json()` leaves the charset out).
pub(super) fn json_body(builder: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    builder
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body.to_string())
}

/// A reqwest error without its URL (URLs can carry query values) and with its cause chain.
pub(super) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
