//! The streams: one module per upstream endpoint (its wire types, the mapping to rows, its
//! upsert and retirement; each owns its tables), the partition reader that drives their
//! pages through one transaction each, and the runner that journals every stream run.
//!
//! Dependencies run one way: `run` → stream modules → `partition` → `page` → `sink`,
//! `rejects`, `retirement`, `convert`, `columns`, `scopes`; `partition` → `read_mode`,
//! `outcome` → `failure`. Streams read through `partition` (`read_partitions`, or a
//! `StreamPass` when the whole pass retires or completes something no partition does).

pub mod activities;
pub mod approval_tasks;
pub mod columns;
pub mod context;
pub mod convert;
pub mod directory;
pub mod failure;
pub mod outcome;
mod page;
mod partition;
pub mod performance_results;
pub mod read_mode;
pub mod rejects;
pub mod retirement;
mod run;
pub mod scopes;
pub mod semesters;
mod sink;
pub mod stage_tasks;
pub mod tasks;

pub use context::SyncContext;
pub use outcome::{StreamOutcome, StreamReport};
pub use partition::{StreamPass, read_partitions};
pub use read_mode::{PartitionKey, ReadMode};
pub use rejects::RejectedRecord;
pub use run::{panic_message, read_stream, run_journaled, run_locked, run_pass};
pub use sink::{Completion, PageWrite, Partition, PartitionSink, PassSink};
