//! `status --check`: the problems a monitor should hear about (a failed last run, no
//! success yet, data older than allowed).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::collect::StreamStatus;
use super::table::time;

/// How old an enabled stream's last success may be when `--max-age` does not say: three
/// firings of its schedule, and never less than an hour.
pub fn default_max_age(interval_seconds: Option<f64>) -> Duration {
    let three_firings = interval_seconds.map_or(0.0, |i| 3.0 * i);
    Duration::from_secs_f64(three_firings.max(3600.0))
}

/// What `status --check` complains about: an enabled stream whose last run failed (or
/// was partial, interrupted or abandoned), that never succeeded, or whose last success
/// is older than `max_age` (default: [`default_max_age`]).
pub fn check(
    statuses: &[StreamStatus],
    max_age: Option<Duration>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for s in statuses.iter().filter(|s| s.enabled) {
        let outcome = s.last_run.as_ref().map(|r| r.status.as_str());
        if let Some(outcome) = outcome.filter(|o| !matches!(*o, "succeeded" | "running")) {
            problems.push(format!("{}: the last run {outcome}", s.stream));
        }
        let limit = max_age.unwrap_or_else(|| default_max_age(s.interval_seconds));
        match s.last_success {
            None => problems.push(format!("{}: no successful run yet", s.stream)),
            Some(at) => {
                let age = (now - at).to_std().unwrap_or_default();
                if age > limit {
                    problems.push(format!(
                        "{}: data is {} old (last success {}), more than the {} allowed",
                        s.stream,
                        humane(age),
                        time(Some(at)),
                        humane(limit)
                    ));
                }
            }
        }
    }
    problems
}

/// `90061 s` as `25h1m`.
fn humane(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
