//! The shutdown signal, broadcast to every stream run: runs stop between pages, commit what
//! they have and record themselves as interrupted.

use tokio::sync::watch;

/// Sends the shutdown signal; dropping it does not trigger anything.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Receives the shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The error a run returns when it stopped because of a shutdown.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by shutdown")]
pub struct Interrupted;

impl ShutdownTrigger {
    /// Tells every [`Shutdown`] to stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// A connected trigger and signal.
    pub fn channel() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// A signal that never fires, for one-off passes and tests.
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx); // keep the channel open: a closed one would read as "fired"
        Shutdown(rx)
    }

    /// Whether shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested (or its trigger is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|fired| *fired).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_trigger_reaches_every_clone() {
        let (trigger, signal) = Shutdown::channel();
        let mut other = signal.clone();

        assert!(!signal.is_triggered());
        trigger.trigger();
        other.wait().await;

        assert!(signal.is_triggered() && other.is_triggered());
        assert!(!Shutdown::never().is_triggered());
    }
}
