//! Shutdown: one `tokio_util` [`CancellationToken`] that every stream run and schedule loop
//! holds a clone of. Runs stop between pages, commit what they have and record themselves
//! as interrupted.

pub use tokio_util::sync::CancellationToken;

/// The error a run returns when it stopped because of a shutdown.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by shutdown")]
pub struct Interrupted;

/// Cancels `token` on SIGTERM or SIGINT.
pub async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("signal received");
    token.cancel();
}
