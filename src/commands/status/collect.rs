//! What `status` reads: each stream's last run, last success and watermarks from the
//! database, with when its schedule fires next and the warning and advice its last run
//! calls for.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::config::{Config, parse_schedule};
use crate::feishu::Endpoint;
use crate::sync_state::WatermarkSummary;

/// One stream's line of the status.
#[derive(Debug, Serialize)]
pub struct StreamStatus {
    pub stream: &'static str,
    pub enabled: bool,
    pub schedule: String,
    /// RFC 3339, to the second.
    #[serde(serialize_with = "to_the_second")]
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
    /// Partitions with a watermark, and the oldest and newest of them.
    pub watermark_partitions: i64,
    pub oldest_watermark: Option<DateTime<Utc>>,
    pub newest_watermark: Option<DateTime<Utc>>,
    /// Set when the last run outlasted the interval between firings, so the service
    /// skips firings (approvals of many users in five topics do that by default).
    pub warning: Option<String>,
    /// When the stream's last successful run finished, if it ever had one.
    #[serde(serialize_with = "to_the_second")]
    pub last_success: Option<DateTime<Utc>>,
    /// Seconds between two firings of its schedule, when enabled.
    #[serde(skip)]
    pub interval_seconds: Option<f64>,
    /// Set when the last run learned that Feishu's frequency limit comes below the
    /// configured rate: what to put in `feishu.rate_limits` instead.
    pub rate_advice: Option<String>,
}

/// A time as RFC 3339 to the second (`2026-12-01T20:00:00Z`), not to the nanosecond.
fn to_the_second<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(t) => serializer.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => serializer.serialize_none(),
    }
}

/// The most recent row of `sync_runs` for a stream.
#[derive(Debug, Serialize)]
pub struct LastRun {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub rows_written: i64,
    pub rows_retired: i64,
    /// HTTP requests the run sent to Feishu (retries and waits included).
    pub api_requests: i64,
    /// Of those, answered with the frequency limit.
    pub rate_limited_requests: i64,
    pub duration_seconds: Option<f64>,
    pub error: Option<String>,
    /// Requests per minute at which the endpoint's frequency limits came, as the client
    /// learned it by the end of the run; `None` while no limit showed one.
    pub rate_ceiling_per_minute: Option<i32>,
}

/// Reads the status of every stream.
pub async fn collect(pool: &PgPool, config: &Config) -> anyhow::Result<Vec<StreamStatus>> {
    let runs = sqlx::query!(
        r#"SELECT DISTINCT ON (stream) stream, started_at, finished_at, status, rows_written, rows_retired, error,
                  requests, rate_limited_requests, rate_ceiling_per_minute,
                  extract(epoch FROM finished_at - started_at)::float8 AS duration_seconds
             FROM feishu.sync_runs ORDER BY stream, started_at DESC, id DESC"#
    )
    .fetch_all(pool)
    .await
    .context("reading feishu.sync_runs (has `feishu-sync migrate` or `sync` run against this database?)")?;
    let successes = sqlx::query!(
        r#"SELECT stream, max(finished_at) AS "finished_at" FROM feishu.sync_runs
            WHERE status = 'succeeded' GROUP BY stream"#
    )
    .fetch_all(pool)
    .await
    .context("reading the last successful runs")?;
    let marks = crate::sync_state::watermark_summaries(pool).await?;
    let mut last_runs: HashMap<String, LastRun> = runs
        .into_iter()
        .map(|r| {
            let run = LastRun {
                started_at: r.started_at,
                finished_at: r.finished_at,
                status: r.status,
                rows_written: r.rows_written,
                rows_retired: r.rows_retired,
                api_requests: r.requests,
                rate_limited_requests: r.rate_limited_requests,
                duration_seconds: r.duration_seconds,
                error: r.error,
                rate_ceiling_per_minute: r.rate_ceiling_per_minute,
            };
            (r.stream, run)
        })
        .collect();
    let now = Utc::now();
    Ok(Endpoint::ALL
        .into_iter()
        .map(|endpoint| {
            let last_success = successes
                .iter()
                .find(|r| r.stream == endpoint.name())
                .and_then(|r| r.finished_at);
            let mark = marks.iter().find(|m| m.stream == endpoint.name());
            let last_run = last_runs.remove(endpoint.name());
            stream_status(endpoint, config, now, last_run, mark, last_success)
        })
        .collect())
}

/// One stream's line: when its schedule fires next and how often, its last run, and the
/// warning and advice that run calls for.
fn stream_status(
    endpoint: Endpoint,
    config: &Config,
    now: DateTime<Utc>,
    last_run: Option<LastRun>,
    mark: Option<&WatermarkSummary>,
    last_success: Option<DateTime<Utc>>,
) -> StreamStatus {
    let schedule = config.streams.schedule(endpoint);
    let enabled = config.streams.enabled(endpoint);
    let cron = parse_schedule(&schedule).ok().filter(|_| enabled);
    let next_run = cron
        .as_ref()
        .and_then(|cron| cron.find_next_occurrence(&now, false).ok());
    let interval = cron.as_ref().zip(next_run).and_then(|(cron, next)| {
        let after = cron.find_next_occurrence(&next, false).ok()?;
        Some((after - next).num_seconds() as f64)
    });
    let took = last_run.as_ref().and_then(|r| r.duration_seconds);
    let warning = outlasts(endpoint, took, interval);
    let ceiling = last_run.as_ref().and_then(|r| r.rate_ceiling_per_minute);
    let rate_advice = ceiling_below_config(endpoint, ceiling, &config.feishu);
    StreamStatus {
        stream: endpoint.name(),
        enabled,
        schedule,
        next_run,
        last_run,
        watermark_partitions: mark.map_or(0, |m| m.partitions),
        oldest_watermark: mark.and_then(|m| m.oldest),
        newest_watermark: mark.and_then(|m| m.newest),
        warning,
        last_success,
        interval_seconds: interval,
        rate_advice,
    }
}

/// The warning for a run that took longer than the interval between its firings.
fn outlasts(endpoint: Endpoint, took: Option<f64>, interval: Option<f64>) -> Option<String> {
    let (took, interval) = (took?, interval?);
    (took > interval).then(|| {
        format!(
            "the last run took {took:.0} s, longer than the {interval:.0} s between firings: the service skips \
             firings while it runs; schedule streams.{endpoint}.schedule less often, read less (for approvals: \
             fewer user_ids or topics), or raise feishu.rate_limits.{endpoint} if your Feishu tier allows"
        )
    })
}

/// The advice for a learned ceiling below the configured rate (both per minute).
fn ceiling_below_config(
    endpoint: Endpoint,
    ceiling: Option<i32>,
    feishu: &crate::config::FeishuConfig,
) -> Option<String> {
    let ceiling = f64::from(ceiling?);
    let window = feishu.rate_limit_window_secs.max(1) as f64;
    let configured = f64::from(feishu.rate_limits.for_endpoint(endpoint));
    let configured_per_minute = configured * 60.0 / window;
    (ceiling < configured_per_minute).then(|| {
        let suggested = (ceiling * window / 60.0).floor().max(1.0);
        format!(
            "Feishu's frequency limit came at {ceiling:.0} requests a minute, below the configured \
             {configured_per_minute:.0}: the client slows down to it by itself, but each run meets the limit \
             again to learn it; set feishu.rate_limits.{endpoint} = {suggested:.0}"
        )
    })
}
