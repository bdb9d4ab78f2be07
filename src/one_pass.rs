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
    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let id_type = &config.feishu.user_id_type;
    if args.reset_ids {
        crate::sync_state::reset_user_ids(&pool, id_type).await?;
    }
    crate::sync_state::check_user_id_type(&pool, id_type).await?;
    let client = Arc::new(FeishuClient::new(settings).context("building the HTTP client")?);
    let ctx = SyncContext::new(pool, client, config.streams.clone());
    let mut streams = selected_streams(config, &args.named_streams());
    if args.sweep == Some(SweepArg::OpenTasks) {
        // The open-task sweep is task v1's alone.
        streams.retain(|s| *s == Endpoint::Tasks);
    }
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
        println!(
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
        println!(
            "\n{} {}: {}",
            r.stream.name(),
            r.status.as_str(),
            r.error.as_deref().unwrap_or_default()
        );
    }
}
