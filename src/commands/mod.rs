//! What each subcommand does, one file or folder per command; [`crate::app`] picks one for
//! the parsed command line and each module's `execute` carries it out. They build what
//! they share (pool, migrations, client) through [`crate::startup`].
//!
//! - Moving data: [`sync`] (one pass), [`run`] (the service: schedules, probes, events),
//!   [`reset`] (forget a stream's state).
//! - The database: [`migrate`], [`grant_reader`] (a read-only role), [`dbt_sources`].
//! - Looking: [`status`] (each stream's last run), [`healthcheck`] (a service's probe),
//!   [`check`] (configuration, database, token and endpoints, in order).
//! - Generated from the CLI and configuration types: [`completions`] (and `man`),
//!   [`config_schema`].
//! - With the `simulator` feature: `demo` and `bench`, which start the simulator
//!   in-process.

#[cfg(feature = "simulator")]
pub mod bench;
pub mod check;
pub mod completions;
pub mod config_schema;
pub mod dbt_sources;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod grant_reader;
pub mod healthcheck;
pub mod migrate;
pub mod reset;
pub mod run;
pub mod status;
pub mod sync;
