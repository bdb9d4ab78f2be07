//! The service's start-up gate on the app's credentials: when Feishu refuses them (10014
//! app secret invalid, 10003, …) no stream could run, so none is scheduled. The service
//! stays up, `/readyz` answers 503 naming the refusal, and the token is asked for again
//! with a growing pause (30 s doubling to 30 min), one log line per attempt. A fixed
//! secret (a rotated Kubernetes secret, say) is picked up without a restart only if the
//! configuration is re-read, so the log says to restart after fixing it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::feishu::FeishuClient;
use crate::shutdown::CancellationToken;

/// The refusal `/readyz` reports while the gate is closed.
pub type CredentialsProblem = Arc<Mutex<Option<String>>>;

/// The first pause after a refusal; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(30);
const MAX_PAUSE: Duration = Duration::from_secs(30 * 60);

/// Returns once a token is granted (or the refusal is not about credentials: a network
/// failure is the runs' to retry), or `false` if a shutdown came first.
pub async fn wait_until_accepted(
    client: &FeishuClient,
    problem: &CredentialsProblem,
    shutdown: &CancellationToken,
) -> bool {
    let mut pause = FIRST_PAUSE;
    loop {
        match client.ensure_token().await {
            Err(error) if error.refuses_credentials() => {
                tracing::error!(
                    retry_in_secs = pause.as_secs(),
                    "{error}; no stream is scheduled until Feishu accepts the credentials (fix them and restart)"
                );
                *problem.lock().expect("not poisoned") = Some(error.to_string());
            }
            _ => {
                *problem.lock().expect("not poisoned") = None;
                return true;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
