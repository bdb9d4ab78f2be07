//! `feishu-sync status` (each stream's last run, watermarks and next scheduled time, as a
//! table or JSON) and `feishu-sync healthcheck` (asks a running service's `/livez` or
//! `/readyz`).

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::cli::Probe;
use crate::config::{Config, parse_schedule};
use crate::db;
use crate::feishu::Endpoint;

/// One stream's line of the status.
#[derive(Debug, Serialize)]
pub struct StreamStatus {
    pub stream: &'static str,
    pub enabled: bool,
    pub schedule: String,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
    /// Partitions with a watermark, and the oldest and newest of them.
    pub watermark_partitions: i64,
    pub oldest_watermark: Option<DateTime<Utc>>,
    pub newest_watermark: Option<DateTime<Utc>>,
    /// Set when the last run outlasted the interval between firings, so the service
    /// skips firings (approvals of many users in five topics do that by default).
    pub warning: Option<String>,
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
}

/// Prints the status of every stream.
pub async fn run(config: &Config, json: bool) -> anyhow::Result<()> {
    let pool = db::connect(&config.database).await?;
    let statuses = collect(&pool, config).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        print_table(&statuses);
    }
    Ok(())
}

/// Reads the status of every stream.
pub async fn collect(pool: &PgPool, config: &Config) -> anyhow::Result<Vec<StreamStatus>> {
    let runs = sqlx::query!(
        r#"SELECT DISTINCT ON (stream) stream, started_at, finished_at, status, rows_written, rows_retired, error,
                  requests, rate_limited_requests,
                  extract(epoch FROM finished_at - started_at)::float8 AS duration_seconds
             FROM feishu.sync_runs ORDER BY stream, started_at DESC, id DESC"#
    )
    .fetch_all(pool)
    .await
    .context("reading feishu.sync_runs (has `feishu-sync migrate` or `sync` run against this database?)")?;
    let marks = crate::sync_state::watermark_summaries(pool).await?;
    let now = Utc::now();
    Ok(Endpoint::ALL
        .into_iter()
        .map(|endpoint| {
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
            let last_run = runs
                .iter()
                .find(|r| r.stream == endpoint.name())
                .map(|r| LastRun {
                    started_at: r.started_at,
                    finished_at: r.finished_at,
                    status: r.status.clone(),
                    rows_written: r.rows_written,
                    rows_retired: r.rows_retired,
                    api_requests: r.requests,
                    rate_limited_requests: r.rate_limited_requests,
                    duration_seconds: r.duration_seconds,
                    error: r.error.clone(),
                });
            let mark = marks.iter().find(|m| m.stream == endpoint.name());
            let took = last_run.as_ref().and_then(|r| r.duration_seconds);
            let warning = outlasts(endpoint, took, interval);
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
            }
        })
        .collect())
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

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn print_table(statuses: &[StreamStatus]) {
    println!(
        "{:<15} {:<8} {:<19} {:<11} {:>8} {:>8} {:>8} {:>8} {:<19} {:<19}",
        "stream",
        "enabled",
        "last run (UTC)",
        "outcome",
        "rows",
        "requests",
        "limited",
        "seconds",
        "watermark",
        "next run (UTC)"
    );
    for s in statuses {
        let run = s.last_run.as_ref();
        let watermark = match s.watermark_partitions {
            0 => "-".to_string(),
            1 => time(s.newest_watermark),
            n => format!("{} (+{} more)", time(s.oldest_watermark), n - 1),
        };
        println!(
            "{:<15} {:<8} {:<19} {:<11} {:>8} {:>8} {:>8} {:>8} {:<19} {:<19}",
            s.stream,
            if s.enabled { "yes" } else { "no" },
            time(run.map(|r| r.started_at)),
            run.map_or("never", |r| r.status.as_str()),
            run.map_or("-".into(), |r| r.rows_written.to_string()),
            run.map_or("-".into(), |r| r.api_requests.to_string()),
            run.map_or("-".into(), |r| r.rate_limited_requests.to_string()),
            run.and_then(|r| r.duration_seconds)
                .map_or("-".into(), |d| format!("{d:.1}")),
            watermark,
            time(s.next_run),
        );
    }
    for s in statuses {
        if let Some(error) = s.last_run.as_ref().and_then(|r| r.error.as_deref()) {
            println!("\n{}: {error}", s.stream);
        }
        if let Some(warning) = &s.warning {
            println!("\n{} (warning): {warning}", s.stream);
        }
    }
}

/// Asks the service at `server.listen` for `probe`; success only on HTTP 200.
pub async fn healthcheck(config: &Config, probe: Probe) -> anyhow::Result<ExitCode> {
    let mut address: std::net::SocketAddr =
        config.server.listen.parse().context("server.listen")?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{address}{}", probe.path());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => Ok(ExitCode::SUCCESS),
        Ok(response) => {
            let status = response.status();
            eprintln!(
                "unhealthy: {url} answered {status}: {}",
                response.text().await.unwrap_or_default().trim()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("unhealthy: {url} did not answer: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
