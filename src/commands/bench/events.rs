//! `feishu-sync bench --events`: the large tenant synced once, then changed at a steady
//! rate (one approval, one task and one directory change a second) for a minute while the
//! long connection is open. It reports freshness (from the change, the event's
//! `created_at`, to the commit of its effect, `processed_at`), API requests per change,
//! and what the same minute would cost under polling.

use std::fmt::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::SecretString;
use sqlx::PgPool;
use tokio_util::task::TaskTracker;

use super::{Workload, fresh_schema, report};
use crate::config::Config;
use crate::events::status::SharedStatus;
use crate::feishu::{ClientSettings, Endpoint};
use crate::shutdown::CancellationToken;
use crate::startup::Application;
use crate::sync::{self, ReadMode, SyncContext};
use feishu_sim::{SimConfig, SimHandle, Simulator, Tenant, Touched};

/// What the events benchmark measured.
pub struct EventFigures {
    pub workload: Workload,
    pub secs: u64,
    pub window: Duration,
    /// `(kind, changes, p50 s, p99 s, max s, requests)` per kind of change.
    pub kinds: Vec<(&'static str, usize, f64, f64, f64, u64)>,
    /// Requests of one polling pass per stream, from the first sync.
    pub poll_pass: Vec<(Endpoint, u64)>,
    pub unprocessed: i64,
    /// `/proc/loadavg`'s 1, 5 and 15 minute figures when the changes ended.
    pub load: String,
}

/// Runs the events benchmark on `workload`.
pub async fn measure(
    url: &str,
    workload: Workload,
    window: Duration,
    secs: u64,
) -> anyhow::Result<EventFigures> {
    fresh_schema(url).await?;
    // A pool the size of the service's: the streams, the processor and the connection.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect_with(crate::db::connect_options(url)?)
        .await?;
    let sim = Simulator::start(
        Tenant::generate(&workload.spec),
        SimConfig::default().with_window(window),
    )
    .await?;
    let ctx = context(&pool, &sim, &workload, window)?;
    eprintln!("first sync of the {} tenant...", workload.name);
    let poll_pass = first_sync(&ctx).await?;
    let (shutdown, tracker) = open_connection(&ctx).await?;
    let before: Vec<u64> = Endpoint::ALL
        .iter()
        .map(|e| ctx.client.requests_sent(*e))
        .collect();
    eprintln!("changing the tenant for {secs} s...");
    let changes = change_steadily(&sim, &workload, secs).await;
    let load = load_average();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let spent = |e: Endpoint| {
        let i = Endpoint::ALL
            .iter()
            .position(|x| *x == e)
            .expect("an endpoint");
        ctx.client.requests_sent(e) - before[i]
    };
    let kinds = kinds_of_change(&pool, changes, spent).await?;
    let unprocessed = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM feishu.events WHERE processed_at IS NULL"#
    )
    .fetch_one(&pool)
    .await?;
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    sim.shutdown().await;
    Ok(EventFigures {
        workload,
        secs,
        window,
        kinds,
        poll_pass,
        unprocessed,
        load,
    })
}

/// The first sync of every stream, all of which must succeed: the requests each spent
/// are what one polling pass costs.
async fn first_sync(ctx: &SyncContext) -> anyhow::Result<Vec<(Endpoint, u64)>> {
    let mut poll_pass = Vec::new();
    for report in sync::run_pass(ctx, &Endpoint::ALL, &ReadMode::Incremental).await? {
        anyhow::ensure!(
            report.error.is_none(),
            "{}: {:?}",
            report.stream,
            report.error
        );
        poll_pass.push((report.stream, report.requests));
    }
    Ok(poll_pass)
}

/// Starts the long connection and its processor as the service does, and waits until it
/// is ready; cancelling the token returned stops them, the tracker waits for them.
async fn open_connection(ctx: &SyncContext) -> anyhow::Result<(CancellationToken, TaskTracker)> {
    let shutdown = CancellationToken::new();
    let mut events_ctx = ctx.clone();
    events_ctx.shutdown = shutdown.clone();
    let mut config = Config::default();
    config.events.enabled = true;
    let (status, tracker) = (SharedStatus::default(), TaskTracker::new());
    crate::events::start(&config, &events_ctx, &tracker, status.clone());
    wait_until_ready(&ctx.pool, &status).await?;
    Ok((shutdown, tracker))
}

