//! feishu-sync: copies Feishu Open Platform data into typed PostgreSQL tables,
//! incrementally.
//!
//! - [`config`]: layered configuration and its validation.
//! - [`feishu`]: the one client every stream shares (tokens, budgets, retries, paging).
//! - [`sync`]: one module per upstream stream, and the pass that drives them.
//! - [`db`]: pool, migrations, run journal and watermarks.
//! - [`simulator`]: the project's own fake Feishu, for tests, the benchmark and `demo`.
//! - [`app`], [`cli`], [`demo`], [`telemetry`]: the commands behind the thin `main`.

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod feishu;
pub mod grant;
pub mod metrics;
pub mod progress;
pub mod scratch;
pub mod service;
pub mod shutdown;
pub mod simulator;
pub mod status;
pub mod sync;
pub mod telemetry;
