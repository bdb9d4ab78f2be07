//! One Postgres advisory lock per stream, so no two writers of a stream (replicas of `run`,
//! a one-off `sync` beside the service) ever run it at the same time against one database.
//! The lock lives on a connection of its own: if the process dies, Postgres closes the
//! session and releases it.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPoolOptions, Postgres};

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

/// A held stream lock; release it with [`StreamLock::release`].
pub struct StreamLock {
    key: i64,
    conn: Option<PoolConnection<Postgres>>,
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
        Ok(locked.then_some(StreamLock {
            key,
            conn: Some(conn),
        }))
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
                Ok(Some(StreamLock {
                    key,
                    conn: Some(conn),
                }))
            }
            None => {
                drop(conn.detach());
                Ok(None)
            }
        }
    }

    /// Releases the lock and returns the connection to the pool.
    pub async fn release(mut self) -> anyhow::Result<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::query_scalar!("SELECT pg_advisory_unlock($1) AS \"unlocked!\"", self.key)
                .fetch_one(&mut *conn)
                .await
                .context("releasing the stream's advisory lock")?;
        }
        Ok(())
    }
}

impl Drop for StreamLock {
    /// A lock dropped without `release` (an error or a panic on the way) must not go back
    /// to the pool still held: the connection is closed instead, which releases it.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
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
