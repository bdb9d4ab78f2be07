//! What each command does, behind the thin `main`: load the configuration, connect,
//! migrate and run the sync pass.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{Cli, Command, SyncArgs};
use crate::config::Config;
use crate::db::{self, RunStatus};
use crate::feishu::{ClientSettings, Endpoint, FeishuClient};
use crate::sync::{self, RunOptions, StreamReport, SyncContext};

/// Runs the parsed command line; the exit code says whether every stream succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate => {
            let config = load_config_for_database(cli.config.as_deref())?;
            let pool = db::connect(&config.database).await?;
            db::migrate(&pool).await?;
            println!(
                "migrations applied to {}",
                db::redact_url(&config.database.url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(args) => {
            let config = load_config(cli.config.as_deref())?;
            let reports =
                sync_with_config(&config, ClientSettings::from_config(&config.feishu), &args)
                    .await?;
            print_reports(&reports);
            Ok(exit_code(&reports))
        }
        Command::Run(args) => {
            let config = load_config(cli.config.as_deref())?;
            let backfill = args.backfill.then_some(RunOptions {
                backfill: true,
                since: args.since,
            });
            crate::service::run(
                &config,
                ClientSettings::from_config(&config.feishu),
                backfill,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            crate::status::run(&config, args.json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck => {
            let config = load_config_for_database(cli.config.as_deref())?;
            crate::status::healthcheck(&config).await
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Bench(args) => crate::bench::run(args).await,
        Command::GrantReader(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            let pool = db::connect(&config.database).await?;
            db::migrate(&pool).await?;
            let password = std::env::var("FEISHU_SYNC_READER_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            crate::grant::grant_reader(&pool, &args.role, password.as_deref()).await?;
            let login = if password.is_some() {
                "can log in"
            } else {
                "cannot log in (grant it to users' roles)"
            };
            println!(
                "role {} may SELECT the feishu tables and nothing else; it {login}",
                args.role
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The validated configuration from `--config` (or `./sync.toml`) and the environment.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = config_path(path);
    Ok(Config::load(&path, required)?)
}

/// The configuration for commands that only read the database (`status`, `healthcheck`).
pub fn load_config_for_database(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = config_path(path);
    Ok(Config::load_for_database(&path, required)?)
}

/// `--config PATH` must exist; the default `./sync.toml` may be absent.
fn config_path(path: Option<&Path>) -> (PathBuf, bool) {
    match path {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from("sync.toml"), false),
    }
}

/// Connects, migrates and runs one pass of the streams `args` selects.
pub async fn sync_with_config(
    config: &Config,
    settings: ClientSettings,
    args: &SyncArgs,
) -> anyhow::Result<Vec<StreamReport>> {
    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let client = Arc::new(FeishuClient::new(settings).context("building the HTTP client")?);
    let ctx = SyncContext::new(pool, client, config.streams.clone());
    let streams = selected_streams(config, &args.streams);
    let progress = crate::progress::ProgressDisplay::start(ctx.metrics.clone(), &streams);
    let opts = RunOptions {
        backfill: args.backfill,
        since: args.since,
    };
    let reports = sync::sync(&ctx, &streams, &opts).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    reports
}

/// The streams named on the command line, or every enabled one.
fn selected_streams(config: &Config, named: &[Endpoint]) -> Vec<Endpoint> {
    if named.is_empty() {
        Endpoint::ALL
            .into_iter()
            .filter(|e| config.streams.enabled(*e))
            .collect()
    } else {
        named.to_vec()
    }
}

/// Success only if every stream succeeded.
pub fn exit_code(reports: &[StreamReport]) -> ExitCode {
    if reports.iter().all(|r| r.status == RunStatus::Succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line per stream run on stdout, then each error in full.
pub fn print_reports(reports: &[StreamReport]) {
    println!(
        "{:<15} {:<11} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "stream", "status", "pages", "written", "retired", "rejected", "requests", "seconds"
    );
    for r in reports {
        println!(
            "{:<15} {:<11} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9.1}",
            r.stream.name(),
            r.status.as_str(),
            r.counts.pages,
            r.counts.rows_written,
            r.counts.rows_retired,
            r.counts.rows_rejected,
            r.requests,
            r.duration.as_secs_f64()
        );
    }
    for r in reports.iter().filter(|r| r.error.is_some()) {
        println!(
            "\n{} {}: {}",
            r.stream.name(),
            r.status.as_str(),
            r.error.as_deref().unwrap_or_default()
        );
    }
}
