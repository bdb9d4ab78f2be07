//! `feishu-sync status`: each stream's last run, watermarks and next scheduled time, as a
//! table or JSON; with `--check`, the problems a monitor should hear about.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use std::time::Duration;

use crate::cli::StatusArgs;
use crate::config::{Config, parse_schedule};
use crate::db;
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

/// Prints the status of every stream; with `check`, also each problem `--check` finds,
/// and exits 1 if there is one.
pub async fn execute(config: &Config, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let pool = db::connect(&config.database).await?;
    if args.connections {
        return print_connections_only(&pool, args.json).await;
    }
    let statuses = collect(&pool, config).await?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        print_table(&statuses);
        print_connections(&pool).await?;
    }
    if !args.check {
        return Ok(ExitCode::SUCCESS);
    }
    let problems = check(&statuses, args.max_age.map(|m| m.0), Utc::now());
    for problem in &problems {
        eprintln!("check failed: {problem}");
    }
    Ok(match problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

/// `status --connections`: each service process's long connection as `/readyz` shows
/// it, as lines or (with `json`) a JSON array; the streams' array keeps its own shape.
async fn print_connections_only(pool: &PgPool, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let connections = crate::events::status::saved(pool).await?;
        crate::outln!("{}", serde_json::to_string_pretty(&connections)?);
    } else {
        print_connections(pool).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The long connection of each service process that wrote its state lately.
async fn print_connections(pool: &PgPool) -> anyhow::Result<()> {
    for c in crate::events::status::saved(pool).await? {
        let since = c.connected_since.map_or("down".to_string(), |t| {
            format!("connected since {}", time(Some(t)))
        });
        crate::outln!(
            "\nlong connection of {}: {since}, last frame {}, {} reconnects, last error: {} (as of {})",
            c.process,
            time(c.last_frame_at),
            c.reconnects,
            c.last_error.as_deref().unwrap_or("none"),
            time(Some(c.updated_at))
        );
    }
    Ok(())
}

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

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn print_table(statuses: &[StreamStatus]) {
    let header = [
        "stream",
        "enabled",
        "last run (UTC)",
        "outcome",
        "rows",
        "requests",
        "limited",
        "seconds",
        "watermark",
        "next run (UTC)",
    ];
    // Text columns align left, counts right.
    let right = [
        false, false, false, false, true, true, true, true, false, false,
    ];
    let rows: Vec<Vec<String>> = statuses.iter().map(table_row).collect();
    crate::out!("{}", render_table(&header, &right, &rows));
    for s in statuses {
        if let Some(error) = s.last_run.as_ref().and_then(|r| r.error.as_deref()) {
            crate::outln!("\n{}: {error}", s.stream);
        }
        if let Some(warning) = &s.warning {
            crate::outln!("\n{} (warning): {warning}", s.stream);
        }
        if let Some(advice) = &s.rate_advice {
            crate::outln!("\n{} (rate limit): {advice}", s.stream);
        }
    }
}

/// One stream's cells, in the header's order.
fn table_row(s: &StreamStatus) -> Vec<String> {
    let run = s.last_run.as_ref();
    let watermark = match s.watermark_partitions {
        0 => "-".to_string(),
        1 => time(s.newest_watermark),
        n => format!("{} (+{} more)", time(s.oldest_watermark), n - 1),
    };
    vec![
        s.stream.to_string(),
        if s.enabled { "yes" } else { "no" }.to_string(),
        time(run.map(|r| r.started_at)),
        run.map_or("never", |r| r.status.as_str()).to_string(),
        run.map_or("-".into(), |r| r.rows_written.to_string()),
        run.map_or("-".into(), |r| r.api_requests.to_string()),
        run.map_or("-".into(), |r| r.rate_limited_requests.to_string()),
        run.and_then(|r| r.duration_seconds)
            .map_or("-".into(), |d| format!("{d:.1}")),
        watermark,
        time(s.next_run),
    ]
}

/// The rows under `header`, each column as wide as its widest cell, one space apart.
pub fn render_table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(right)
            .map(|((cell, &width), &right)| match right {
                true => format!("{cell:>width$}"),
                false => format!("{cell:<width$}"),
            })
            .collect();
        format!("{}\n", padded.join(" ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_watermark_keeps_the_columns_aligned() {
        let rows = vec![
            vec![
                "tasks".into(),
                "3".into(),
                "2026-12-01 20:00:00".into(),
                "x".into(),
            ],
            vec![
                "stage_tasks".into(),
                "12345".into(),
                "2026-11-30 08:00:00 (+5 more)".into(),
                "y".into(),
            ],
        ];
        let text = render_table(
            &["stream", "rows", "watermark", "next"],
            &[false, true, false, false],
            &rows,
        );
        let lines: Vec<&str> = text.lines().collect();
        let column = |line: &str, cell: &str| line.find(cell).unwrap();
        assert_eq!(column(lines[0], "next"), column(lines[1], "x"), "{text}");
        assert_eq!(column(lines[1], "x"), column(lines[2], "y"), "{text}");
        assert!(lines[1].contains("    3 "), "counts align right: {text}");
    }

    #[test]
    fn check_names_failed_missing_and_stale_streams() {
        let now = Utc::now();
        let status = |stream, outcome: Option<&str>, success: Option<i64>| StreamStatus {
            stream,
            enabled: true,
            schedule: String::new(),
            next_run: None,
            last_run: outcome.map(|o| LastRun {
                started_at: now,
                finished_at: Some(now),
                status: o.into(),
                rows_written: 0,
                rows_retired: 0,
                api_requests: 0,
                rate_limited_requests: 0,
                duration_seconds: None,
                error: None,
                rate_ceiling_per_minute: None,
            }),
            watermark_partitions: 0,
            oldest_watermark: None,
            newest_watermark: None,
            warning: None,
            last_success: success.map(|hours| now - chrono::Duration::hours(hours)),
            interval_seconds: Some(600.0),
            rate_advice: None,
        };
        let statuses = [
            status("tasks", Some("succeeded"), Some(0)),
            status("users", Some("failed"), Some(0)),
            status("semesters", None, None),
            status("departments", Some("succeeded"), Some(2)),
        ];
        let problems = check(&statuses, None, now);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("users: the last run failed"));
        assert!(problems[1].starts_with("semesters: no successful run yet"));
        assert!(
            problems[2].contains("departments: data is 2h0m old"),
            "{problems:?}"
        );
        assert!(check(&statuses[..1], Some(Duration::from_secs(3600)), now).is_empty());
    }
}
