//! What each command does, behind the thin `main`: load the configuration, then hand over
//! to the module that owns the command (`one_pass`, `service`, `status`, `grant`, and with
//! the `simulator` feature `demo` and `bench`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::commands;
use crate::config::Config;
use crate::db;
use crate::feishu::ClientSettings;
use crate::one_pass;

/// Runs the parsed command line; the exit code says whether every stream succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate => {
            let config = load_config_for_database(cli.config.as_deref())?;
            let pool = db::connect(&config.database).await?;
            db::migrate(&pool).await?;
            crate::outln!("migrations applied to {}", config.database.redacted_url());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(args) => {
            let config = load_config(cli.config.as_deref())?;
            eprintln!("{}", startup_line(&config, cli.config.as_deref()));
            let settings = ClientSettings::from_config(&config.feishu);
            let (named, mode) = (args.named_streams(), args.read_mode());
            let reports = one_pass::run(&config, settings, &named, &mode, args.reset_ids).await?;
            one_pass::print_reports(&reports);
            Ok(one_pass::exit_code(&reports))
        }
        Command::Run(args) => {
            let (path, required) = config_path(cli.config.as_deref());
            let config = match Config::load(&path, required) {
                Ok(config) => config,
                // Exiting would make a container restart policy loop; stay up, unhealthy,
                // saying why, until stopped.
                Err(error) => {
                    let listen = Config::listen_address_despite_errors(&path, required);
                    return crate::service::http::serve_config_error(&listen, &error).await;
                }
            };
            tracing::info!("{}", startup_line(&config, cli.config.as_deref()));
            let backfill = args.backfill_mode();
            crate::service::run(
                &config,
                ClientSettings::from_config(&config.feishu),
                backfill,
            )
            .await
        }
        Command::Status(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            crate::status::run(&config, &args).await
        }
        Command::Healthcheck(args) => {
            let (path, required) = config_path(cli.config.as_deref());
            let config = Config::load_for_probe(&path, required)?;
            crate::status::healthcheck(&config, args.probe).await
        }
        #[cfg(feature = "simulator")]
        Command::Demo(args) => crate::demo::run(args).await,
        #[cfg(feature = "simulator")]
        Command::Bench(args) => crate::bench::run(args).await,
        Command::GrantReader(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            let pool = db::connect(&config.database).await?;
            db::migrate(&pool).await?;
            let password = std::env::var("FEISHU_SYNC_READER_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let options = crate::grant::GrantOptions {
                force: args.force,
                operational: args.operational,
            };
            let report =
                crate::grant::grant_reader(&pool, &args.role, password.as_deref(), options).await?;
            print_grant(&args.role, &report, options);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let (path, required) = config_path(cli.config.as_deref());
            commands::check::run(&path, required).await
        }
        Command::DbtSources(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            commands::dbt_sources::run(&config, &args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reset(args) => {
            let config = load_config_for_database(cli.config.as_deref())?;
            commands::reset::run(&config, &args).await
        }
        Command::Completions(args) => {
            commands::completions::run_completions(args.shell)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            commands::completions::run_man()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(args) => match args.command {
            ConfigCommand::Schema => {
                commands::config_schema::run()?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// What `grant-reader` did, in words.
fn print_grant(
    role: &str,
    report: &crate::grant::GrantReport,
    options: crate::grant::GrantOptions,
) {
    let what = match options.operational {
        true => "the feishu tables, views and functions, operational tables included",
        false => {
            "the feishu analytics tables, views and as-of functions (not sync_state, sync_settings, sync_errors)"
        }
    };
    let login = match report.can_login {
        true => "it can log in",
        false => "it cannot log in (grant it to users' roles)",
    };
    let made = match report.existed {
        true => "existing role",
        false => "new role",
    };
    crate::outln!("{made} {role} may SELECT {what}; {login}");
    if !report.kept.is_empty() {
        crate::outln!(
            "warning: --force: {role} keeps what makes it more than a reader: {}",
            report.kept.join("; ")
        );
    }
    crate::outln!("note: {}", report.public_note);
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
