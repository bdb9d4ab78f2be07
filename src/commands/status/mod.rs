//! `feishu-sync status`: each stream's last run, watermarks and next scheduled time, as a
//! table or JSON; with `--check`, the problems a monitor should hear about.

use std::process::ExitCode;

use chrono::Utc;
use sqlx::PgPool;

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::db;

mod check;
mod collect;
mod table;

pub use check::{check, default_max_age};
pub use collect::{LastRun, StreamStatus, collect};
pub use table::render_table;
use table::{print_table, time};

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

#[cfg(test)]
mod tests;
