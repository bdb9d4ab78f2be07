//! What the client tells its callers, per endpoint: requests sent, frequency limits met,
//! code points replaced, the budget and the ceiling it learned; the quota stop; and the
//! settings a stream reads back (page cap, user id type).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;

use super::FeishuClient;
use crate::feishu::quota::QuotaStop;
use crate::feishu::{Endpoint, UserIdType};
use crate::metrics::Metrics;

impl FeishuClient {
    /// The registry this client records into.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Requests per rate window currently allowed for `endpoint` (lowered after 429s).
    pub fn budget(&self, endpoint: Endpoint) -> u32 {
        self.budgets.current(endpoint)
    }

    /// Requests per minute at which `endpoint`'s last frequency limits came, while below
    /// its configured rate (see [`Budgets::ceiling`](crate::feishu::budget::Budgets::ceiling)).
    pub fn rate_ceiling_per_minute(&self, endpoint: Endpoint) -> Option<u32> {
        let ceiling = self.budgets.ceiling(endpoint)?;
        Some(per_minute(ceiling, self.budgets.window()))
    }

    /// Starts `endpoint`'s budget at a ceiling an earlier run learned (`per_minute`, as
    /// `sync_runs.rate_ceiling_per_minute` records it), where it is below the configured
    /// rate. Returns whether it was taken.
    pub fn start_from_ceiling(&self, endpoint: Endpoint, per_minute: u32) -> bool {
        let window = self.budgets.window();
        let per_window = (f64::from(per_minute) * window.as_secs_f64() / 60.0).round() as u32;
        let taken = self.budgets.remember(endpoint, per_window.max(1));
        if taken {
            self.publish_budget(endpoint);
        }
        taken
    }

    /// Exports `endpoint`'s budget and learned ceiling, per minute, after either changed.
    pub(super) fn publish_budget(&self, endpoint: Endpoint) {
        let window = self.budgets.window();
        let budget = per_minute(self.budgets.current(endpoint), window);
        let ceiling = self
            .budgets
            .ceiling(endpoint)
            .map(|c| per_minute(c, window));
        self.metrics.rate_budget(endpoint, budget, ceiling);
    }

    /// HTTP requests sent to `endpoint` so far (retries and waits included).
    pub fn requests_sent(&self, endpoint: Endpoint) -> u64 {
        self.requests[&endpoint].load(Ordering::Relaxed)
    }

    /// The most pages one paged read may take.
    pub fn max_pages(&self) -> u32 {
        self.settings.max_pages
    }

    /// The kind of user id every request asks for (`feishu.user_id_type`).
    pub fn user_id_type(&self) -> UserIdType {
        self.settings.user_id_type
    }

    /// Code points of `endpoint`'s answers replaced by U+FFFD so far (NUL, lone
    /// surrogates, invalid UTF-8: text PostgreSQL cannot store).
    pub fn replaced_count(&self, endpoint: Endpoint) -> u64 {
        self.replaced[&endpoint].load(Ordering::Relaxed)
    }

    /// Requests to `endpoint` answered with a frequency limit so far.
    pub fn rate_limited_count(&self, endpoint: Endpoint) -> u64 {
        self.rate_limited[&endpoint].load(Ordering::Relaxed)
    }

    /// The monthly-quota stop in force, if Feishu answered 99991403 this month: while it
    /// holds, every call fails at once without sending anything.
    pub fn quota_stop(&self) -> Option<QuotaStop> {
        self.quota
            .active(Utc::now(), || self.metrics.quota_stopped(None))
    }
}

/// `per_window` requests per `window` as requests per minute (the unit of
/// `feishu.rate_limits` against the real API), rounded.
fn per_minute(per_window: u32, window: Duration) -> u32 {
    (f64::from(per_window) * 60.0 / window.as_secs_f64().max(0.001)).round() as u32
}
