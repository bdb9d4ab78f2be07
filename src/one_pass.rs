//! One pass over the selected streams, as `feishu-sync sync` and `demo` run it: connect,
//! migrate, build the client, run the streams parents first, then report one line each.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{SweepArg, SyncArgs};
use crate::config::Config;
use crate::db::{self, RunStatus};
use crate::feishu::{ClientSettings, Endpoint, FeishuClient};
use crate::sync::{self, RunOptions, StreamReport, SyncContext};

/// Connects, migrates and runs one pass of the streams `args` selects.
pub async fn run(
    config: &Config,
    settings: ClientSettings,
    args: &SyncArgs,
) -> anyhow::Result<Vec<StreamReport>> {
    let streams = selected_streams(config, &args.named_streams(), args.sweep)?;
    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let id_type = &config.feishu.user_id_type;
    if args.reset_ids {
        crate::sync_state::reset_user_ids(&pool, id_type).await?;
    }
    crate::sync_state::check_user_id_type(&pool, id_type).await?;
    let client = Arc::new(FeishuClient::new(settings).context("building the HTTP client")?);
    crate::learned_ceilings::load(&pool, &client).await;
    // Refused credentials fail every stream the same way: say so once, before any starts.
    if let Err(error) = client.ensure_token().await
        && error.refuses_credentials()
    {
        return Err(anyhow::Error::new(error));
    }
    let ctx = SyncContext::new(pool, client, config.streams.clone());
    let progress = crate::progress::ProgressDisplay::start(ctx.metrics.clone(), &streams);
    let opts = RunOptions {
        backfill: args.backfill,
        since: args.since,
        sweep: args.sweep.map(SweepArg::sweep).unwrap_or_default(),
    };
    let reports = sync::sync(&ctx, &streams, &opts).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    reports
}

/// The streams named on the command line, or every enabled one; with a sweep, only the
/// streams that have it (naming one that has not is refused).
fn selected_streams(
    config: &Config,
    named: &[Endpoint],
    sweep: Option<SweepArg>,
) -> anyhow::Result<Vec<Endpoint>> {
    let has_sweep = |stream: Endpoint| match sweep {
        None => true,
        Some(sweep) => config
            .streams
            .sweeps()
            .iter()
            .any(|(s, kind, _, _)| *s == stream && *kind == sweep.sweep()),
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
                sweep.cli_name(),
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
