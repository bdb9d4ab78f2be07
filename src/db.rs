//! The database side shared by every stream: the pool, migrations and the `sync_runs`
//! journal. Watermarks and resume cursors live in [`crate::sync_state`].

use anyhow::Context;
use sqlx::PgPool;
use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

use crate::config::DatabaseConfig;

/// The schema's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How feishu-sync connects to `url`. Its sessions commit with `synchronous_commit = off`:
/// a commit returns before its WAL reaches disk, which saves a flush per page. A server
/// crash (not a clean restart) can then lose the last fraction of a second of commits,
/// but every page commits its rows together with its resume cursor and watermark, so what
/// is lost is lost consistently and the next run reads it again. Nothing is corrupted.
pub fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).with_context(|| {
        format!(
            "database.url is not a valid PostgreSQL URL: {}",
            redact_url(url)
        )
    })?;
    Ok(options.options([("synchronous_commit", "off")]))
}

/// Connects to `database.url`. One direct attempt comes first: the pool would retry a
/// refused connection until its 10 s acquire timeout and then say only "pool timed out".
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    if let Some(warning) = tls_warning(config.url()) {
        tracing::warn!(database = %config.redacted_url(), "{warning}");
    }
    let options = connect_options(config.url())?;
    let failed = |error: sqlx::Error| {
        anyhow::anyhow!(
            "cannot connect to the database at {}: {}; is PostgreSQL running and database.url right?",
            config.redacted_url(),
            connect_error_text(&error)
        )
    };
    let first = PgConnection::connect_with(&options).await.map_err(failed)?;
    first.close().await.ok();
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(failed)
}

/// The cause of a failed connection, said once: sqlx's own text repeats the server's
/// message after its prefix ("error returned from database: X: X" in a chain).
pub fn connect_error_text(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// A warning when a database on another host is reached with an `sslmode` that does not
/// verify the server (absent, which means `prefer`, or `prefer`, `allow`, `disable`): the
/// password and the data could then be read or changed on the way.
pub fn tls_warning(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']']);
    let local = host.is_empty()
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || parsed
            .query_pairs()
            .any(|(k, v)| k == "host" && v.starts_with('/'));
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "sslmode")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "prefer".to_string());
    let unverified = matches!(mode.as_str(), "prefer" | "allow" | "disable");
    (!local && unverified).then(|| {
        format!(
            "database.url reaches {host} with sslmode={mode}, which does not verify the server: \
             use sslmode=verify-full&sslrootcert=/path/to/ca.pem for a remote database"
        )
    })
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")
}

pub use crate::config::redact_url;

/// Final state of one stream run, as stored in `sync_runs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Partial,
    Interrupted,
}

impl RunStatus {
    /// The value stored in `sync_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Partial => "partial",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What one stream run did, for `sync_runs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub pages: u64,
    pub rows_written: u64,
    pub rows_retired: u64,
    /// Malformed records skipped (filed in `feishu.sync_errors`).
    pub rows_rejected: u64,
}

impl RunCounts {
    /// Adds another partition's counts.
    pub fn add(&mut self, other: RunCounts) {
        self.pages += other.pages;
        self.rows_written += other.rows_written;
        self.rows_retired += other.rows_retired;
        self.rows_rejected += other.rows_rejected;
    }
}

/// What a run cost in Feishu API calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCost {
    /// HTTP requests sent, retries and waits included.
    pub requests: u64,
    /// Of those, answered with the frequency limit.
    pub rate_limited: u64,
}

/// Opens a `running` row for a stream run and returns its id.
pub async fn start_run(
    pool: &PgPool,
    stream: &str,
    backfill: bool,
    sweep: Option<&str>,
) -> anyhow::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO feishu.sync_runs (stream, backfill, sweep) VALUES ($1, $2, $3) RETURNING id",
        stream,
        backfill,
        sweep
    )
    .fetch_one(pool)
    .await
    .context("recording the start of a run in feishu.sync_runs")?;
    Ok(id)
}

/// Opens a `running` row for a re-read that events started (`trigger = 'event'`).
pub async fn start_event_run(pool: &PgPool, stream: &str) -> anyhow::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO feishu.sync_runs (stream, backfill, trigger) VALUES ($1, false, 'event') RETURNING id",
        stream
    )
    .fetch_one(pool)
    .await
    .context("recording the start of an event-driven run in feishu.sync_runs")?;
    Ok(id)
}

