//! Validation: every problem of a loaded configuration, reported together, so an
//! operator fixes them in one go.

use secrecy::ExposeSecret;

use super::types::*;
use crate::feishu::Endpoint;
use crate::feishu::user_id_type::UnknownUserIdType;
use feishu_endpoints::REVIEW_STAGE_TYPES;

/// Start-up problems, every one of them, so an operator fixes them in one go.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    pub(super) fn one(problem: String) -> Self {
        ConfigError {
            problems: vec![problem],
        }
    }
}

/// The longest lookback accepted: ten years of hours.
pub const MAX_LOOKBACK_HOURS: u64 = 10 * 366 * 24;

/// Adds a problem unless `value` of `key` lies in `range`: values far outside overflow
/// durations and time arithmetic, which would panic in every run.
fn in_range(
    problems: &mut Vec<String>,
    key: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) {
    if !range.contains(&value) {
        problems.push(format!(
            "{key} = {value} is out of range: it must lie between {} and {}",
            range.start(),
            range.end()
        ));
    }
}

impl Config {
    /// Validates the whole configuration and returns every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems(None);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Every problem, section by section. `unknown_user_id_type` is the word loading found
    /// in `feishu.user_id_type` and replaced by the default; it is listed in its place among
    /// the `[feishu]` section's problems.
    pub(super) fn problems(&self, unknown_user_id_type: Option<&UnknownUserIdType>) -> Vec<String> {
        let mut problems = self.feishu_problems(unknown_user_id_type);
        problems.extend(self.database_problems());
        problems.extend(self.stream_problems());
        problems.extend(self.server_problems());
        problems
    }

    fn feishu_problems(&self, unknown_user_id_type: Option<&UnknownUserIdType>) -> Vec<String> {
        let mut problems = Vec::new();
        let feishu = &self.feishu;
        if url::Url::parse(&feishu.base_url).is_err() {
            problems.push(format!(
                "feishu.base_url {:?} is not a URL (e.g. https://open.feishu.cn)",
                feishu.base_url
            ));
        }
        if feishu.app_id.trim().is_empty() {
            problems.push(
                "feishu.app_id is missing: set it in the file or FEISHU_SYNC__FEISHU__APP_ID"
                    .into(),
            );
        }
        if feishu.app_secret.expose_secret().trim().is_empty() {
            problems
                .push("feishu.app_secret is missing: set FEISHU_SYNC__FEISHU__APP_SECRET".into());
        }
        if let Some(unknown) = unknown_user_id_type {
            problems.push(unknown.to_string());
        }
        if let Ok(url) = url::Url::parse(&feishu.base_url)
            && url.scheme() != "https"
            && !(url.scheme() == "http" && feishu.allow_insecure_http)
        {
            problems.push(format!(
                "feishu.base_url must be https:// (the app secret is posted to it); {:?} is allowed \
                 only with feishu.allow_insecure_http = true, for a local simulator",
                feishu.base_url
            ));
        }
        in_range(
            &mut problems,
            "feishu.rate_limit_window_secs",
            feishu.rate_limit_window_secs,
            1..=3600,
        );
        in_range(
            &mut problems,
            "feishu.request_timeout_secs",
            feishu.request_timeout_secs,
            1..=3600,
        );
        in_range(
            &mut problems,
            "feishu.max_pages_per_partition",
            feishu.max_pages_per_partition.into(),
            1..=10_000_000,
        );
        for endpoint in Endpoint::ALL {
            if feishu.rate_limits.for_endpoint(endpoint) == 0 {
                problems.push(format!(
                    "feishu.rate_limits.{endpoint} must be at least 1 request per minute"
                ));
            }
        }
        problems
    }

    fn database_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.database.url();
        if url.is_empty() {
            problems.push(
                "database.url is missing: set DATABASE_URL or FEISHU_SYNC__DATABASE__URL".into(),
            );
        } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push("database.url must start with postgres:// or postgresql://".into());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".into());
        }
        problems
    }

    fn server_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen {:?} is not an address like 127.0.0.1:9187",
                self.server.listen
            ));
        }
        if self.history.retain_days == Some(0) {
            problems.push(
                "history.retain_days must be at least 1 (leave it out to keep the whole history)"
                    .into(),
            );
        }
        in_range(
            &mut problems,
            "server.shutdown_timeout_secs",
            self.server.shutdown_timeout_secs,
            1..=86_400,
        );
        problems
    }

    fn stream_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for endpoint in Endpoint::ALL {
            let schedule = self.streams.schedule(endpoint);
            if let Err(e) = parse_schedule(&schedule) {
                problems.push(format!(
                    "streams.{endpoint}.schedule {schedule:?} is not a 6-field cron expression \
                     (sec min hour day month weekday, e.g. \"0 */10 * * * *\"): {e}"
                ));
            }
        }
        for (_, _, key, schedule) in self.streams.sweeps() {
            if schedule != "off"
                && let Err(e) = parse_schedule(schedule)
            {
                problems.push(format!(
                    "{key} {schedule:?} is neither `off` nor a 6-field cron expression: {e}"
                ));
            }
        }
        // Ten years: beyond, chrono's time arithmetic overflows (a panic in every run).
        for (key, hours) in [
            (
                "streams.stage_tasks.lookback_hours",
                self.streams.stage_tasks.lookback_hours,
            ),
            (
                "streams.tasks.lookback_hours",
                self.streams.tasks.lookback_hours,
            ),
        ] {
            in_range(&mut problems, key, hours.into(), 0..=MAX_LOOKBACK_HOURS);
        }
        let approval = &self.streams.approval_tasks;
        if approval.enabled && approval.user_ids.is_empty() && !self.streams.users.enabled {
            problems.push(
                "streams.approval_tasks.user_ids is empty while streams.users.enabled = false: \
                 approvals are read for every user of the directory, which the users stream \
                 copies; enable it, list the users in streams.approval_tasks.user_ids, or set \
                 streams.approval_tasks.enabled = false"
                    .into(),
            );
        }
        for topic in &approval.topics {
            if !APPROVAL_TOPICS.contains(&topic.as_str()) {
                problems.push(format!(
                    "streams.approval_tasks.topics: {topic:?} is not one of 1, 2, 3, 17, 18"
                ));
            }
        }
        if approval.enabled && approval.topics.is_empty() {
            problems.push("streams.approval_tasks.topics is empty".into());
        }
        problems.extend(self.review_data_problems());
        problems
    }

    fn review_data_problems(&self) -> Vec<String> {
        let review = &self.streams.review_data;
        let mut problems = Vec::new();
        for stage_type in &review.stage_types {
            if !REVIEW_STAGE_TYPES.contains(&stage_type.as_str()) {
                problems.push(format!(
                    "streams.review_data.stage_types: {stage_type:?} is not one of {}",
                    REVIEW_STAGE_TYPES.join(", ")
                ));
            }
        }
        if review.enabled && review.stage_types.is_empty() {
            problems.push(
                "streams.review_data.stage_types is empty: without stage types the API returns \
                 no stage data"
                    .into(),
            );
        }
        if (review.enabled || self.streams.metric_details.enabled)
            && !self.streams.reviewees.enabled
        {
            problems.push(
                "streams.reviewees.enabled = false while review_data or metric_details is \
                 enabled: both read the reviewees that stream copies"
                    .into(),
            );
        }
        problems
    }
}
