//! `feishu-sync bench`: the whole sync against the project's simulator with rate-limit
//! windows scaled down, into a real Postgres, reporting how close the client comes to each
//! endpoint's ceiling, how fast the write path is, peak memory, and what a no-change re-run
//! writes. `--check` (used by CI) asserts correctness only, never timings.

mod events;
mod measure;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::scratch_database;
use feishu_sim::{SimConfig, SimHandle, Simulator, Tenant, TenantSpec};
use measure::{ChildRun, EndpointFigures};

/// The benchmark's database unless `--database-url` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/feishu_sync_bench";
const BENCH_MARKER: &str = "feishu-sync benchmark data";

/// How big a tenant to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// Seconds; what CI runs with `--check`.
    Tiny,
    /// Thousands of users, tens of thousands of tasks and approvals; a medium tenant first,
    /// to show memory does not grow with size.
    Large,
}

/// Options of `feishu-sync bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value_t = Scale::Large)]
    pub scale: Scale,
    /// Scratch database; created if missing, refused if it holds real data.
    #[arg(long, value_name = "URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The simulator's rate-limit window in seconds (the real API's is 60).
    #[arg(long, default_value_t = 2)]
    pub window_secs: u64,
    /// Write the report (markdown) to this file too, e.g. docs/benchmarks.md.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Fail unless every run succeeded, the tables hold the tenant and a no-change re-run
    /// wrote nothing. Asserts no timing.
    #[arg(long)]
    pub check: bool,
    /// The simulator announces `x-ogw-ratelimit-limit` per second while enforcing its
    /// limits per window, and feishu-sync's budgets are set `--overshoot` above those
    /// limits: what a user meets whose configured rate is wrong and whose header counts in
    /// another window.
    #[arg(long, conflicts_with = "write_path_only")]
    pub header_window_mismatch: bool,
    /// The events benchmark instead: the large tenant (`--scale large`; `tiny` for a quick
    /// look) changed for `--events-secs` while the long connection is open. `--output`
    /// replaces the events section of that file.
    #[arg(long, conflicts_with_all = ["check", "write_path_only", "header_window_mismatch"])]
    pub events: bool,
    /// Seconds of steady changes for `--events`.
    #[arg(long, default_value_t = 60)]
    pub events_secs: u64,
    /// With `--header-window-mismatch`: how far above the simulator's limits the budgets
    /// are set, as a share (0.05 is 5 % above, 0.5 is 50 % above).
    #[arg(long, default_value_t = 0.05, value_name = "SHARE", requires = "header_window_mismatch",
          value_parser = parse_overshoot)]
    pub overshoot: f64,
    /// Measure the write path alone and print it; skips the simulator runs.
    #[arg(long, conflicts_with_all = ["check", "output"])]
    pub write_path_only: bool,
}

/// One tenant size and how many of its users the approval stream reads.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: &'static str,
    pub spec: TenantSpec,
    pub approval_users: usize,
}

fn workloads(scale: Scale) -> Vec<Workload> {
    let tenant = |seed, users, approvals, tasks| TenantSpec {
        seed,
        users,
        semesters: 4,
        activities_per_semester: 3,
        stage_tasks_per_user: 5,
        approval_tasks_per_user: approvals,
        tasks,
    };
    match scale {
        Scale::Tiny => vec![Workload {
            name: "tiny",
            spec: tenant(1, 60, 10, 300),
            approval_users: 10,
        }],
        Scale::Large => vec![
            Workload {
                name: "medium",
                spec: tenant(2, 500, 60, 8_000),
                approval_users: 80,
            },
            Workload {
                name: "large",
                spec: tenant(3, 2_000, 60, 30_000),
                approval_users: 300,
            },
        ],
    }
}

/// What one workload measured.
#[derive(Debug, Clone)]
pub struct WorkloadResult {
    pub workload: Workload,
    pub first: ChildRun,
    pub endpoints: Vec<EndpointFigures>,
    pub theoretical_secs: f64,
    pub rows_in_tables: i64,
    pub no_change: ChildRun,
    pub no_change_rows_written: i64,
    /// What the no-change re-run asked of each endpoint (its API cost).
    pub no_change_endpoints: Vec<EndpointFigures>,
    pub failures: Vec<String>,
    /// `EXPLAIN ANALYZE` of an as-of query over the history the runs wrote.
    pub as_of_plan: String,
    /// Streams whose first pass learned a rate ceiling below the configured rate, with
    /// that ceiling per minute (as `sync_runs` recorded it for `status`).
    pub learned_ceilings: Vec<(String, i32)>,
}

