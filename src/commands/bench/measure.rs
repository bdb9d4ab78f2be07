//! What the benchmark measures: a sync run as a child process (wall time, peak RSS), the
//! simulator's view of each endpoint's requests, and the write path alone.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;

use crate::feishu::Endpoint;
use feishu_sim::SimHandle;

/// One `feishu-sync sync` child process.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub success: bool,
}

/// Runs `feishu-sync sync` with `env`, sampling its peak RSS (`VmHWM`) until it exits.
pub async fn run_sync_child(env: &[(String, String)], log: &Path) -> anyhow::Result<ChildRun> {
    let exe = std::env::current_exe().context("locating the feishu-sync binary")?;
    let log_file = std::fs::File::create(log)?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("sync")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .context("starting the sync child")?;
    let pid = child.id().context("child pid")?;
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(rss) = vm_hwm_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(rss);
        }
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    };
    Ok(ChildRun {
        wall: started.elapsed(),
        peak_rss_kib,
        success: status.success(),
    })
}

/// The peak resident set of a process, from `/proc/PID/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One endpoint's requests as the simulator saw them.
#[derive(Debug, Clone, Copy)]
pub struct EndpointFigures {
    pub endpoint: Endpoint,
    /// Requests the server accepted (the work that had to be done).
    pub accepted: u64,
    pub rate_limited: u64,
    /// Accepted requests per second between the first and last accepted request.
    pub achieved_per_sec: f64,
    /// The server's limit, per second.
    pub ceiling_per_sec: f64,
}

impl EndpointFigures {
    /// Achieved rate as a fraction of the ceiling.
    pub fn rate_fraction(&self) -> f64 {
        self.achieved_per_sec / self.ceiling_per_sec
    }

    /// Share of requests answered with the frequency limit.
    pub fn limited_share(&self) -> f64 {
        let total = self.accepted + self.rate_limited;
        if total == 0 {
            0.0
        } else {
            self.rate_limited as f64 / total as f64
        }
    }

    /// Seconds the accepted requests need at the ceiling.
    pub fn minimum_secs(&self) -> f64 {
        self.accepted.saturating_sub(1) as f64 / self.ceiling_per_sec
    }
}

/// Per-endpoint figures of everything `sim` recorded.
pub fn endpoint_figures(sim: &SimHandle) -> Vec<EndpointFigures> {
    let requests = sim.requests();
    let config = sim.config();
    Endpoint::ALL
        .into_iter()
        .map(|endpoint| {
            let limit = config.rate_limits[&endpoint];
            let ceiling_per_sec = f64::from(limit.requests) / limit.window.as_secs_f64();
            let mine: Vec<_> = requests.iter().filter(|r| r.endpoint == endpoint).collect();
            let accepted: Vec<_> = mine.iter().filter(|r| r.status == 200).collect();
            let rate_limited = mine.iter().filter(|r| r.code == 99991400).count() as u64;
            let span = match (accepted.first(), accepted.last()) {
                (Some(first), Some(last)) => last.at.duration_since(first.at).as_secs_f64(),
                _ => 0.0,
            };
            let achieved_per_sec = if span > 0.0 {
                (accepted.len() - 1) as f64 / span
            } else {
                0.0
            };
            EndpointFigures {
                endpoint,
                accepted: accepted.len() as u64,
                rate_limited,
                achieved_per_sec,
                ceiling_per_sec,
            }
        })
        .collect()
}

/// The shortest possible pass: each endpoint's requests at its ceiling, with semesters
/// before activities, stage tasks and reviewees, reviewees before review data and metric
/// details, departments before users, and the independent streams alongside (the
/// benchmark names its approval users, so approvals need no directory).
pub fn theoretical_minimum_secs(figures: &[EndpointFigures]) -> f64 {
    let secs = |e: Endpoint| {
        figures
            .iter()
            .find(|f| f.endpoint == e)
            .map_or(0.0, EndpointFigures::minimum_secs)
    };
    let results =
        secs(Endpoint::Reviewees) + secs(Endpoint::ReviewData).max(secs(Endpoint::MetricDetails));
    let performance = secs(Endpoint::Semesters)
        + secs(Endpoint::Activities)
            .max(secs(Endpoint::StageTasks))
            .max(results);
    let directory = secs(Endpoint::Departments) + secs(Endpoint::Users);
    performance
        .max(directory)
        .max(secs(Endpoint::ApprovalTasks))
        .max(secs(Endpoint::Tasks))
        .max(secs(Endpoint::Indicators))
        .max(secs(Endpoint::MetricFields))
}

