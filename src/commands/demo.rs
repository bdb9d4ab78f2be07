//! `feishu-sync demo`: the simulator on a free port, a real sync into a local database,
//! and a summary of what landed. Needs no configuration file and no credentials.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, NaiveTime, Utc};
use secrecy::SecretString;
use sqlx::PgPool;

use crate::cli::DemoArgs;
use crate::commands::sync::{exit_code, one_pass, print_reports, selected_streams};
use crate::config::Config;
use crate::feishu::ClientSettings;
use crate::startup::Application;
use crate::sync::ReadMode;
use crate::{db, scratch_database};
use feishu_sim::{SimConfig, SimHandle, Simulator, Tenant, TenantSpec};

/// The comment the demo puts on the `feishu` schema it fills.
const DEMO_MARKER: &str = "feishu-sync demo data";

/// The simulator's rate-limit window: the documented per-minute limits per second, so
/// the demo finishes in seconds while still exercising the client's budgets.
const DEMO_WINDOW: Duration = Duration::from_secs(1);

/// How many of the demo tenant's users the approval stream reads.
const DEMO_APPROVAL_USERS: usize = 40;

/// The demo's tenant, its times counted from the start of `now`'s UTC day: every demo
/// of the same day serves the same tenant, so a re-run writes no rows.
pub fn demo_tenant(now: DateTime<Utc>) -> Tenant {
    let day_start = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    Tenant::generate_at(&TenantSpec::demo(), day_start.timestamp_millis())
}

/// Runs `demo`: the exit code says whether every stream succeeded.
pub async fn execute(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let url = args.database_url;
    scratch_database::create_database_if_missing(&url).await?;
    scratch_database::refuse_real_data(&url, DEMO_MARKER).await?;
    let sim_config = SimConfig::default().with_window(DEMO_WINDOW);
    let sim = Simulator::start(demo_tenant(Utc::now()), sim_config.clone())
        .await
        .context("starting the simulator")?;
    let (config, settings) = demo_config(&sim, &sim_config, &url);
    crate::outln!(
        "simulated Feishu at {}; syncing into {}\n",
        sim.base_url(),
        db::redact_url(&url)
    );
    let started = Instant::now();
    let streams = selected_streams(&config, &[], None)?;
    let app = Application::build(&config.database, settings).await?;
    let reports = one_pass(&app, &config, &streams, &ReadMode::Incremental, false).await?;
    let elapsed = started.elapsed();
    print_reports(&reports);
    scratch_database::mark(&url, DEMO_MARKER).await?;
    print_tables(&app.pool).await?;
    print_backlog(&app.pool).await?;
    print_rating_distribution(&app.pool).await?;
    crate::outln!(
        "\nsync took {:.1} s (rate limits scaled to {}-second windows)",
        elapsed.as_secs_f64(),
        DEMO_WINDOW.as_secs()
    );
    print_sample_sql(&db::redact_url(&url));
    sim.shutdown().await;
    Ok(exit_code(&reports))
}

/// The configuration pointing at `sim` and the database at `url`, and the client's
/// settings with the demo's rate window.
fn demo_config(sim: &SimHandle, sim_config: &SimConfig, url: &str) -> (Config, ClientSettings) {
    let mut config = Config::default();
    config.feishu.base_url = sim.base_url();
    config.feishu.allow_insecure_http = true;
    config.feishu.app_id = sim_config.app_id.clone();
    config.feishu.app_secret = SecretString::from(sim_config.app_secret.clone());
    config.database.url = secrecy::SecretString::from(url.to_string());
    config.streams.approval_tasks.user_ids =
        sim.with_tenant(|t| t.users.iter().take(DEMO_APPROVAL_USERS).cloned().collect());
    let mut settings = ClientSettings::from_config(&config.feishu);
    settings.rate_window = DEMO_WINDOW;
    (config, settings)
}

async fn print_tables(pool: &PgPool) -> anyhow::Result<()> {
    crate::outln!("\n{:<28} {:>9} {:>9}", "table", "current", "retired");
    for row in db::table_counts(pool).await? {
        crate::outln!(
            "{:<28} {:>9} {:>9}",
            format!("feishu.{}", row.table),
            row.current,
            row.retired
        );
    }
    Ok(())
}

/// Who has the most approvals waiting, by name and department: the directory at work.
async fn print_backlog(pool: &PgPool) -> anyhow::Result<()> {
    let rows = sqlx::query!(
        r#"SELECT assignee_name AS "name", coalesce(assignee_departments[1], '(root)') AS "department!",
                  count(*) AS "waiting!"
             FROM feishu.approval_backlog GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 5"#
    )
    .fetch_all(pool)
    .await?;
    crate::outln!(
        "
{:<12} {:<24} {:>8}",
        "assignee",
        "department",
        "to do"
    );
    for row in rows {
        crate::outln!(
            "{:<12} {:<24} {:>8}",
            row.name.unwrap_or_default(),
            row.department,
            row.waiting
        );
    }
    Ok(())
}

/// The newest semester's final levels by primary department: the results streams at work.
async fn print_rating_distribution(pool: &PgPool) -> anyhow::Result<()> {
    let rows = sqlx::query!(
        r#"WITH newest AS (
               SELECT r.semester_id FROM feishu.rating_distribution r
                 JOIN feishu.semesters s ON s.id = r.semester_id
                ORDER BY s.start_time DESC LIMIT 1)
           SELECT min(r.semester_name) AS "semester", coalesce(r.department_name, '(root)') AS "department!",
                  sum(r.reviewees) FILTER (WHERE r.level_code = 'S')::int8 AS "s",
                  sum(r.reviewees) FILTER (WHERE r.level_code = 'A')::int8 AS "a",
                  sum(r.reviewees) FILTER (WHERE r.level_code = 'B')::int8 AS "b",
                  sum(r.reviewees) FILTER (WHERE r.level_code = 'C')::int8 AS "c",
                  sum(r.reviewees) FILTER (WHERE r.level_code = 'D')::int8 AS "d"
             FROM feishu.rating_distribution r JOIN newest USING (semester_id)
            GROUP BY r.department_name ORDER BY 2 LIMIT 12"#
    )
    .fetch_all(pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(());
    };
    println!(
        "\nfinal levels by department, {}",
        first.semester.as_deref().unwrap_or("")
    );
    println!(
        "{:<24} {:>5} {:>5} {:>5} {:>5} {:>5}",
        "department", "S", "A", "B", "C", "D"
    );
    for row in &rows {
        let n = |v: Option<i64>| v.unwrap_or(0);
        println!(
            "{:<24} {:>5} {:>5} {:>5} {:>5} {:>5}",
            row.department,
            n(row.s),
            n(row.a),
            n(row.b),
            n(row.c),
            n(row.d)
        );
    }
    Ok(())
}

fn print_sample_sql(url: &str) {
    crate::outln!(
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
  -- approvals waiting, by department (the directory turns ids into names)
  SELECT unnest(assignee_departments) AS department, count(*) FROM feishu.approval_backlog
   GROUP BY 1 ORDER BY 2 DESC;
  -- final levels per semester and department, with shares
  SELECT semester_name, department_name, level_code, reviewees, round(share::numeric, 2)
    FROM feishu.rating_distribution ORDER BY 1, 2, 3;
  -- each stream's last run
  SELECT DISTINCT ON (stream) stream, status, rows_written, finished_at - started_at AS took
    FROM feishu.sync_runs ORDER BY stream, started_at DESC;"#
    );
}
