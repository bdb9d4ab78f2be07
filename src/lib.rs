//! feishu-sync: copies Feishu Open Platform data into typed PostgreSQL tables,
//! incrementally.
//!
//! # Who owns what
//! - [`config`]: layered configuration (defaults, `sync.toml`, environment) and validation;
//!   `config::types` holds the sections (the `[streams]` section's in `config/streams.rs`).
//! - [`feishu`]: the one client every stream shares. It alone sends HTTP: tokens, budgets,
//!   retries, rate-limit waits, the `code`/`msg` envelope and pagination; and the
//!   `UserIdType` (`feishu::user_id_type`), parsed once when the configuration loads. The
//!   retry loop is `feishu/client.rs`; `client/` holds what it reports (`counters`), its
//!   bookkeeping (`rounds`) and the exchange's edges (`transport`).
//! - [`sync`]: one module per upstream stream (its wire types, rows and upsert; it owns its
//!   tables), the partition reader that drives pages through transactions and owns the
//!   watermark and retirement (`partition`, `page`, `sink`, `retirement`; a pass read in
//!   batches ends in the reader's `StreamPass`), the read mode a pass takes (`read_mode`:
//!   incremental, backfill, a sweep, or given partitions), a run's outcome and verdict
//!   (`outcome`), and what the streams share (`convert` for times and i18n, `scopes` for
//!   missing scopes, `columns` for column batches).
//! - [`sync_state`]: the only reader and writer of `feishu.sync_state` (watermarks,
//!   partition passes, resume cursors); [`user_id_setting`]: the `user_id_type` recorded in
//!   `feishu.sync_settings`, and the switch to another (`--reset-ids`).
//! - [`db`]: the pool, migrations and the `feishu.sync_runs` journal; [`tables`]: the
//!   registry of entity tables and of the streams each stream depends on.
//! - [`history`]: retention of the change history, whose versions the database's triggers
//!   write with every upsert; [`stream_lock`]: one writer per stream across processes;
//!   [`events`]: the long connection, its inbox, and the processor that coalesces events by
//!   target (`events::targets`) and applies them (`events::process`).
//! - [`commands`]: one file or folder per subcommand (`sync`, `run`, `status` with what it
//!   reads, `--check` and the table apart, `migrate`, `grant-reader`, `healthcheck`,
//!   `check`, `reset`, …), each with an `execute`. [`app`] dispatches the parsed [`cli`] to
//!   them; [`startup`], the composition root, connects, migrates and builds the client once
//!   for them and for the tests; [`output`] writes their stdout. [`metrics`] (its label sets
//!   in `metrics::labels`), [`progress`], [`shutdown`] and [`telemetry`] serve them.
//! - With the `simulator` feature (default): `commands::demo` and `commands::bench`, which
//!   start the `feishu-sim` crate's simulator in-process, and [`scratch_database`] for
//!   their databases.
//!
//! # How one page travels
//! 1. A stream module builds an [`feishu::ApiRequest`] per partition (one semester, one
//!    user × topic, …) and hands it with its sink to `sync::read_partitions`.
//! 2. The partition reader loads the partition's watermark with its cursor, has
//!    `sync::read_mode` compute the window start, and lets the sink narrow the request.
//! 3. [`feishu::Pager`] asks [`feishu::FeishuClient::call`] for each page: a budget slot,
//!    a token, the HTTP exchange, retries; the `data` object comes back typed.
//! 4. `sync::page` opens one transaction per page. The stream's sink maps the records to
//!    rows and upserts them in batches (UNNEST arrays, `IS DISTINCT FROM`); malformed
//!    records go to `feishu.sync_errors`; [`sync_state`] saves the next page's cursor.
//!    The page commits as a whole.
//! 5. On the last page of a clean pass the reader asks the sink for the new watermark and
//!    records it through [`sync_state`], and retires what the pass did not see where the
//!    retirement rule allows, in the same transaction.
//! 6. [`sync::run_journaled`] closes the run's `feishu.sync_runs` row with its counts.
//!
//! [`learned_ceilings`] starts each endpoint's budget at the ceiling earlier runs learned.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod events;
pub mod feishu;
pub mod history;
pub mod learned_ceilings;
pub mod metrics;
pub mod output;
pub mod progress;
#[cfg(test)]
mod property_test_json;
#[cfg(feature = "simulator")]
pub mod scratch_database;
pub mod shutdown;
pub mod startup;
pub mod stream_lock;
pub mod sync;
pub mod sync_state;
pub mod tables;
pub mod telemetry;
pub mod user_id_setting;
