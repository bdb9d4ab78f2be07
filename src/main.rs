//! The `feishu-sync` binary: parse the command line, start logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use feishu_sync::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let progress = cli.command.draws_progress() && feishu_sync::progress::enabled();
    feishu_sync::telemetry::init(cli.log_format, progress);
    match feishu_sync::app::dispatch(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
