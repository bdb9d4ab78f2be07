//! One Postgres advisory lock per stream, so no two writers of a stream (replicas of `run`,
//! a one-off `sync` beside the service) ever run it at the same time against one database.
//! The lock lives on a connection of its own: if the process dies, Postgres closes the
//! session and releases it. While a run holds it, the session is checked every
//! [`CHECK_EVERY`]; a lost session stops the run, which is recorded failed saying so.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPoolOptions, Postgres};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::feishu::Endpoint;
use crate::shutdown::CancellationToken;

/// Advisory-lock key of a stream: a fixed prefix ("FSYN") and a number pinned per stream.
/// Never derived from a list's order: two versions during a rolling deploy must agree on
/// every key, or both could write one stream. The numbers are the positions the streams
/// had when keys were derived from `Endpoint::ALL`, so older versions agree too.
pub fn lock_key(endpoint: Endpoint) -> i64 {
    const PREFIX: i64 = 0x4653_594E_0000_0000;
    let number = match endpoint {
        Endpoint::Semesters => 0,
        Endpoint::Activities => 1,
        Endpoint::StageTasks => 2,
        Endpoint::Departments => 3,
        Endpoint::Users => 4,
        Endpoint::ApprovalTasks => 5,
        Endpoint::Tasks => 6,
        Endpoint::Reviewees => 7,
        Endpoint::ReviewData => 8,
        Endpoint::MetricDetails => 9,
        Endpoint::Indicators => 10,
        Endpoint::MetricFields => 11,
    };
    PREFIX + number
}

/// A pool for lock connections beside `work_pool`, to the same database: one connection
/// per stream, opened when first needed. Its statements are not logged: waiting for a
/// lock is not slow SQL, and sqlx's "slow statement" warning would leak onto the terminal
/// while `sync` waits for the service.
pub fn lock_pool(work_pool: &PgPool) -> PgPool {
    use sqlx::ConnectOptions;
    let options = (*work_pool.connect_options())
        .clone()
        .disable_statement_logging();
    PgPoolOptions::new()
        .max_connections(Endpoint::ALL.len() as u32)
        .min_connections(0)
        .connect_lazy_with(options)
}

/// How often a held lock's session is checked: the longest a lost session goes unnoticed.
/// The check also keeps the session from looking idle to `idle_session_timeout`.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// A check unanswered for this long counts as a lost session (a proxy or network cut
/// that left the socket open).
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// A held stream lock; release it with [`StreamLock::release`]. A watcher task owns its
/// connection meanwhile and checks the session every [`CHECK_EVERY`]: if the session is
/// lost (terminated, timed out, cut off), Postgres has released the lock, another writer
/// may take it, and [`StreamLock::guard`] stops the run.
pub struct StreamLock {
    key: i64,
    /// Asks the watcher for the connection back, to unlock it. Dropped unsent (an error
    /// or a panic on the way), it makes the watcher close the connection instead, which
    /// releases the lock: a lock never goes back to the pool still held.
    release: Option<oneshot::Sender<()>>,
    /// The watcher; it hands the connection back (`None` once the session was lost).
    watcher: Option<JoinHandle<Option<PoolConnection<Postgres>>>>,
    loss: Arc<Loss>,
}

/// Why the lock's session was lost, once the watcher noticed.
#[derive(Default)]
struct Loss {
    reason: OnceLock<String>,
    noticed: CancellationToken,
}

impl StreamLock {
    /// Takes the stream's lock if no session holds it.
    pub async fn try_acquire(
        pool: &PgPool,
        endpoint: Endpoint,
    ) -> anyhow::Result<Option<StreamLock>> {
        let key = lock_key(endpoint);
        let mut conn = pool
            .acquire()
            .await
            .context("acquiring a connection for the stream lock")?;
        let locked = sqlx::query_scalar!("SELECT pg_try_advisory_lock($1) AS \"locked!\"", key)
            .fetch_one(&mut *conn)
            .await
            .context("taking the stream's advisory lock")?;
        Ok(locked.then(|| StreamLock::held(key, endpoint, conn)))
    }

