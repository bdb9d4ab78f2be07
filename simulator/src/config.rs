//! The simulator's settings: credentials, token lifetime, rate limits per endpoint, the
//! wire quirks it imitates, and the faults a test can inject.

use std::collections::HashMap;
use std::time::Duration;

use feishu_endpoints::Endpoint;

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// App id the token endpoint accepts; default `cli_sim_app`.
    pub app_id: String,
    /// App secret the token endpoint accepts; default `sim-secret`.
    pub app_secret: String,
    /// Lifetime of issued tokens, returned as `expire` (seconds); default 7200 s.
    pub token_ttl: Duration,
    /// The token endpoint hands back the current token (with its remaining lifetime as
    /// `expire`) while at least this much of it remains; default 30 min, as the platform.
    pub token_reuse_above: Duration,
    /// Data requests answered before every call answers 99991403 (the tenant's monthly
    /// quota is used up); default `None`, no quota.
    pub monthly_quota: Option<u64>,
    /// Endpoints that take no tenant token: they answer 99991663 to any token.
    pub tenant_token_refused: Vec<Endpoint>,
    /// Endpoints the app lacks a scope for: they answer 99991672 naming the scopes.
    pub missing_scope: Vec<Endpoint>,
    /// Whether the app has `contact:user.employee_id:readonly`: without it, stage tasks
    /// asked for with `user_id_type=user_id` arrive without `user_id`. Default true.
    pub grants_user_id_scope: bool,
    /// User fields the app has no field scope for: the contact endpoints leave them out
    /// of every user record (e.g. `status` without `contact:user.employee:readonly`;
    /// `department_ids`, `leader_user_id` and `orders` without
    /// `contact:user.department:readonly`). Default none.
    pub withheld_user_fields: Vec<&'static str>,
    /// A department with more departments below it than this refuses
    /// `children?fetch_child=true` with 43010 ("big dept forbid recursion", HTTP 400);
    /// listing one level (`fetch_child=false`) still works. Default `None`: no limit.
    pub recursion_limit: Option<usize>,
    /// The most approval tasks of one user and topic the API counts and lists; beyond
    /// it `count.has_more` is true. Default 999, as the document says.
    pub approval_list_cap: usize,
    /// Sliding-window limit per endpoint; endpoints missing from the map are unlimited.
    /// Default: each endpoint's documented (or conservative) requests per 60 s.
    pub rate_limits: HashMap<Endpoint, RateLimit>,
    /// When true, approval and task v1 answer frequency limits with HTTP 400 (as older
    /// endpoints do) instead of 429; default false.
    pub legacy_rate_limit_status: bool,
    /// When true, `x-ogw-ratelimit-limit` counts per second (the window's limit divided by
    /// its length, at least 1) while the limit is enforced over the whole window: the
    /// platform's header does not say its window, and tiers mix "per minute" with "per
    /// second". Default false: the header counts in the enforced window.
    pub announce_limit_per_second: bool,
    /// Default true: stage tasks put `has_more`/`page_token` at the top level beside
    /// `data`, as the document's example does; false: inside `data`.
    pub stage_tasks_paging_beside_data: bool,
}

/// At most `requests` accepted requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Accepted requests allowed per window.
    pub requests: u32,
    /// Length of the sliding window.
    pub window: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        let rate_limits = Endpoint::ALL
            .into_iter()
            .map(|e| {
                let limit = RateLimit {
                    requests: e.default_rate_per_minute(),
                    window: Duration::from_secs(60),
                };
                (e, limit)
            })
            .collect();
        SimConfig {
            app_id: "cli_sim_app".to_string(),
            app_secret: "sim-secret".to_string(),
            token_ttl: Duration::from_secs(7200),
            token_reuse_above: Duration::from_secs(30 * 60),
            monthly_quota: None,
            tenant_token_refused: Vec::new(),
            missing_scope: Vec::new(),
            approval_list_cap: 999,
            grants_user_id_scope: true,
            withheld_user_fields: Vec::new(),
            recursion_limit: None,
            rate_limits,
            legacy_rate_limit_status: false,
            announce_limit_per_second: false,
            stage_tasks_paging_beside_data: true,
        }
    }
}

impl SimConfig {
    /// Same limits, every window scaled to `window` (tests use e.g. 1 s windows).
    pub fn with_window(mut self, window: Duration) -> Self {
        for limit in self.rate_limits.values_mut() {
            limit.window = window;
        }
        self
    }
}

/// A fault to inject into upcoming requests of one endpoint (or the token endpoint: `None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// HTTP 502 with a `text/html` gateway page.
    ServerErrorHtml,
    /// HTTP 500, `{"code":1580101,"msg":"internal error"}`.
    ServerErrorJson,
    /// The frequency-limit answer (429, or 400 when legacy for that endpoint), reset 1 s.
    RateLimited,
    /// HTTP 400, code 99991663, even if the token is fine.
    TokenInvalid,
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Answer as if the request's page token were unparseable (the endpoint's own code).
    BadPageToken,
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// Any answer the platform gives: HTTP `status` with `{"code": code, "msg": msg}`
    /// (99991665, contact's 40003, 1580901 without a performance licence, 43010...).
    Answer {
        status: u16,
        code: i64,
        msg: &'static str,
    },
    /// A page that never ends: the request's answer without its paging (its first page),
    /// `has_more: true` and a fresh page token every time, which this fault (while
    /// queued) accepts.
    EndlessPage,
    /// An API error: this HTTP status, `code` and `msg`.
    Code(u16, i64, String),
    /// HTTP 200, a valid JSON answer of about this many bytes (one long string).
    Oversize(usize),
    /// Token endpoint only: the usual token answer, with `expire` set to this value
    /// (`Null` leaves it out).
    TokenExpire(serde_json::Value),
}