/// Closes a run row with its outcome.
pub async fn finish_run(
    pool: &PgPool,
    run_id: i64,
    status: RunStatus,
    counts: RunCounts,
    cost: ApiCost,
    error: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE feishu.sync_runs
            SET finished_at = now(), status = $2, pages = $3, rows_written = $4,
                rows_retired = $5, requests = $6, error = $7, rows_rejected = $8,
                rate_limited_requests = $9
          WHERE id = $1",
        run_id,
        status.as_str(),
        i32::try_from(counts.pages).unwrap_or(i32::MAX),
        counts.rows_written as i64,
        counts.rows_retired as i64,
        cost.requests as i64,
        error,
        counts.rows_rejected as i64,
        cost.rate_limited as i64
    )
    .execute(pool)
    .await
    .context("recording the end of a run in feishu.sync_runs")?;
    Ok(())
}

/// Records on a run the rate at which its endpoint's frequency limits came (requests per
/// minute), for `status` to compare with the configuration.
pub async fn record_rate_ceiling(
    pool: &PgPool,
    run_id: i64,
    per_minute: i32,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE feishu.sync_runs SET rate_ceiling_per_minute = $2 WHERE id = $1",
        run_id,
        per_minute
    )
    .execute(pool)
    .await
    .context("recording the learned rate ceiling in feishu.sync_runs")?;
    Ok(())
}

/// Row counts of one table: current rows and rows retired by `deleted_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub current: i64,
    pub retired: i64,
}

/// Current and retired rows of every entity table (see [`crate::tables`]), for summaries.
pub async fn table_counts(pool: &PgPool) -> anyhow::Result<Vec<TableCount>> {
    // Table names come from the registry; they cannot be bind parameters.
    let selects: Vec<String> = crate::tables::ENTITY_TABLES
        .iter()
        .map(|t| match t.retires {
            true => format!(
                "SELECT '{0}', count(*) FILTER (WHERE deleted_at IS NULL),
                        count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM feishu.{0}",
                t.name
            ),
            false => format!("SELECT '{0}', count(*), 0::bigint FROM feishu.{0}", t.name),
        })
        .collect();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&selects.join(" UNION ALL "))
        .fetch_all(pool)
        .await
        .context("counting rows")?;
    Ok(rows
        .into_iter()
        .map(|(table, current, retired)| TableCount {
            table,
            current,
            retired,
        })
        .collect())
}

/// Retirement compares a table's rows with the keys a pass has seen, passed as arrays.
/// The planner cannot know how many keys an array parameter holds and, guessing few,
/// picks a nested loop that is quadratic in the partition's size; for the rest of the
/// transaction this steers it to a hash anti-join instead.
pub async fn prefer_hash_joins(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::query!("SET LOCAL enable_nestloop = off")
        .execute(tx)
        .await
        .context("preparing the retirement query")?;
    Ok(())
}

/// How a parent stream's passes stand against its child's: the parent's last finished
/// run, and whether it finished after the child's last succeeded run began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRun {
    /// `None`: the parent never finished a run.
    pub last_status: Option<String>,
    /// The last finished parent run ended after the child's last succeeded run started
    /// (or the child never succeeded).
    pub since_child: bool,
}

/// The parent's last finished run, compared with the child's last succeeded one.
pub async fn parent_run(pool: &PgPool, parent: &str, child: &str) -> anyhow::Result<ParentRun> {
    let row = sqlx::query!(
        r#"SELECT p.status AS "status?",
                  p.finished_at > coalesce(
                      (SELECT max(c.started_at) FROM feishu.sync_runs c
                        WHERE c.stream = $2 AND c.status = 'succeeded'), '-infinity') AS "since_child?"
             FROM (SELECT status, finished_at FROM feishu.sync_runs
                    WHERE stream = $1 AND finished_at IS NOT NULL
                    ORDER BY finished_at DESC LIMIT 1) p"#,
        parent,
        child
    )
    .fetch_optional(pool)
    .await
    .context("reading the parent stream's last run")?;
    Ok(match row {
        None => ParentRun {
            last_status: None,
            since_child: false,
        },
        Some(r) => ParentRun {
            last_status: r.status,
            since_child: r.since_child.unwrap_or(false),
        },
    })
}

#[cfg(test)]
mod tls_tests {
    use super::tls_warning;

    #[test]
    fn a_remote_database_without_verified_tls_is_warned_about() {
        assert!(
            tls_warning("postgres://u:p@db.internal/feishu").is_some(),
            "prefer by default"
        );
        assert!(
            tls_warning("postgres://u@10.0.0.5/f?sslmode=require").is_none(),
            "require encrypts"
        );
        assert!(
            tls_warning("postgres://u@db/f?sslmode=disable")
                .unwrap()
                .contains("sslmode=disable")
        );
        assert!(tls_warning("postgres://u@db/f?sslmode=verify-full&sslrootcert=/ca.pem").is_none());
        assert!(
            tls_warning("postgres://u@127.0.0.1:5432/f").is_none(),
            "local"
        );
        assert!(tls_warning("postgres://u@localhost/f?sslmode=disable").is_none());
        assert!(tls_warning("postgres://u@[::1]/f").is_none());
    }
}