    /// Takes the stream's lock, waiting while another session holds it (logged once).
    /// The wait queues in Postgres, which grants the lock in request order, so a writer
    /// firing often cannot starve this one. `None` if `shutdown` fires first: the waiting
    /// connection is then closed, which withdraws its request.
    pub async fn acquire_waiting(
        pool: &PgPool,
        endpoint: Endpoint,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Option<StreamLock>> {
        if let Some(lock) = StreamLock::try_acquire(pool, endpoint).await? {
            return Ok(Some(lock));
        }
        tracing::warn!(stream = %endpoint, "stream busy: another writer (the service or another sync) is running it; waiting for it to finish");
        let key = lock_key(endpoint);
        let mut conn = pool
            .acquire()
            .await
            .context("acquiring a connection for the stream lock")?;
        let granted = {
            let wait =
                sqlx::query_scalar!(r#"SELECT true AS "locked!" FROM pg_advisory_lock($1)"#, key)
                    .fetch_one(&mut *conn);
            tokio::select! {
                granted = wait => Some(granted),
                _ = shutdown.cancelled() => None,
            }
        };
        match granted {
            Some(granted) => {
                granted.context("waiting for the stream's advisory lock")?;
                Ok(Some(StreamLock::held(key, endpoint, conn)))
            }
            None => {
                drop(conn.detach());
                Ok(None)
            }
        }
    }

    /// The lock held on `conn`, handed to its watcher.
    fn held(key: i64, endpoint: Endpoint, conn: PoolConnection<Postgres>) -> StreamLock {
        let (release, asked) = oneshot::channel();
        let loss = Arc::new(Loss::default());
        let watcher = tokio::spawn(watch(conn, asked, loss.clone(), endpoint));
        StreamLock {
            key,
            release: Some(release),
            watcher: Some(watcher),
            loss,
        }
    }

    /// Why the lock's session was lost, if it was: the run's error.
    pub fn loss(&self) -> Option<String> {
        self.loss.reason.get().cloned()
    }

    /// Runs `work` under the lock. If the lock's session is lost meanwhile, `stop` fires
    /// (runs stop between pages on it, the page in hand aside) and `work` is left to
    /// wind down.
    pub async fn guard<F: Future>(&self, stop: &CancellationToken, work: F) -> F::Output {
        // Boxed: a run's future is large, and a second copy of it here would crowd the
        // stack of a pass that joins a dozen of them.
        let mut work = Box::pin(work);
        tokio::select! {
            done = work.as_mut() => return done,
            _ = self.loss.noticed.cancelled() => stop.cancel(),
        }
        work.await
    }

    /// Releases the lock and returns the connection to the pool. A lock whose session was
    /// lost has nothing left to release.
    pub async fn release(mut self) -> anyhow::Result<()> {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        let Some(watcher) = self.watcher.take() else {
            return Ok(());
        };
        let conn = watcher.await.context("the stream lock's watcher failed")?;
        let Some(mut conn) = conn else {
            return Ok(());
        };
        let unlocked =
            sqlx::query_scalar!("SELECT pg_advisory_unlock($1) AS \"unlocked!\"", self.key)
                .fetch_one(&mut *conn)
                .await;
        if unlocked.is_err() {
            // Closing the session releases the lock the query could not.
            drop(conn.detach());
        }
        unlocked.context("releasing the stream's advisory lock")?;
        Ok(())
    }
}

/// What the watcher waits for next.
enum Next {
    /// The lock is released (`true`) or dropped (`false`).
    Asked(bool),
    /// A check of the session came back.
    Checked(Result<(), String>),
}

/// Checks the session holding `endpoint`'s lock every [`CHECK_EVERY`] until the lock
/// asks for the connection back (`Some`) or is dropped (the connection is closed,
/// `None`). A check that fails or hangs records the loss, says so in the log, and closes
/// the connection.
async fn watch(
    mut conn: PoolConnection<Postgres>,
    mut asked: oneshot::Receiver<()>,
    loss: Arc<Loss>,
    endpoint: Endpoint,
) -> Option<PoolConnection<Postgres>> {
    let why = loop {
        let next = tokio::select! {
            asked = &mut asked => Next::Asked(asked.is_ok()),
            // The check itself is never cut short: the connection stays consistent.
            _ = tokio::time::sleep(CHECK_EVERY) => Next::Checked(check(&mut conn).await),
        };
        match next {
            Next::Asked(true) => return Some(conn),
            Next::Asked(false) => {
                drop(conn.detach());
                return None;
            }
            Next::Checked(Ok(())) => {}
            Next::Checked(Err(why)) => break why,
        }
    };
    let reason = format!(
        "lost the stream lock: its database session ended ({why}), so another writer may run the stream; this run stopped writing"
    );
    tracing::error!(stream = %endpoint, reason, "stream lock lost; the run stops before its next page");
    let _ = loss.reason.set(reason);
    loss.noticed.cancel();
    drop(conn.detach());
    None
}

/// Asks the session for a sign of life.
async fn check(conn: &mut PoolConnection<Postgres>) -> Result<(), String> {
    use sqlx::Connection;
    match tokio::time::timeout(CHECK_TIMEOUT, conn.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_keeps_its_pinned_key() {
        let pinned = [
            (Endpoint::Semesters, 0x4653_594E_0000_0000),
            (Endpoint::Activities, 0x4653_594E_0000_0001),
            (Endpoint::StageTasks, 0x4653_594E_0000_0002),
            (Endpoint::Departments, 0x4653_594E_0000_0003),
            (Endpoint::Users, 0x4653_594E_0000_0004),
            (Endpoint::ApprovalTasks, 0x4653_594E_0000_0005),
            (Endpoint::Tasks, 0x4653_594E_0000_0006),
            (Endpoint::Reviewees, 0x4653_594E_0000_0007),
            (Endpoint::ReviewData, 0x4653_594E_0000_0008),
            (Endpoint::MetricDetails, 0x4653_594E_0000_0009),
            (Endpoint::Indicators, 0x4653_594E_0000_000A),
            (Endpoint::MetricFields, 0x4653_594E_0000_000B),
        ];

        for (endpoint, key) in pinned {
            assert_eq!(lock_key(endpoint), key, "{endpoint}");
        }
    }

    #[test]
    fn every_stream_has_its_own_key() {
        let keys: std::collections::HashSet<i64> =
            Endpoint::ALL.into_iter().map(lock_key).collect();
        assert_eq!(keys.len(), Endpoint::ALL.len());
    }
}
