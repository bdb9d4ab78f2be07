//! Dispatch, behind the thin `main`: load the configuration each command needs (in full,
//! for the database only, or for the probe), then hand over to the command's module in
//! [`crate::commands`]. What the commands share is built in [`crate::startup`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand, RunArgs};
use crate::commands;
use crate::config::Config;
use crate::feishu::ClientSettings;

/// Runs the parsed command line; the exit code says whether the command succeeded (for
/// `sync`, whether every stream did).
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Migrate => commands::migrate::execute(&load_config_for_database(path)?).await,
        Command::Sync(args) => {
            let config = load_config(path)?;
            eprintln!("{}", startup_line(&config, path));
            commands::sync::execute(&config, &args).await
        }
        Command::Run(args) => start_service(path, &args).await,
        Command::Status(args) => {
            commands::status::execute(&load_config_for_database(path)?, &args).await
        }
        Command::Healthcheck(args) => {
            let (path, required) = config_path(path);
            let config = Config::load_for_probe(&path, required)?;
            commands::healthcheck::execute(&config, args.probe).await
        }
        #[cfg(feature = "simulator")]
        Command::Demo(args) => commands::demo::execute(args).await,
        #[cfg(feature = "simulator")]
        Command::Bench(args) => commands::bench::execute(args).await,
        Command::GrantReader(args) => {
            commands::grant_reader::execute(&load_config_for_database(path)?, &args).await
        }
        Command::Check => {
            let (path, required) = config_path(path);
            commands::check::execute(&path, required).await
        }
        Command::DbtSources(args) => {
            commands::dbt_sources::execute(&load_config_for_database(path)?, &args).await
        }
        Command::Reset(args) => {
            commands::reset::execute(&load_config_for_database(path)?, &args).await
        }
        Command::Completions(args) => commands::completions::execute(args.shell),
        Command::Man => commands::completions::execute_man(),
        Command::Config(args) => match args.command {
            ConfigCommand::Schema => commands::config_schema::execute(),
        },
    }
}

/// `run`. An invalid configuration does not exit, which a container restart policy would
/// turn into a loop: the process stays up, unhealthy, saying why, until stopped.
async fn start_service(path: Option<&Path>, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (file, required) = config_path(path);
    let config = match Config::load(&file, required) {
        Ok(config) => config,
        Err(error) => {
            let listen = Config::listen_address_despite_errors(&file, required);
            return commands::run::http::serve_config_error(&listen, &error).await;
        }
    };
    tracing::info!("{}", startup_line(&config, path));
    commands::run::execute(
        &config,
        ClientSettings::from_config(&config.feishu),
        args.backfill_mode(),
    )
    .await
}

/// The validated configuration from `--config` (or `./sync.toml`) and the environment.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = config_path(path);
    Ok(Config::load(&path, required)?)
}

/// The configuration for commands that only use the database (`status`, `migrate`, …).
pub fn load_config_for_database(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = config_path(path);
    Ok(Config::load_for_database(&path, required)?)
}

/// The start-up line: version, config file, database and Feishu URL with their sources.
fn startup_line(config: &Config, path: Option<&Path>) -> String {
    let env = std::env::vars().collect();
    config.startup_line(&config_path(path).0, &env)
}

/// `--config PATH` must exist; the default `./sync.toml` may be absent.
fn config_path(path: Option<&Path>) -> (PathBuf, bool) {
    match path {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from("sync.toml"), false),
    }
}
