//! What the server and every handle share: the tenant, issued tokens, rate windows,
//! queued faults, and the record of requests a test inspects.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use feishu_endpoints::Endpoint;

use crate::config::SimConfig;
use crate::events::EventHub;
use crate::faults::Faults;
use crate::rate_windows::Windows;
use crate::tenant::Tenant;
use crate::tokens::Tokens;

/// One data-endpoint request as the simulator saw and answered it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Endpoint requested (directory resources count against `departments` or `users`).
    pub endpoint: Endpoint,
    /// What was asked for, e.g. `List(Users)`, `Children("od-…")`, `ContactScopes`,
    /// `User("ou_…")`.
    pub resource: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Parsed JSON body (`None` for GET, an empty or an unparseable body).
    pub body: Option<serde_json::Value>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// HTTP status answered.
    pub status: u16,
    /// `code` of the answer's body; -1 when the body was not JSON (HTML, truncated).
    pub code: i64,
    /// When the request arrived.
    pub at: Instant,
}

/// Counters of one endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EndpointStats {
    /// Every request routed to the endpoint.
    pub requests: u64,
    /// Answers with HTTP 200 and code 0.
    pub ok: u64,
    /// Frequency-limit answers (code 99991400), whether from the window or injected.
    pub rate_limited: u64,
    /// Injected faults consumed (every kind, `Delay` included).
    pub faults: u64,
}

/// State shared by the server and every handle.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) tenant: Mutex<Tenant>,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) windows: Mutex<Windows>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) stats: Mutex<HashMap<Endpoint, EndpointStats>>,
    pub(crate) token_requests: AtomicUsize,
    /// Data requests left before the monthly quota is used up; `None`: no quota.
    pub(crate) quota_left: Mutex<Option<u64>>,
    /// Fields merged into one record's wire JSON: `(endpoint, record key) -> object`.
    pub(crate) corruptions: Mutex<HashMap<(Endpoint, String), serde_json::Value>>,
    /// The long connection's events, queues and controls.
    pub(crate) events: Mutex<EventHub>,
    /// Text replacements applied to every JSON answer of data endpoints as sent, for
    /// what a `Value` cannot hold (a lone surrogate escape such as `\ud800`).
    pub(crate) rewrites: Mutex<Vec<(String, String)>>,
}

/// Locks `m`, ignoring poisoning (a panicking test must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
