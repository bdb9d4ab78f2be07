//! `feishu-sync sync`: one pass over the selected streams (every enabled one by default),
//! parents first, then one line per stream. `demo` runs the same pass. The pass itself,
//! per stream, is [`crate::sync::run_pass`]; this module is the command around it.

use std::process::ExitCode;

use crate::cli::SyncArgs;
use crate::config::{Config, Sweep};
use crate::db::RunStatus;
use crate::feishu::{ClientSettings, Endpoint};
use crate::shutdown::CancellationToken;
use crate::startup::Application;
use crate::sync::{self, ReadMode, StreamReport};

/// Runs `sync`: the exit code says whether every stream succeeded. A `--sweep` that does
/// not apply is refused before anything connects.
pub async fn execute(config: &Config, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let streams = selected_streams(config, &args.named_streams(), args.sweep)?;
    let settings = ClientSettings::from_config(&config.feishu);
    let app = Application::build(&config.database, settings).await?;
    let reports = one_pass(&app, config, &streams, &args.read_mode(), args.reset_ids).await?;
    print_reports(&reports);
    Ok(exit_code(&reports))
}

/// One pass of `streams` read as `mode` says (after emptying the tables keyed by user
/// ids, if `reset_ids`), with progress lines on a terminal. Refused when the database was
/// written under another `user_id_type`, or when Feishu refuses the credentials (said
/// once, not per stream).
pub async fn one_pass(
    app: &Application,
    config: &Config,
    streams: &[Endpoint],
    mode: &ReadMode,
    reset_ids: bool,
) -> anyhow::Result<Vec<StreamReport>> {
    let id_type = config.feishu.user_id_type;
    if reset_ids {
        crate::user_id_setting::reset_user_ids(&app.pool, id_type).await?;
    }
    crate::user_id_setting::check_user_id_type(&app.pool, id_type).await?;
    // Refused credentials fail every stream the same way: say so once, before any starts.
    if let Err(error) = app.client.ensure_token().await
        && error.refuses_credentials()
    {
        return Err(anyhow::Error::new(error));
    }
    let ctx = app.sync_context(config.streams.clone(), CancellationToken::new());
    let progress = crate::progress::ProgressDisplay::start(ctx.metrics.clone(), streams);
    let reports = sync::run_pass(&ctx, streams, mode).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    reports
}

/// The streams named on the command line, or every enabled one; with a sweep, only the
/// streams that have it (naming one that has not is refused).
pub fn selected_streams(
    config: &Config,
    named: &[Endpoint],
    sweep: Option<Sweep>,
) -> anyhow::Result<Vec<Endpoint>> {
    let has_sweep = |stream: Endpoint| match sweep {
        None => true,
        Some(sweep) => config
            .streams
            .sweeps()
            .iter()
            .any(|(s, kind, _, _)| *s == stream && *kind == sweep),
    };
    if let Some(sweep) = sweep {
        let without: Vec<&str> = named
            .iter()
            .filter(|s| !has_sweep(**s))
            .map(|s| s.name())
            .collect();
        if !without.is_empty() {
            let with: Vec<&str> = Endpoint::ALL
                .into_iter()
                .filter(|s| has_sweep(*s))
                .map(Endpoint::name)
                .collect();
            anyhow::bail!(
                "--sweep {} does not apply to {}: only {} have it",
                crate::cli::sweep_cli_name(sweep),
                without.join(", "),
                with.join(" and ")
            );
        }
    }
    Ok(if named.is_empty() {
        Endpoint::ALL
            .into_iter()
            .filter(|e| config.streams.enabled(*e) && has_sweep(*e))
            .collect()
    } else {
        named.to_vec()
    })
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
    crate::outln!(
        "{:<15} {:<11} {:>6} {:>9} {:>8} {:>9} {:>9} {:>8} {:>9}",
        "stream",
        "status",
        "pages",
        "written",
        "retired",
        "rejected",
        "requests",
        "limited",
        "seconds"
    );
    for r in reports {
        crate::outln!(
            "{:<15} {:<11} {:>6} {:>9} {:>8} {:>9} {:>9} {:>8} {:>9.1}",
            r.stream.name(),
            r.status.as_str(),
            r.counts.pages,
            r.counts.rows_written,
            r.counts.rows_retired,
            r.counts.rows_rejected,
            r.requests,
            r.rate_limited,
            r.duration.as_secs_f64()
        );
    }
    for r in reports.iter().filter(|r| r.error.is_some()) {
        crate::outln!(
            "\n{} {}: {}",
            r.stream.name(),
            r.status.as_str(),
            r.error.as_deref().unwrap_or_default()
        );
    }
}
