//! What a stream plugs into the partition reader: its partitions (a `sync_state` key, a
//! request, a sink), the sink's side of a pass, page by page, and, for a stream whose pass
//! vouches for more than each partition does, the [`PassSink`] the reader calls once the
//! whole pass is read. Sinks say what to write, retire and complete; the reader decides
//! when, opens the transactions and records the watermarks through [`crate::sync_state`].

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use super::rejects::RejectedRecord;
use crate::db::RunCounts;
use crate::feishu::ApiRequest;
use crate::sync_state::Pass;

/// One partition of a stream: its `sync_state` key (`""` for single-partition streams),
/// its request and the sink that writes it.
pub struct Partition<S> {
    pub key: String,
    pub request: ApiRequest,
    pub sink: S,
}

/// What a sink made of one page.
#[derive(Debug, Default)]
pub struct PageWrite {
    /// Rows inserted or changed.
    pub written: u64,
    /// Records that could not be mapped; the rest of the page was written.
    pub rejected: Vec<RejectedRecord>,
}

/// What a clean pass over a partition leaves behind: the watermark the partition reader
/// records (through [`crate::sync_state`]) in the same transaction. A sink returns its
/// watermark; it never writes one.
#[derive(Debug, Default)]
pub struct Completion {
    /// The partition's new watermark; `None` keeps the old one (streams without a time
    /// filter record only that a pass completed).
    pub watermark: Option<DateTime<Utc>>,
    /// The `sync_state` partitions the pass completes, when not just its own key
    /// (activities read up to ten semesters per request, and keep state per semester).
    pub partitions: Option<Vec<String>>,
}

/// A stream's side of reading one partition: narrow the request to the window the reader
/// computed, write each page's rows, then, after the last page of a clean pass, say where
/// the watermark goes and, when the reader allows it, retire what was not seen. Page
/// writes run inside the page's transaction.
pub trait PartitionSink {
    /// The typed `data` object of one page.
    type Data: DeserializeOwned + Send;

    /// For a stream read through a time window: how far before the watermark a change
    /// may still land. `None` (the default): the partition has no window and is read
    /// whole every pass.
    fn lookback(&self) -> Option<Duration> {
        None
    }

    /// Narrows the partition's request to what changed since `start`, which the reader
    /// computed (see [`super::read_mode::ReadMode::window_start`]); called before the
    /// first page, only for a windowed read. A sink remembers it: what a windowed read
    /// may retire (and count) depends on its window.
    fn open_window(&mut self, _request: &mut ApiRequest, _start: DateTime<Utc>) {}

    /// Upserts one page.
    fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: Self::Data,
    ) -> impl Future<Output = anyhow::Result<PageWrite>> + Send;

    /// Called once after the last page of a pass that met no malformed record.
    fn complete(
        &mut self,
        tx: &mut PgConnection,
        pass: &Pass,
    ) -> impl Future<Output = anyhow::Result<Completion>> + Send;

    /// What to retire: called after [`PartitionSink::complete`] only when the reader
    /// allows it (a fresh, clean pass whose parents completed; see
    /// [`super::retirement`]). Returns the rows given `deleted_at`.
    fn retire(&mut self, tx: &mut PgConnection)
    -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Records the pass listed, for the empty-listing guard.
    fn listed(&self) -> usize;

    /// Whether an empty listing is a real state that may retire every row of the
    /// partition (a user's emptied to-do list); by default it is refused.
    fn empty_listing_is_real(&self) -> bool {
        false
    }
}

/// A stream's side of the end of a whole pass ([`super::partition::StreamPass`]), for what
/// no single partition can vouch for: rows that may sit in any partition (a user missing
/// from one department's listing may be in another's), and `sync_state` partitions that
/// several requests share (review data reads ten semesters a request, and a semester is
/// complete only when every request of its group is). The reader calls it once, in one
/// transaction, after every partition of the pass completed cleanly, and only when the run
/// read every partition (see [`super::retirement`]).
pub trait PassSink {
    /// The `sync_state` partitions the whole pass completes; the reader moves their
    /// watermark to the start of the pass (not for a backfill from a date). None by default.
    fn completes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Retires what the whole pass did not see (and rewrites what it derives from the
    /// whole pass), in the reader's transaction and under the empty-listing guard; returns
    /// what it wrote and retired. Nothing by default.
    fn retire(
        &self,
        _tx: &mut PgConnection,
    ) -> impl Future<Output = anyhow::Result<RunCounts>> + Send {
        async { Ok(RunCounts::default()) }
    }

    /// Records the pass listed, for the empty-listing guard: the default, none, lets the
    /// pass retire nothing.
    fn listed(&self) -> usize {
        0
    }
}
