//! `feishu-sync demo`: the simulator on a free port, a real sync into a local database,
//! and a summary of what landed. Needs no configuration file and no credentials.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::SecretString;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::app::{exit_code, print_reports, sync_with_config};
use crate::cli::{DemoArgs, SyncArgs};
use crate::config::Config;
use crate::db;
use crate::feishu::ClientSettings;
use crate::simulator::{SimConfig, Simulator, Tenant, TenantSpec};

/// Where the demo writes when neither `--database-url` nor `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/feishu_sync";

/// The simulator's rate-limit window: the documented per-minute limits per second, so
/// the demo finishes in seconds while still exercising the client's budgets.
const DEMO_WINDOW: Duration = Duration::from_secs(1);

/// How many of the demo tenant's users the approval stream reads.
const DEMO_APPROVAL_USERS: usize = 40;

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let url = args
        .database_url
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    create_database_if_missing(&url).await?;
    refuse_real_data(&url).await?;
    let sim_config = SimConfig::default().with_window(DEMO_WINDOW);
    let sim = Simulator::start(Tenant::generate(&TenantSpec::demo()), sim_config.clone())
        .await
        .context("starting the simulator")?;
    let mut config = Config::default();
    config.feishu.base_url = sim.base_url();
    config.feishu.app_id = sim_config.app_id.clone();
    config.feishu.app_secret = SecretString::from(sim_config.app_secret.clone());
    config.database.url = url.clone();
    config.streams.approval_tasks.user_ids =
        sim.with_tenant(|t| t.users.iter().take(DEMO_APPROVAL_USERS).cloned().collect());
    let mut settings = ClientSettings::from_config(&config.feishu);
    settings.rate_window = DEMO_WINDOW;
    println!(
        "simulated Feishu at {}; syncing into {}\n",
        sim.base_url(),
        db::redact_url(&url)
    );
    let started = Instant::now();
    let args = SyncArgs {
        streams: Vec::new(),
        backfill: false,
        since: None,
    };
    let reports = sync_with_config(&config, settings, &args).await?;
    let elapsed = started.elapsed();
    print_reports(&reports);
    mark_as_demo(&url).await?;
    print_tables(&config).await?;
    println!(
        "\nsync took {:.1} s (rate limits scaled to {}-second windows)",
        elapsed.as_secs_f64(),
        DEMO_WINDOW.as_secs()
    );
    print_sample_sql(&db::redact_url(&url));
    sim.shutdown().await;
    Ok(exit_code(&reports))
}

/// The comment the demo puts on the `feishu` schema it fills (`mark_as_demo`).
const DEMO_MARKER: &str = "feishu-sync demo data";

/// The demo replaces and retires rows freely, so it never writes into a database that
/// holds data of real syncs.
async fn refuse_real_data(url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    let schema = sqlx::query!(
        r#"SELECT obj_description(oid, 'pg_namespace') AS comment,
                  to_regclass('feishu.sync_runs') IS NOT NULL AS "has_runs_table!"
             FROM pg_namespace WHERE nspname = 'feishu'"#
    )
    .fetch_optional(&mut conn)
    .await?;
    let Some(schema) =
        schema.filter(|s| s.has_runs_table && s.comment.as_deref() != Some(DEMO_MARKER))
    else {
        return Ok(());
    };
    let runs = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM feishu.sync_runs"#)
        .fetch_one(&mut conn)
        .await?;
    anyhow::ensure!(
        runs == 0,
        "{} already holds feishu-sync data of real syncs ({runs} runs, schema comment {:?}); the demo \
         would overwrite it. Point it at a scratch database with --database-url",
        db::redact_url(url),
        schema.comment.unwrap_or_default()
    );
    Ok(())
}

async fn mark_as_demo(url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql("COMMENT ON SCHEMA feishu IS 'feishu-sync demo data'")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Creates the database named in `url` on its server, if it does not exist.
async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).context("the database URL is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_string();
    anyhow::ensure!(!name.is_empty(), "the database URL names no database");
    let mut admin_url = parsed.clone();
    admin_url.set_path("/postgres");
    let mut admin = PgConnection::connect(admin_url.as_str())
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {}: is it running?",
                db::redact_url(admin_url.as_str())
            )
        })?;
    let exists = sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
        name
    )
    .fetch_one(&mut admin)
    .await?
    .unwrap_or(false);
    if !exists {
        let quoted = name.replace('"', "\"\"");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{quoted}\"")))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
        println!("created database {name}");
    }
    Ok(())
}

async fn print_tables(config: &Config) -> anyhow::Result<()> {
    let pool = db::connect(&config.database).await?;
    println!("\n{:<28} {:>9} {:>9}", "table", "current", "retired");
    for row in db::table_counts(&pool).await? {
        println!(
            "{:<28} {:>9} {:>9}",
            format!("feishu.{}", row.table),
            row.current,
            row.retired
        );
    }
    Ok(())
}

fn print_sample_sql(url: &str) {
    println!(
        r#"
Try it:
  psql {url}
  -- open stage tasks per semester, by status
  SELECT s.name_en, t.stage_task_status, count(*) FROM feishu.stage_tasks t
    JOIN feishu.semesters s ON s.id = t.semester_id
   WHERE t.deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2;
  -- tasks created per week, and how many are done
  SELECT date_trunc('week', create_time) AS week, count(*), count(complete_time) AS done
    FROM feishu.tasks WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 1 DESC LIMIT 8;
  -- each stream's last run
  SELECT DISTINCT ON (stream) stream, status, rows_written, finished_at - started_at AS took
    FROM feishu.sync_runs ORDER BY stream, started_at DESC;"#
    );
}