/// Runs the benchmark.
pub async fn execute(args: BenchArgs) -> anyhow::Result<ExitCode> {
    scratch_database::create_database_if_missing(&args.database_url).await?;
    scratch_database::refuse_real_data(&args.database_url, BENCH_MARKER).await?;
    if args.write_path_only {
        let write = measure_upserts(&args.database_url, args.scale).await?;
        crate::outln!(
            "upsert path: {:.0} rows/s ({:.0} task records/s)",
            write.rows_per_sec,
            write.records_per_sec
        );
        return Ok(ExitCode::SUCCESS);
    }
    let window = Duration::from_secs(args.window_secs.max(1));
    if args.events {
        return run_events(&args, window).await;
    }
    let mut results = Vec::new();
    for workload in workloads(args.scale) {
        eprintln!("benchmarking the {} tenant...", workload.name);
        let mismatch = args.header_window_mismatch.then_some(args.overshoot);
        results.push(measure_workload(&args.database_url, workload, window, mismatch).await?);
    }
    let write_path = measure_upserts(&args.database_url, args.scale).await?;
    let text = report::markdown(&args, window, &results, write_path);
    crate::outln!("{text}");
    if let Some(path) = &args.output {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.check {
        return check(&results);
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench --events`: prints the events section and splices it into `--output`.
async fn run_events(args: &BenchArgs, window: Duration) -> anyhow::Result<ExitCode> {
    let workload = workloads(args.scale).pop().context("a workload")?;
    let figures = events::measure(&args.database_url, workload, window, args.events_secs).await?;
    let text = events::markdown(&figures);
    println!("{text}");
    if let Some(path) = &args.output {
        let existing = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, events::splice(&existing, &text))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure_workload(
    url: &str,
    workload: Workload,
    window: Duration,
    overshoot: Option<f64>,
) -> anyhow::Result<WorkloadResult> {
    let pool = fresh_schema(url).await?;
    let mut config = SimConfig::default().with_window(window);
    config.announce_limit_per_second = overshoot.is_some();
    let sim = Simulator::start(Tenant::generate(&workload.spec), config).await?;
    let mut env = child_env(&sim, url, &workload);
    if let Some(overshoot) = overshoot {
        budgets_above_the_ceiling(&mut env, overshoot);
    }
    let log = |run: &str| {
        std::env::temp_dir().join(format!("feishu-sync-bench-{}-{run}.log", workload.name))
    };
    let first = measure::run_sync_child(&env, &log("first")).await?;
    let endpoints = measure::endpoint_figures(&sim);
    let learned_ceilings = measure::learned_ceilings_since(&pool, 0).await?;
    let theoretical_secs = measure::theoretical_minimum_secs(&endpoints);
    let mut failures = measure::failed_runs_since(&pool, 0).await?;
    let counts = crate::db::table_counts(&pool).await?;
    failures.extend(missing_rows(&sim, &workload, &counts));
    let rows_in_tables = counts.iter().map(|c| c.current).sum();
    let before = measure::last_run_id(&pool).await?;
    sim.clear_requests();
    let no_change = measure::run_sync_child(&env, &log("no-change")).await?;
    let no_change_rows_written = measure::rows_written_since(&pool, before).await?;
    let no_change_endpoints = measure::endpoint_figures(&sim);
    failures.extend(measure::failed_runs_since(&pool, before).await?);
    let as_of_plan = measure::as_of_plan(&pool).await?;
    sim.shutdown().await;
    Ok(WorkloadResult {
        workload,
        first,
        endpoints,
        theoretical_secs,
        rows_in_tables,
        no_change,
        no_change_rows_written,
        no_change_endpoints,
        failures,
        as_of_plan,
        learned_ceilings,
    })
}

/// Tables whose row count differs from the simulator's tenant.
fn missing_rows(
    sim: &SimHandle,
    workload: &Workload,
    counts: &[crate::db::TableCount],
) -> Vec<String> {
    let expected = sim.with_tenant(|t| {
        let users: Vec<&String> = t.users.iter().take(workload.approval_users).collect();
        let approvals = t
            .approval_tasks
            .iter()
            .filter(|a| users.contains(&&a.user_id))
            .count();
        [
            ("semesters", t.semesters.len()),
            ("activities", t.activities.len()),
            ("stage_tasks", t.stage_tasks.len()),
            ("approval_tasks", approvals),
            ("tasks", t.tasks.len()),
            ("reviewees", t.reviewees.len()),
            ("review_stages", t.reviews.len()),
            ("metric_details", t.metrics.len()),
        ]
    });
    expected
        .into_iter()
        .filter_map(|(table, want)| {
            let got = counts
                .iter()
                .find(|c| c.table == table)
                .map_or(0, |c| c.current);
            (got != want as i64).then(|| format!("{table}: {got} rows, the tenant has {want}"))
        })
        .collect()
}

/// Drops the schema (and sqlx's migration table) of the scratch database, so each
/// workload starts from nothing.
async fn fresh_schema(url: &str) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(crate::db::connect_options(url)?)
        .await?;
    sqlx::raw_sql("DROP SCHEMA IF EXISTS feishu CASCADE; DROP TABLE IF EXISTS _sqlx_migrations;")
        .execute(&pool)
        .await?;
    crate::db::migrate(&pool).await?;
    scratch_database::mark(url, BENCH_MARKER).await?;
    Ok(pool)
}

/// The child's configuration: the simulator, its credentials, and budgets equal to the
/// simulator's limits over the same window.
fn child_env(sim: &SimHandle, url: &str, workload: &Workload) -> Vec<(String, String)> {
    let users: Vec<String> = sim.with_tenant(|t| {
        t.users
            .iter()
            .take(workload.approval_users)
            .cloned()
            .collect()
    });
    let mut env = sim.client_env();
    env.extend([
        (
            "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS".to_string(),
            users.join(","),
        ),
        ("DATABASE_URL".to_string(), url.to_string()),
        ("RUST_LOG".to_string(), "info".to_string()),
    ]);
    env
}

/// Raises every configured budget `overshoot` (a share) above the simulator's limit.
fn budgets_above_the_ceiling(env: &mut [(String, String)], overshoot: f64) {
    for (key, value) in env.iter_mut() {
        if key.starts_with("FEISHU_SYNC__FEISHU__RATE_LIMITS__")
            && let Ok(limit) = value.parse::<f64>()
        {
            *value = ((limit * (1.0 + overshoot)).ceil() as u64).to_string();
        }
    }
}

/// `--overshoot`: a share above the ceiling, from 0 to 10 (1000 %).
fn parse_overshoot(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=10.0).contains(&share) => Ok(share),
        _ => Err(format!(
            "expected a share between 0 and 10 (0.05 is 5 % above the ceiling), got {text:?}"
        )),
    }
}

/// The write path alone: task records upserted in pages, as many as the largest tenant.
async fn measure_upserts(url: &str, scale: Scale) -> anyhow::Result<measure::WritePath> {
    let pool = fresh_schema(url).await?;
    let tasks = match scale {
        Scale::Tiny => 2_000,
        Scale::Large => 50_000,
    };
    let spec = TenantSpec {
        seed: 9,
        users: 500,
        semesters: 1,
        activities_per_semester: 1,
        stage_tasks_per_user: 1,
        approval_tasks_per_user: 1,
        tasks,
    };
    let records = Tenant::generate(&spec)
        .tasks
        .iter()
        .map(feishu_sim::task_json)
        .collect();
    measure::upsert_rows_per_sec(&pool, records).await
}

/// `--check`: correctness only.
fn check(results: &[WorkloadResult]) -> anyhow::Result<ExitCode> {
    let mut problems = Vec::new();
    for r in results {
        let name = r.workload.name;
        if !(r.first.success && r.no_change.success && r.failures.is_empty()) {
            problems.push(format!("{name}: a run failed: {:?}", r.failures));
        }
        if r.no_change_rows_written != 0 {
            problems.push(format!(
                "{name}: a no-change re-run wrote {} rows",
                r.no_change_rows_written
            ));
        }
        if r.rows_in_tables == 0 {
            problems.push(format!("{name}: nothing was written"));
        }
    }
    if problems.is_empty() {
        crate::outln!(
            "bench check ok: every run succeeded, tables hold the tenant, the no-change re-run wrote nothing"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("bench check failed:\n  - {}", problems.join("\n  - "));
        Ok(ExitCode::FAILURE)
    }
}
