//! Shared test fixtures: a simulator with fast rate-limit windows, a sync context pointed
//! at it, and table-by-table comparisons of Postgres against the simulator's tenant.

pub mod binary;
pub mod expected;
pub mod service;

use std::time::Duration;

use backon::ExponentialBuilder;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

use feishu_sim::{SimConfig, SimHandle, Simulator, StageTask, Tenant, TenantSpec};
use feishu_sync::config::{Config, StreamsConfig};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::{ClientSettings, Endpoint};
use feishu_sync::shutdown::CancellationToken;
use feishu_sync::startup::Application;
use feishu_sync::sync::{self, ReadMode, StreamReport, SyncContext};

/// Tests scale every 60 s rate-limit window down to this.
pub const WINDOW: Duration = Duration::from_secs(1);

/// A simulator serving the small tenant with one-second windows.
pub async fn simulator() -> SimHandle {
    simulator_with(SimConfig::default().with_window(WINDOW)).await
}

/// A simulator serving the small tenant with `config`.
pub async fn simulator_with(config: SimConfig) -> SimHandle {
    Simulator::start(Tenant::generate(&TenantSpec::small()), config)
        .await
        .expect("simulator starts")
}

/// The users whose approvals the tests copy: the heavy first user (two pages in one
/// topic) and four ordinary ones.
pub fn approval_users(sim: &SimHandle) -> Vec<String> {
    sim.with_tenant(|t| t.users.iter().take(5).cloned().collect())
}

/// Client settings for `sim`, with its window and quick retries.
pub fn client_settings(sim: &SimHandle) -> ClientSettings {
    let config = sim.config();
    let mut feishu = Config::default().feishu;
    feishu.base_url = sim.base_url();
    feishu.app_id = config.app_id.clone();
    feishu.app_secret = SecretString::from(config.app_secret.clone());
    feishu.request_timeout_secs = 5;
    let mut settings = ClientSettings::from_config(&feishu);
    settings.rate_window = WINDOW;
    settings.retry = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
        .with_max_times(5)
        .with_jitter();
    settings
}

/// Stream settings for the tests: every stream on, approvals of [`approval_users`].
pub fn streams_config(sim: &SimHandle) -> StreamsConfig {
    let mut streams = StreamsConfig::default();
    streams.approval_tasks.user_ids = approval_users(sim);
    streams
}

/// A sync context against `sim` and the test's database.
pub fn context(pool: &PgPool, sim: &SimHandle) -> SyncContext {
    context_with(pool, client_settings(sim), streams_config(sim))
}

/// A sync context with explicit settings. Logs go to the test's output (`RUST_LOG`).
pub fn context_with(
    pool: &PgPool,
    settings: ClientSettings,
    streams: StreamsConfig,
) -> SyncContext {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    // Built as the commands build theirs, over the migrated database `#[sqlx::test]` made.
    Application::with_pool(pool.clone(), settings)
        .expect("client builds")
        .sync_context(streams, CancellationToken::new())
}

/// One journaled pass over every stream.
pub async fn sync_all(ctx: &SyncContext, mode: ReadMode) -> Vec<StreamReport> {
    sync::run_pass(ctx, &Endpoint::ALL, &mode)
        .await
        .expect("sync pass runs")
}

/// Asserts every stream of a pass succeeded, showing the errors otherwise.
pub fn assert_all_succeeded(reports: &[StreamReport]) {
    for report in reports {
        assert_eq!(
            report.status,
            RunStatus::Succeeded,
            "{}: {:?}",
            report.stream,
            report.error
        );
    }
}

/// The report of one stream.
pub fn report(reports: &[StreamReport], stream: Endpoint) -> &StreamReport {
    reports
        .iter()
        .find(|r| r.stream == stream)
        .expect("stream ran")
}

/// Rows of a query returning one `jsonb` column, sorted, for comparisons.
pub async fn json_rows(pool: &PgPool, sql: &'static str) -> Vec<Value> {
    let mut rows: Vec<Value> = sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("query runs");
    rows.sort_by_key(|v| v.to_string());
    rows
}

/// Asserts that every table holds exactly the simulator's current data, values included.
pub async fn assert_tables_match(pool: &PgPool, sim: &SimHandle) {
    assert_tables_match_for(pool, sim, &approval_users(sim)).await;
}

/// [`assert_tables_match`] when the approvals of `approval_users` were read.
pub async fn assert_tables_match_for(pool: &PgPool, sim: &SimHandle, approval_users: &[String]) {
    let tenant = sim.with_tenant(|t| t.clone());
    for (table, sql, expected) in expected::tables(&tenant, approval_users) {
        let actual = json_rows(pool, sql).await;
        assert_eq!(actual.len(), expected.len(), "row count of {table}");
        for (a, e) in actual.iter().zip(&expected) {
            assert_eq!(a, e, "a row of {table} differs");
        }
    }
}

/// Asserts one table holds exactly the simulator's current data (the others may not).
pub async fn assert_table_matches(pool: &PgPool, sim: &SimHandle, name: &str) {
    let tenant = sim.with_tenant(|t| t.clone());
    let checks = expected::tables(&tenant, &approval_users(sim));
    let (_, sql, expected) = checks
        .into_iter()
        .find(|c| c.0 == name)
        .expect("a known table");
    assert_eq!(json_rows(pool, sql).await, expected, "rows of {name}");
}

/// Asserts the stage-task counts equal the simulator's, as after a whole-semester read.
pub async fn assert_counts_match(pool: &PgPool, sim: &SimHandle) {
    let expected = sim.with_tenant(|t| expected::sorted(expected::stage_task_counts(t)));
    let actual = json_rows(pool, expected::STAGE_TASK_COUNTS_SQL).await;
    assert_eq!(actual, expected, "stage_task_counts");
}

/// Successful requests of `endpoint` without the incremental `filter` parameter (first
/// passes and backfills) that repeat an earlier one exactly: pages read twice.
pub fn pages_read_again(sim: &SimHandle, endpoint: Endpoint, filter: &str) -> usize {
    let mut seen = std::collections::HashSet::new();
    sim.requests()
        .into_iter()
        .filter(|r| r.endpoint == endpoint && r.status == 200 && r.code == 0)
        .filter(|r| {
            let in_query = r.query.iter().any(|(k, _)| k == filter);
            let in_body = r.body.as_ref().is_some_and(|b| b.get(filter).is_some());
            !in_query && !in_body
        })
        .filter(|r| !seen.insert(format!("{:?} {:?}", r.query, r.body)))
        .count()
}

/// Whether `feishu.tasks` holds task `id` as completed (`complete_time` set).
pub async fn task_completed(pool: &PgPool, id: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT complete_time IS NOT NULL FROM feishu.tasks WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A stage task of the tenant whose deadline is recent, so a watermark can see it change.
pub fn recent_stage_task(tasks: &mut [StageTask]) -> &mut StageTask {
    let now = chrono::Utc::now().timestamp_millis();
    tasks
        .iter_mut()
        .find(|t| (t.deadline_ms - now).abs() < 7 * 24 * 3_600_000)
        .expect("a recent deadline")
}
