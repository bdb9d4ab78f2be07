//! The streams: one module per upstream endpoint (its wire types, the mapping to rows, its
//! upsert and retirement; each owns its tables), the partition reader that drives their
//! pages through one transaction each, and the runner that journals every stream run.
//!
//! Dependencies run one way: stream modules → `partition` → `context`, `rejects`,
//! `retirement`, `convert`, `failure`; `context` → `failure`; `run` → stream modules.

pub mod activities;
pub mod approval_tasks;
pub mod context;
pub mod convert;
pub mod directory;
pub mod failure;
mod partition;
pub mod performance_results;
pub mod rejects;
pub mod retirement;
mod run;
pub mod semesters;
pub mod stage_tasks;
pub mod tasks;

pub use context::{RunOptions, StreamOutcome, StreamReport, Sweep, SyncContext};
pub use partition::{Completion, PageWrite, Partition, PartitionSink, read_partitions};
pub use rejects::RejectedRecord;
pub use run::{panic_message, run_journaled, run_locked, run_once, sync};