/// Per kind of change: how many, the p50, p99 and maximum lag from change to commit,
/// and the requests its stream `spent`.
async fn kinds_of_change(
    pool: &PgPool,
    changes: usize,
    spent: impl Fn(Endpoint) -> u64,
) -> anyhow::Result<Vec<(&'static str, usize, f64, f64, f64, u64)>> {
    let mut kinds = Vec::new();
    for (kind, types, endpoint) in [
        ("approval", &["approval_task"][..], Endpoint::ApprovalTasks),
        ("task", &["task.task.updated_v1"][..], Endpoint::Tasks),
        (
            "directory",
            &["contact.user.updated_v3"][..],
            Endpoint::Users,
        ),
    ] {
        let lags = lags(pool, types).await?;
        let pick = |q: f64| {
            lags.get(((lags.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        kinds.push((
            kind,
            changes,
            pick(0.5),
            pick(0.99),
            pick(1.0),
            spent(endpoint),
        ));
    }
    Ok(kinds)
}

/// A context against `sim` with budgets at its limits, built as the commands build theirs.
fn context(
    pool: &PgPool,
    sim: &SimHandle,
    workload: &Workload,
    window: Duration,
) -> anyhow::Result<SyncContext> {
    let sim_config = sim.config();
    let mut feishu = Config::default().feishu;
    feishu.base_url = sim.base_url();
    feishu.app_id = sim_config.app_id.clone();
    feishu.app_secret = SecretString::from(sim_config.app_secret.clone());
    let mut settings = ClientSettings::from_config(&feishu);
    settings.rate_window = window;
    for (endpoint, limit) in &sim_config.rate_limits {
        settings.rate_limits.insert(*endpoint, limit.requests);
    }
    let mut streams = Config::default().streams;
    streams.approval_tasks.user_ids = sim.with_tenant(|t| {
        t.users
            .iter()
            .take(workload.approval_users)
            .cloned()
            .collect()
    });
    let app = Application::with_pool(pool.clone(), settings)?;
    Ok(app.sync_context(streams, CancellationToken::new()))
}

/// Until the connection is open and every known approval code is subscribed.
async fn wait_until_ready(pool: &PgPool, status: &SharedStatus) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let missing = sqlx::query_scalar!(
            r#"SELECT count(DISTINCT definition_code) AS "n!" FROM feishu.approval_tasks a
                WHERE NOT EXISTS (SELECT 1 FROM feishu.event_subscriptions s WHERE s.approval_code = a.definition_code)"#
        )
        .fetch_one(pool)
        .await?;
        if missing == 0 && status.get().connected_since.is_some() {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the long connection did not get ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One approval (topic 1 ↔ 2), one task and one user change a second; returns how many
/// seconds of changes were made. Each change names what it touches, so the simulator
/// compares those records only (a whole-tenant diff a second starved its WebSocket).
async fn change_steadily(sim: &SimHandle, workload: &Workload, secs: u64) -> usize {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let (approvers, tasks, people) = sim.with_tenant_touching(&Touched::default(), |t| {
        let approvers: Vec<String> = t
            .users
            .iter()
            .take(workload.approval_users)
            .cloned()
            .collect();
        let tasks: Vec<String> = t.tasks.iter().map(|x| x.id.clone()).collect();
        let people: Vec<String> = t.people.iter().map(|p| p.open_id.clone()).collect();
        (approvers, tasks, people)
    });
    for n in 0..secs as usize {
        tick.tick().await;
        let approver = &approvers[(n * 7) % approvers.len()];
        let task = &tasks[(n * 13) % tasks.len()];
        let person = &people[(n * 11) % people.len()];
        let touched = Touched {
            users: vec![approver.clone(), person.clone()],
            tasks: vec![task.clone()],
            departments: Vec::new(),
        };
        sim.with_tenant_touching(&touched, |t| change_once(t, n, approver, task, person));
    }
    secs as usize
}

/// The `n`th second's changes: `approver`'s first approval in topic 1 or 2 moves to the
/// other topic, `task` and `person` get new text.
fn change_once(t: &mut Tenant, n: usize, approver: &str, task: &str, person: &str) {
    if let Some(a) = t
        .approval_tasks
        .iter_mut()
        .find(|a| a.user_id == approver && (a.topic == "1" || a.topic == "2"))
    {
        a.topic = if a.topic == "1" { "2" } else { "1" }.into();
        a.title = format!("bench change {n}");
    }
    if let Some(x) = t.tasks.iter_mut().find(|x| x.id == task) {
        x.summary = format!("bench change {n}");
    }
    if let Some(p) = t.people.iter_mut().find(|p| p.open_id == person) {
        p.job_title = format!("bench change {n}");
    }
}

/// The machine's load average (1, 5, 15 minutes), or `unknown`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Whether the 1-minute load average in `load` exceeds the machine's cores.
fn under_load(load: &str) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    load.split_whitespace()
        .next()
        .and_then(|l| l.parse::<f64>().ok())
        .is_some_and(|l| l > cores)
}

/// Seconds from each event's creation to the commit of its effect, sorted.
async fn lags(pool: &PgPool, types: &[&str]) -> anyhow::Result<Vec<f64>> {
    let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    let mut lags: Vec<f64> = sqlx::query_scalar!(
        r#"SELECT extract(epoch FROM processed_at - created_at)::float8 AS "lag!" FROM feishu.events
            WHERE event_type = ANY($1::text[]) AND processed_at IS NOT NULL AND created_at IS NOT NULL"#,
        &types
    )
    .fetch_all(pool)
    .await
    .context("reading event lags")?;
    lags.sort_by(f64::total_cmp);
    Ok(lags)
}

/// The report's section, which replaces any earlier one in docs/benchmarks.md.
pub fn markdown(f: &EventFigures) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{SECTION}\n");
    let _ = writeln!(
        out,
        "Command: `cargo run --release -- bench --events --window-secs {} --output docs/benchmarks.md`  \nMachine: {}, load average {} (1 / 5 / 15 min) when the changes ended  \nDate: {}  \n",
        f.window.as_secs(),
        report::machine(),
        f.load,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "Freshness is wall-clock time: on a loaded machine it measures the load as much as the design. API requests per change do not depend on load.{}\n",
        match under_load(&f.load) {
            true =>
                " These figures were taken under load (a load average above the core count: other builds shared the machine).",
            false => "",
        }
    );
    let _ = writeln!(
        out,
        "The {} tenant ({} users, {} approvers in 5 topics, {} tasks) is synced once, then changed for {} s at a steady rate: one approval (a task moving between topics 1 and 2), one task and one user a second. Freshness is from the change (the event's `created_at`) to the commit of its effect (`processed_at`), over the simulator's WebSocket into a real PostgreSQL. {} events were left unprocessed.\n",
        f.workload.name,
        f.workload.spec.users,
        f.workload.approval_users,
        f.workload.spec.tasks,
        f.secs,
        f.unprocessed
    );
    freshness_table(&mut out, f);
    polling_comparison(&mut out, f);
    out
}

/// The section's table: per kind of change, its freshness percentiles and the API requests
/// it cost against the target.
fn freshness_table(out: &mut String, f: &EventFigures) {
    let _ = writeln!(
        out,
        "| change | changes | freshness p50 | p99 | max | API requests | requests per change | target |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (kind, n, p50, p99, max, requests) in &f.kinds {
        let target = match *kind {
            "approval" => {
                "<= topics x pages (5 topics; the heavy approver's topic 2 has several pages)"
            }
            "task" => "1",
            _ => "0 or 1",
        };
        let per = *requests as f64 / (*n).max(1) as f64;
        let _ = writeln!(
            out,
            "| {kind} | {n} | {p50:.3} s | {p99:.3} s | {max:.3} s | {requests} | {per:.2} | {target} |"
        );
    }
}

/// The section's closing paragraph: what the same minute of changes would cost under
/// polling, from the pass costs the benchmark measured, against the events' total.
fn polling_comparison(out: &mut String, f: &EventFigures) {
    let total: u64 = f.kinds.iter().map(|k| k.5).sum();
    let pass = |e: Endpoint| f.poll_pass.iter().find(|p| p.0 == e).map_or(0, |p| p.1);
    let _ = writeln!(
        out,
        "\nThe same minute under polling: one pass of approvals costs {} requests (every approver and topic), tasks {}, the directory {} (departments) + {} (users). To see these changes within seconds, polling would need a pass every few seconds: about {} requests a minute at one pass a minute, against {total} with events. At the default schedules (approvals every 15 min, tasks every 10 min, the directory hourly) polling costs about {:.0} requests a minute and the data is up to 15 minutes old.\n",
        pass(Endpoint::ApprovalTasks),
        pass(Endpoint::Tasks),
        pass(Endpoint::Departments),
        pass(Endpoint::Users),
        pass(Endpoint::ApprovalTasks)
            + pass(Endpoint::Tasks)
            + pass(Endpoint::Departments)
            + pass(Endpoint::Users),
        pass(Endpoint::ApprovalTasks) as f64 / 15.0
            + pass(Endpoint::Tasks) as f64 / 10.0
            + (pass(Endpoint::Departments) + pass(Endpoint::Users)) as f64 / 60.0,
    );
}

/// The heading of the events section.
pub const SECTION: &str = "## Events (`bench --events`)";

/// `existing` with its events section replaced by (or extended with) `section`.
pub fn splice(existing: &str, section: &str) -> String {
    let kept = existing
        .find(SECTION)
        .map_or(existing, |at| &existing[..at]);
    format!("{}\n\n{section}", kept.trim_end())
}
