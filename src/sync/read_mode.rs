//! How a run reads its stream: incrementally from the watermarks, as a backfill, as one of
//! the sweeps, or only some partitions. The one place a read's time window is computed.

use chrono::{DateTime, Duration, Utc};

use crate::config::Sweep;
use crate::feishu::Endpoint;

/// What one run of a stream reads. Each variant is a complete instruction: the
/// combinations the command line forbids (a backfill that is also a sweep) cannot be
/// written down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// From each partition's watermark, minus the stream's lookback; a partition without
    /// a watermark is read whole.
    #[default]
    Incremental,
    /// Ignores the watermarks and re-reads everything (from `since`, if given), then
    /// moves the watermarks on.
    Backfill { since: Option<DateTime<Utc>> },
    /// Every partition read whole: retires what is gone, refreshes what changed outside
    /// the window.
    Reconcile,
    /// Task v1 only: every open task, whatever its create time.
    OpenTasks,
    /// Only these partitions, each read whole, now: what an event-driven refresh asks
    /// for. Retirement is confined to the partitions read (nothing stream-wide retires).
    Partitions(Vec<PartitionKey>),
}

/// One partition of one stream: its `sync_state.partition_key` (`""` for
/// single-partition streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    pub stream: Endpoint,
    pub key: String,
}

impl From<Sweep> for ReadMode {
    fn from(sweep: Sweep) -> Self {
        match sweep {
            Sweep::Reconcile => ReadMode::Reconcile,
            Sweep::OpenTasks => ReadMode::OpenTasks,
        }
    }
}

impl ReadMode {
    /// Where a partition's read starts: `None` reads it whole. `watermark` is the
    /// partition's, `lookback` how far before it a change may still land.
    pub fn window_start(
        &self,
        watermark: Option<DateTime<Utc>>,
        lookback: Duration,
    ) -> Option<DateTime<Utc>> {
        match self {
            ReadMode::Incremental => watermark.map(|w| w - lookback),
            ReadMode::Backfill { since } => *since,
            ReadMode::Reconcile | ReadMode::OpenTasks | ReadMode::Partitions(_) => None,
        }
    }

    /// Whether a clean pass moves the partition's watermark on. Always, except for a
    /// backfill from a date later than where an incremental read would start (the
    /// watermark minus the lookback): it did not read the changes in between, so the
    /// watermark stays and the next incremental read reads them.
    pub fn moves_watermark(&self, watermark: Option<DateTime<Utc>>, lookback: Duration) -> bool {
        match (self, watermark) {
            (ReadMode::Backfill { since: Some(since) }, Some(watermark)) => {
                *since <= watermark - lookback
            }
            _ => true,
        }
    }

    /// Whether the run reads this partition of `stream`: every one, except for
    /// [`ReadMode::Partitions`].
    pub fn reads(&self, stream: Endpoint, key: &str) -> bool {
        match self {
            ReadMode::Partitions(keys) => keys.iter().any(|p| p.stream == stream && p.key == key),
            _ => true,
        }
    }

    /// Whether the run reads every partition of the stream, so it may retire what the
    /// whole pass did not see.
    pub fn reads_every_partition(&self) -> bool {
        !matches!(self, ReadMode::Partitions(_))
    }

    /// `sync_runs.backfill`.
    pub fn is_backfill(&self) -> bool {
        matches!(self, ReadMode::Backfill { .. })
    }

    /// The sweep this read is, if it is one.
    pub fn sweep(&self) -> Option<Sweep> {
        match self {
            ReadMode::Reconcile => Some(Sweep::Reconcile),
            ReadMode::OpenTasks => Some(Sweep::OpenTasks),
            _ => None,
        }
    }

    /// `sync_runs.sweep` and the logs' name of the sweep; `None` for other reads.
    pub fn sweep_name(&self) -> Option<&'static str> {
        self.sweep().map(Sweep::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const WATERMARK: &str = "2026-11-30T12:00:00Z";

    fn start(mode: ReadMode, watermark: Option<&str>) -> Option<DateTime<Utc>> {
        mode.window_start(watermark.map(at), Duration::hours(2))
    }

    #[test]
    fn an_incremental_read_starts_one_lookback_before_the_watermark() {
        assert_eq!(
            start(ReadMode::Incremental, Some(WATERMARK)),
            Some(at("2026-11-30T10:00:00Z"))
        );
    }

    #[test]
    fn an_incremental_read_of_a_partition_never_completed_reads_it_whole() {
        assert_eq!(start(ReadMode::Incremental, None), None);
    }

    #[test]
    fn a_backfill_from_a_date_after_the_incremental_start_keeps_the_watermark() {
        let lookback = Duration::hours(1);
        let moves = |mode: ReadMode, watermark| mode.moves_watermark(watermark, lookback);
        let backfill = |since: &str| ReadMode::Backfill {
            since: Some(at(since)),
        };
        let watermark = Some(at("2026-03-01T12:00:00Z"));

        assert!(
            moves(backfill("2026-03-01T11:00:00Z"), watermark),
            "covers the window"
        );
        assert!(
            !moves(backfill("2026-03-01T11:00:01Z"), watermark),
            "a second short"
        );
        assert!(
            !moves(backfill("2026-03-10T00:00:00Z"), watermark),
            "skips days"
        );
        assert!(
            moves(backfill("2026-03-10T00:00:00Z"), None),
            "nothing read before"
        );
        assert!(moves(ReadMode::Backfill { since: None }, watermark));
        assert!(moves(ReadMode::Incremental, watermark));
        assert!(moves(ReadMode::Reconcile, watermark));
    }

    #[test]
    fn a_backfill_starts_at_since_whatever_the_watermark() {
        let since = Some(at("2026-01-01T00:00:00Z"));
        assert_eq!(start(ReadMode::Backfill { since }, Some(WATERMARK)), since);
        assert_eq!(
            start(ReadMode::Backfill { since: None }, Some(WATERMARK)),
            None
        );
    }

    #[test]
    fn a_reconciliation_reads_whole() {
        assert_eq!(start(ReadMode::Reconcile, Some(WATERMARK)), None);
    }

    #[test]
    fn the_open_task_sweep_reads_whole() {
        assert_eq!(start(ReadMode::OpenTasks, Some(WATERMARK)), None);
    }

    #[test]
    fn a_re_read_of_chosen_partitions_reads_them_whole_and_only_them() {
        let chosen = PartitionKey {
            stream: Endpoint::StageTasks,
            key: "s1".into(),
        };
        let mode = ReadMode::Partitions(vec![chosen]);
        assert_eq!(start(mode.clone(), Some(WATERMARK)), None);
        assert!(mode.reads(Endpoint::StageTasks, "s1"));
        assert!(!mode.reads(Endpoint::StageTasks, "s2"));
        assert!(!mode.reads(Endpoint::Reviewees, "s1"));
        assert!(!mode.reads_every_partition());
        assert!(ReadMode::Incremental.reads(Endpoint::Reviewees, "s1"));
    }
}
