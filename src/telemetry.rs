//! Logging: human-readable lines or JSON on stderr, filtered by `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. Default level `info` (`warn` when `progress` bars will
/// say the same on a terminal); sqlx's per-query logs are quiet. `RUST_LOG` overrides.
pub fn init(format: LogFormat, progress: bool) {
    let default = if progress && format == LogFormat::Text {
        "warn"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},sqlx=warn,hyper=warn,reqwest=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
