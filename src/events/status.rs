//! The long connection's state as `/readyz` and `status` show it: connected since when,
//! the last frame, reconnects and the last error. Held in memory for the probes and
//! written to `feishu.event_connections` for `status`, which runs in another process.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One process's connection state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionStatus {
    pub connected_since: Option<DateTime<Utc>>,
    pub last_frame_at: Option<DateTime<Utc>>,
    pub reconnects: u64,
    pub last_error: Option<String>,
    /// The last error was the app's (credentials, console settings, connection limit):
    /// `/readyz` reports it until a connection succeeds.
    pub refused: bool,
}

/// A cheap handle on the state, shared by the connection, the probes and the writer.
#[derive(Debug, Clone, Default)]
pub struct SharedStatus(Arc<Mutex<ConnectionStatus>>);

impl SharedStatus {
    fn lock(&self) -> MutexGuard<'_, ConnectionStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the state.
    pub fn get(&self) -> ConnectionStatus {
        self.lock().clone()
    }

    pub(super) fn connected(&self) {
        let mut s = self.lock();
        s.connected_since = Some(Utc::now());
        s.last_frame_at = Some(Utc::now());
        s.refused = false;
    }

    pub(super) fn frame(&self) {
        self.lock().last_frame_at = Some(Utc::now());
    }

    pub(super) fn lost(&self, error: &str, refused: bool) {
        let mut s = self.lock();
        s.connected_since = None;
        s.last_error = Some(error.to_string());
        s.refused = refused;
    }

    pub(super) fn reconnected(&self) {
        self.lock().reconnects += 1;
    }

    /// The problem `/readyz` reports, if any: no connection open.
    pub fn readiness_problem(&self) -> Option<String> {
        let s = self.get();
        if s.connected_since.is_some() {
            return None;
        }
        Some(match s.last_error {
            Some(error) => format!("long connection down: {error}"),
            None => "long connection not yet open".to_string(),
        })
    }

    /// One line for `/readyz`: connected since, last frame, reconnects, last error.
    pub fn describe(&self) -> String {
        let s = self.get();
        let time = |t: Option<DateTime<Utc>>| t.map_or("never".to_string(), |t| t.to_rfc3339());
        format!(
            "long connection: connected since {}, last frame {}, {} reconnects, last error: {}",
            time(s.connected_since),
            time(s.last_frame_at),
            s.reconnects,
            s.last_error.as_deref().unwrap_or("none")
        )
    }

    /// Writes the state to `feishu.event_connections` under `process`.
    pub async fn save(&self, pool: &PgPool, process: &str) -> anyhow::Result<()> {
        let s = self.get();
        sqlx::query!(
            "INSERT INTO feishu.event_connections
                 (process, connected_since, last_frame_at, reconnects, last_error, updated_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (process) DO UPDATE SET connected_since = EXCLUDED.connected_since,
                 last_frame_at = EXCLUDED.last_frame_at, reconnects = EXCLUDED.reconnects,
                 last_error = EXCLUDED.last_error, updated_at = now()",
            process,
            s.connected_since,
            s.last_frame_at,
            s.reconnects as i64,
            s.last_error
        )
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// A connection state `status` read back, with the process that wrote it; `status
/// --json` prints it as is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SavedStatus {
    pub process: String,
    pub connected_since: Option<DateTime<Utc>>,
    pub last_frame_at: Option<DateTime<Utc>>,
    pub reconnects: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The states written in the last ten minutes, newest first.
pub async fn saved(pool: &PgPool) -> anyhow::Result<Vec<SavedStatus>> {
    let rows = sqlx::query_as!(
        SavedStatus,
        "SELECT process, connected_since, last_frame_at, reconnects, last_error, updated_at
           FROM feishu.event_connections WHERE updated_at > now() - interval '10 minutes'
          ORDER BY updated_at DESC"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}
