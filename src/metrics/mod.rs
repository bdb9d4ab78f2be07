//! Prometheus metrics of streams and endpoints, kept in one registry that `/metrics`
//! encodes and the terminal progress display reads.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::feishu::Endpoint;

mod labels;

use labels::stream;
pub use labels::{
    EndpointLabel, EventLabel, OutcomeLabel, RequestLabel, RequestOutcome, StreamLabel,
};

/// Every metric feishu-sync exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    runs: Family<OutcomeLabel, Counter>,
    rows_written: Family<StreamLabel, Counter>,
    pages: Family<StreamLabel, Counter>,
    last_success: Family<StreamLabel, Gauge<f64, AtomicU64>>,
    run_duration: Family<StreamLabel, Histogram>,
    skipped_overlaps: Family<StreamLabel, Counter>,
    skipped_locked: Family<StreamLabel, Counter>,
    requests: Family<RequestLabel, Counter>,
    rate_limit_waits: Family<EndpointLabel, Counter>,
    announced_limit: Family<EndpointLabel, Gauge>,
    rate_budget: Family<EndpointLabel, Gauge>,
    rate_ceiling: Family<EndpointLabel, Gauge>,
    quota_exhausted: Gauge,
    quota_renews_at: Gauge,
    skipped_quota: Family<StreamLabel, Counter>,
    events: Family<EventLabel, Counter>,
    event_lag: Histogram,
    ws_connected: Gauge,
    ws_reconnects: Counter,
    replaced_code_points: Family<EndpointLabel, Counter>,
    config_valid: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric registered under the `feishu_sync_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("feishu_sync");
        let run_duration = Family::<StreamLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.5, 2.0, 14))
        });
        let metrics = Metrics {
            registry: Registry::default(),
            runs: Family::default(),
            rows_written: Family::default(),
            pages: Family::default(),
            last_success: Family::default(),
            run_duration,
            skipped_overlaps: Family::default(),
            skipped_locked: Family::default(),
            requests: Family::default(),
            rate_limit_waits: Family::default(),
            announced_limit: Family::default(),
            rate_budget: Family::default(),
            rate_ceiling: Family::default(),
            quota_exhausted: Gauge::default(),
            quota_renews_at: Gauge::default(),
            skipped_quota: Family::default(),
            events: Family::default(),
            event_lag: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            ws_connected: Gauge::default(),
            ws_reconnects: Counter::default(),
            replaced_code_points: Family::default(),
            config_valid: Gauge::default(),
        };
        registry.register("runs", "Stream runs by outcome", metrics.runs.clone());
        registry.register(
            "rows_written",
            "Rows inserted or changed",
            metrics.rows_written.clone(),
        );
        registry.register("pages", "Pages read and committed", metrics.pages.clone());
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of the stream's last successful run",
            metrics.last_success.clone(),
        );
        registry.register(
            "run_duration_seconds",
            "Duration of stream runs",
            metrics.run_duration.clone(),
        );
        registry.register(
            "skipped_overlaps",
            "Scheduled firings skipped because the stream's previous run was still going",
            metrics.skipped_overlaps.clone(),
        );
        registry.register(
            "skipped_locked",
            "Scheduled firings skipped because another replica was running the stream",
            metrics.skipped_locked.clone(),
        );
        registry.register(
            "requests",
            "HTTP requests to Feishu by outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "rate_limit_waits",
            "Waits imposed by Feishu's frequency limit (HTTP 429 or code 99991400)",
            metrics.rate_limit_waits.clone(),
        );
        registry.register(
            "announced_rate_limit",
            "Last x-ogw-ratelimit-limit Feishu sent; its window is unknown, so it is only shown, never obeyed",
            metrics.announced_limit.clone(),
        );
        registry.register(
            "rate_budget_per_minute",
            "Requests per minute the client allows the endpoint now, after the frequency limits met (set once one changed it)",
            metrics.rate_budget.clone(),
        );
        registry.register(
            "rate_ceiling_per_minute",
            "Requests per minute at which the endpoint's last frequency limits came, while below feishu.rate_limits; 0 when none is known",
            metrics.rate_ceiling.clone(),
        );
        registry.register(
            "quota_exhausted",
            "1 while Feishu's monthly API quota is used up (code 99991403) and no request is sent",
            metrics.quota_exhausted.clone(),
        );
        registry.register(
            "quota_renews_at_timestamp_seconds",
            "Unix time the monthly API quota renews (next month, UTC+8) while it is used up, else 0",
            metrics.quota_renews_at.clone(),
        );
        registry.register(
            "skipped_quota",
            "Scheduled firings skipped because the monthly API quota is used up",
            metrics.skipped_quota.clone(),
        );
        registry.register(
            "events",
            "Events received over the long connection, by type and outcome (stored, duplicate, store_failed, applied, ignored, failed, deferred, unreadable)",
            metrics.events.clone(),
        );
        registry.register(
            "event_lag_seconds",
            "From an event's created_at to the commit of its effect",
            metrics.event_lag.clone(),
        );
        registry.register(
            "ws_connected",
            "1 while the long connection to Feishu is open",
            metrics.ws_connected.clone(),
        );
        registry.register(
            "ws_reconnects",
            "Times the long connection was opened again after a loss",
            metrics.ws_reconnects.clone(),
        );
        registry.register(
            "replaced_code_points",
            "NUL characters, lone surrogates and invalid UTF-8 in answers, stored as U+FFFD",
            metrics.replaced_code_points.clone(),
        );
        registry.register(
            "config_valid",
            "1 when the configuration loaded and validated; 0 while run waits with an invalid one",
            metrics.config_valid.clone(),
        );
        metrics.config_valid.set(1);
        metrics.register_every_stream();
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts one event of `event_type` with `outcome`.
    pub fn event(&self, event_type: &str, outcome: &str) {
        let label = EventLabel {
            r#type: event_type.to_string(),
            outcome: outcome.to_string(),
        };
        self.events.get_or_create(&label).inc();
    }

    /// Records the time from an event's creation to the commit of its effect.
    pub fn event_lag(&self, seconds: f64) {
        self.event_lag.observe(seconds.max(0.0));
    }

    /// Whether the long connection is open.
    pub fn ws_connected(&self, connected: bool) {
        self.ws_connected.set(i64::from(connected));
    }

    /// Counts a reconnect of the long connection.
    pub fn ws_reconnected(&self) {
        self.ws_reconnects.inc();
    }

    /// Creates every stream's and endpoint's series at zero, so a dashboard or an alert
    /// (`increase(...)`, `absent(...)`) sees them from the start, not after the first event.
    fn register_every_stream(&self) {
        for endpoint in Endpoint::ALL {
            let label = stream(endpoint);
            for outcome in ["succeeded", "partial", "failed", "interrupted"] {
                let outcome = outcome.to_string();
                let stream = endpoint.name().to_string();
                let _ = self.runs.get_or_create(&OutcomeLabel { stream, outcome });
            }
            for family in [
                &self.rows_written,
                &self.pages,
                &self.skipped_overlaps,
                &self.skipped_locked,
                &self.skipped_quota,
            ] {
                let _ = family.get_or_create(&label);
            }
            let endpoint_label = EndpointLabel {
                endpoint: endpoint.name().to_string(),
            };
            let _ = self.rate_limit_waits.get_or_create(&endpoint_label);
            let _ = self.replaced_code_points.get_or_create(&endpoint_label);
        }
    }

    /// Whether the configuration is valid (`feishu_sync_config_valid`).
    pub fn config_valid(&self, valid: bool) {
        self.config_valid.set(i64::from(valid));
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String");
        text
    }

    /// A run ended with `outcome` (`succeeded`, `failed`, `interrupted`...).
    pub fn run_finished(&self, endpoint: Endpoint, outcome: &str, duration: Duration) {
        let label = OutcomeLabel {
            stream: endpoint.name().to_string(),
            outcome: outcome.to_string(),
        };
        self.runs.get_or_create(&label).inc();
        self.run_duration
            .get_or_create(&stream(endpoint))
            .observe(duration.as_secs_f64());
        if outcome == "succeeded" {
            let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
            self.last_success.get_or_create(&stream(endpoint)).set(now);
        }
    }

    /// A page was committed.
    pub fn page_committed(&self, endpoint: Endpoint, rows_written: u64) {
        self.pages.get_or_create(&stream(endpoint)).inc();
        self.rows_written
            .get_or_create(&stream(endpoint))
            .inc_by(rows_written);
    }

    /// A firing was skipped because the previous run still runs here.
    pub fn skipped_overlap(&self, endpoint: Endpoint) {
        self.skipped_overlaps(endpoint, 1);
    }

    /// `firings` of a stream were skipped because its run outlasted them.
    pub fn skipped_overlaps(&self, endpoint: Endpoint, firings: u64) {
        self.skipped_overlaps
            .get_or_create(&stream(endpoint))
            .inc_by(firings);
    }

    /// A firing was skipped because another replica holds the stream's lock.
    pub fn skipped_locked(&self, endpoint: Endpoint) {
        self.skipped_locked.get_or_create(&stream(endpoint)).inc();
    }

    /// Feishu announced `limit` in `x-ogw-ratelimit-limit` for `endpoint`.
    pub fn announced_limit(&self, endpoint: Endpoint, limit: u32) {
        let label = EndpointLabel {
            endpoint: endpoint.name().to_string(),
        };
        self.announced_limit
            .get_or_create(&label)
            .set(i64::from(limit));
    }

    /// `endpoint`'s budget is now `budget` requests per minute, under the learned
    /// `ceiling` if one is known.
    pub fn rate_budget(&self, endpoint: Endpoint, budget: u32, ceiling: Option<u32>) {
        let label = EndpointLabel {
            endpoint: endpoint.name().to_string(),
        };
        self.rate_budget
            .get_or_create(&label)
            .set(i64::from(budget));
        self.rate_ceiling
            .get_or_create(&label)
            .set(ceiling.map_or(0, i64::from));
    }

    /// The monthly quota is used up until `until`, or (`None`) available.
    pub fn quota_stopped(&self, until: Option<chrono::DateTime<chrono::Utc>>) {
        self.quota_exhausted.set(i64::from(until.is_some()));
        self.quota_renews_at.set(until.map_or(0, |t| t.timestamp()));
    }

    /// An answer of `endpoint` had `count` code points replaced by U+FFFD.
    pub fn replaced_code_points(&self, endpoint: Endpoint, count: u64) {
        let label = EndpointLabel {
            endpoint: endpoint.name().to_string(),
        };
        self.replaced_code_points
            .get_or_create(&label)
            .inc_by(count);
    }

    /// A firing was skipped because the monthly quota is used up.
    pub fn skipped_quota(&self, endpoint: Endpoint) {
        self.skipped_quota.get_or_create(&stream(endpoint)).inc();
    }

    /// One HTTP exchange finished.
    pub fn request(&self, endpoint: Endpoint, outcome: RequestOutcome) {
        let label = RequestLabel {
            endpoint: endpoint.name().to_string(),
            outcome: outcome.as_str().to_string(),
        };
        self.requests.get_or_create(&label).inc();
        if outcome == RequestOutcome::RateLimited {
            self.rate_limit_waits
                .get_or_create(&EndpointLabel {
                    endpoint: endpoint.name().to_string(),
                })
                .inc();
        }
    }

    /// Pages, rows and frequency-limit waits of one stream so far, for progress displays.
    pub fn progress(&self, endpoint: Endpoint) -> (u64, u64, u64) {
        let waits = self
            .rate_limit_waits
            .get_or_create(&EndpointLabel {
                endpoint: endpoint.name().to_string(),
            })
            .get();
        (
            self.pages.get_or_create(&stream(endpoint)).get(),
            self.rows_written.get_or_create(&stream(endpoint)).get(),
            waits,
        )
    }
}

#[cfg(test)]
mod tests;