/// The as-of query the README documents, on the history the first pass wrote: the stage
/// tasks as they were just before the pass (none) and now (all), planned and run.
pub const AS_OF_QUERY: &str = "SELECT stage_task_status, count(*) FROM feishu.stage_tasks_at(now() - interval '1 day') GROUP BY 1";

/// `EXPLAIN (ANALYZE, BUFFERS)` of [`AS_OF_QUERY`].
pub async fn as_of_plan(pool: &PgPool) -> anyhow::Result<String> {
    sqlx::query("ANALYZE feishu.stage_tasks_history")
        .execute(pool)
        .await?;
    let lines: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {AS_OF_QUERY}"
    ))
    .fetch_all(pool)
    .await
    .context("explaining the as-of query")?;
    Ok(lines.join("\n"))
}

/// Rows written by the runs recorded after run id `after`.
pub async fn rows_written_since(pool: &PgPool, after: i64) -> anyhow::Result<i64> {
    let rows = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(rows_written), 0)::bigint AS "rows!" FROM feishu.sync_runs WHERE id > $1"#,
        after
    )
    .fetch_one(pool)
    .await?;
    Ok(rows)
}

/// The newest run id so far (0 for none).
pub async fn last_run_id(pool: &PgPool) -> anyhow::Result<i64> {
    let id = sqlx::query_scalar!(
        r#"SELECT coalesce(max(id), 0)::bigint AS "id!" FROM feishu.sync_runs"#
    )
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// The rate ceilings (per minute) that runs since run id `after` recorded, newest per
/// stream.
pub async fn learned_ceilings_since(
    pool: &PgPool,
    after: i64,
) -> anyhow::Result<Vec<(String, i32)>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (stream) stream, rate_ceiling_per_minute AS "ceiling!"
             FROM feishu.sync_runs WHERE id > $1 AND rate_ceiling_per_minute IS NOT NULL
            ORDER BY stream, id DESC"#,
        after
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.stream, r.ceiling)).collect())
}

/// Runs that did not succeed since run id `after`.
pub async fn failed_runs_since(pool: &PgPool, after: i64) -> anyhow::Result<Vec<String>> {
    let failed = sqlx::query_scalar!(
        r#"SELECT stream || ': ' || status || ' ' || coalesce(error, '') AS "line!"
             FROM feishu.sync_runs WHERE id > $1 AND status <> 'succeeded'"#,
        after
    )
    .fetch_all(pool)
    .await?;
    Ok(failed)
}

/// The write path's speed: task records per second, and table rows (tasks, collaborators,
/// followers) per second.
#[derive(Debug, Clone, Copy, Default)]
pub struct WritePath {
    pub records_per_sec: f64,
    pub rows_per_sec: f64,
}

/// Upserts `records` (task-v1 wire JSON) in pages of 100, one transaction each, as the
/// sync does.
pub async fn upsert_rows_per_sec(
    pool: &PgPool,
    records: Vec<serde_json::Value>,
) -> anyhow::Result<WritePath> {
    let total = records.len();
    let started = Instant::now();
    let mut rows = 0;
    let mut records = records.into_iter().peekable();
    while records.peek().is_some() {
        let page: Vec<_> = records.by_ref().take(100).collect();
        let mut tx = pool.begin().await?;
        rows += crate::sync::tasks::upsert_records(&mut tx, page).await?;
        tx.commit().await?;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(WritePath {
        records_per_sec: total as f64 / secs,
        rows_per_sec: rows as f64 / secs,
    })
}
