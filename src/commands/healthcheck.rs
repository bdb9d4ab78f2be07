//! `feishu-sync healthcheck`: asks a running service's `/livez` or `/readyz`, for
//! container health checks; exit 0 only if it answers 200.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::Probe;
use crate::config::Config;

/// Asks the service at `server.listen` for `probe`; success only on HTTP 200.
pub async fn execute(config: &Config, probe: Probe) -> anyhow::Result<ExitCode> {
    let mut address: std::net::SocketAddr =
        config.server.listen.parse().context("server.listen")?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{address}{}", probe.path());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => Ok(ExitCode::SUCCESS),
        Ok(response) => {
            let status = response.status();
            eprintln!(
                "unhealthy: {url} answered {status}: {}",
                response.text().await.unwrap_or_default().trim()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("unhealthy: {url} did not answer: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
