//! What a stream run hands back: the stream module's outcome (counts, and what failed,
//! was refused or cut short, partition by partition), and the verdict it comes to.

use std::time::Duration;

use super::failure::PartitionFailure;
use crate::db::{RunCounts, RunStatus};
use crate::feishu::Endpoint;

/// The result of one stream run.
#[derive(Debug)]
pub struct StreamReport {
    pub stream: Endpoint,
    pub status: RunStatus,
    pub counts: RunCounts,
    /// HTTP requests the run sent, retries and waits included.
    pub requests: u64,
    /// Of those, answered with the frequency limit.
    pub rate_limited: u64,
    pub duration: Duration,
    pub error: Option<String>,
}

/// What a stream module hands back: its counts and the partitions that failed.
#[derive(Debug, Default)]
pub struct StreamOutcome {
    pub counts: RunCounts,
    /// `partition: error` for each failed partition (`error` alone for single-partition
    /// streams).
    pub failed_partitions: Vec<String>,
    /// `partition: why` for each partition whose pass skipped malformed records.
    pub partial_partitions: Vec<String>,
    /// The run stopped early because of a shutdown.
    pub interrupted: bool,
    /// An error that stops the whole stream (no quota, scope or token): the first one,
    /// reported once instead of once per partition.
    pub stopped_by: Option<String>,
    /// Partitions outside the app's contact range (a department or user it may not read):
    /// skipped with a log line, not failed.
    pub refused: Vec<String>,
    /// Why retirement was withheld for the whole run (a parent stream did not complete
    /// a clean pass): the rows read were written, nothing was retired, the run is partial.
    pub withheld: Option<String>,
    /// A partition's pass resumed an earlier run's, so the stream cannot vouch for what
    /// it did not see (its first pages were read by that run).
    pub resumed: bool,
    /// Departments whose subtree is too large to read recursively (43010): the
    /// departments stream walks them one level at a time and takes them out of here.
    pub recursion_refused: Vec<String>,
}

impl StreamOutcome {
    /// Folds one partition's result in (`Ok(Some(why))`: the pass skipped records): its
    /// committed pages count even when a later page failed, and a failed partition does
    /// not stop the others.
    pub(super) fn fold(
        &mut self,
        partition: &str,
        counts: RunCounts,
        result: anyhow::Result<Option<String>>,
    ) {
        self.counts.add(counts);
        let error = match result {
            Ok(None) => return,
            Ok(Some(why)) => return self.partial_partitions.push(labelled(partition, why)),
            Err(error) => error,
        };
        match PartitionFailure::of(&error) {
            PartitionFailure::Api(api) if api.is_out_of_contact_range() => {
                tracing::warn!(
                    partition,
                    error = format!("{error:#}"),
                    "outside the app's contact range; skipped"
                );
                self.refused.push(partition.to_string());
            }
            PartitionFailure::Api(api) if api.refuses_recursion() => {
                tracing::info!(
                    partition,
                    "too many departments below to read at once (43010); reading one level at a time"
                );
                self.recursion_refused.push(partition.to_string());
            }
            PartitionFailure::Api(api) if api.stops_the_stream() => {
                if self.stopped_by.is_none() {
                    tracing::error!(partition, error = format!("{error:#}"), "stream stopped");
                    self.stopped_by = Some(format!("{error:#}"));
                }
            }
            PartitionFailure::Interrupted => self.interrupted = true,
            PartitionFailure::Api(_)
            | PartitionFailure::StalePageToken
            | PartitionFailure::Other => {
                tracing::error!(partition, error = format!("{error:#}"), "partition failed");
                self.failed_partitions
                    .push(labelled(partition, format!("{error:#}")));
            }
        }
    }

    /// Adds a later batch of partitions' outcome to this one.
    pub(super) fn absorb(&mut self, other: StreamOutcome) {
        self.counts.add(other.counts);
        self.failed_partitions.extend(other.failed_partitions);
        self.partial_partitions.extend(other.partial_partitions);
        self.interrupted |= other.interrupted;
        self.stopped_by = self.stopped_by.take().or(other.stopped_by);
        self.refused.extend(other.refused);
        self.withheld = self.withheld.take().or(other.withheld);
        self.resumed |= other.resumed;
        self.recursion_refused.extend(other.recursion_refused);
    }

    /// Whether every partition read completely: nothing failed, refused, skipped or cut
    /// short. Only then may a stream retire what it did not see.
    pub(super) fn all_complete(&self) -> bool {
        self.failed_partitions.is_empty()
            && self.partial_partitions.is_empty()
            && self.refused.is_empty()
            && !self.interrupted
            && self.stopped_by.is_none()
            && self.withheld.is_none()
            && !self.resumed
            && self.recursion_refused.is_empty()
    }

    /// The run's final status and error text: interrupted, else failed if a partition
    /// failed, else partial if one skipped malformed records or retirement was withheld.
    pub(super) fn verdict(&self) -> (RunStatus, Option<String>) {
        if let Some(error) = &self.stopped_by {
            return (RunStatus::Failed, Some(error.clone()));
        }
        if self.interrupted {
            return (RunStatus::Interrupted, None);
        }
        let summary = |list: &[String], what: &str| match list {
            [one] => one.clone(),
            many => format!("{} partitions {what}: {}", many.len(), many.join("; ")),
        };
        match (
            self.failed_partitions.as_slice(),
            self.partial_partitions.as_slice(),
        ) {
            ([], []) if self.withheld.is_some() => (RunStatus::Partial, self.withheld.clone()),
            ([], []) => (RunStatus::Succeeded, None),
            ([], partial) => (
                RunStatus::Partial,
                Some(summary(partial, "skipped records")),
            ),
            (failed, _) => (RunStatus::Failed, Some(summary(failed, "failed"))),
        }
    }
}

fn labelled(partition: &str, text: String) -> String {
    if partition.is_empty() {
        text
    } else {
        format!("{partition}: {text}")
    }
}
