//! feishu-sync: copies Feishu Open Platform data into typed PostgreSQL tables,
//! incrementally.
//!
//! # Who owns what
//! - [`config`]: layered configuration (defaults, `sync.toml`, environment) and validation.
//! - [`feishu`]: the one client every stream shares. It alone sends HTTP: tokens, budgets,
//!   retries, rate-limit waits, the `code`/`msg` envelope and pagination.
//! - [`sync`]: one module per upstream stream (its wire types, rows and upsert; it owns its
//!   tables), and the partition reader that drives pages through transactions.
//! - [`sync_state`]: the only reader and writer of `feishu.sync_state` (watermarks,
//!   partition passes, resume cursors).
//! - [`db`]: the pool, migrations and the `feishu.sync_runs` journal; [`tables`]: the
//!   registry of entity tables and of the streams each stream depends on.
//! - [`history`]: retention of the change history, whose versions the database's triggers
//!   write with every upsert; [`stream_lock`]: one writer per stream across processes.
//! - [`one_pass`], [`service`], [`status`], [`grant`] and [`commands`] (one file per newer
//!   command): what the commands do; [`app`] picks one for the parsed [`cli`]; [`output`]
//!   writes their stdout. [`metrics`], [`progress`], [`shutdown`] and [`telemetry`]
//!   serve them.
//! - With the `simulator` feature (default): [`demo`] and [`bench`], which start the
//!   `feishu-sim` crate's simulator in-process, and [`scratch_database`] for their databases.
//!
//! # How one page travels
//! 1. A stream module builds an [`feishu::ApiRequest`] per partition (one semester, one
//!    user × topic, …) and hands it with its sink to `sync::read_partitions`.
//! 2. [`feishu::Pager`] asks [`feishu::FeishuClient::call`] for each page: a budget slot,
//!    a token, the HTTP exchange, retries; the `data` object comes back typed.
//! 3. The partition reader opens one transaction per page. The stream's sink maps the
//!    records to rows and upserts them in batches (UNNEST arrays, `IS DISTINCT FROM`);
//!    malformed records go to `feishu.sync_errors`; [`sync_state`] saves the next page's
//!    cursor. The page commits as a whole.
//! 4. After the last page of a clean pass the sink retires rows not seen and returns the
//!    partition's new watermark; [`sync_state`] records it in the same transaction.
//! 5. [`sync::run_journaled`] closes the run's `feishu.sync_runs` row with its counts.

pub mod app;
#[cfg(feature = "simulator")]
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod events;
pub mod feishu;
pub mod grant;
pub mod history;
pub mod learned_ceilings;
pub mod metrics;
pub mod one_pass;
pub mod output;
pub mod progress;
#[cfg(test)]
mod property_test_json;
#[cfg(feature = "simulator")]
pub mod scratch_database;
pub mod service;
pub mod shutdown;
pub mod status;
pub mod stream_lock;
pub mod sync;
pub mod sync_state;
pub mod tables;
pub mod telemetry;
