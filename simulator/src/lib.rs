//! An in-process fake of the Feishu Open Platform: the token endpoint and the list
//! endpoints feishu-sync reads, served over real HTTP (axum) from a synthetic [`Tenant`],
//! with documented rate limits, page tokens and injectable faults. feishu-sync's tests, its
//! benchmark and `feishu-sync demo` use it instead of the real Feishu; the `feishu-sim`
//! binary serves it on a port for anyone to point a `sync.toml` at.
//!
//! Modules depend one way only, from the wire up:
//! `random` → `people` → `names` → `generate` → `tenant` (the data); `wire` renders it;
//! `results` (the performance results); `touched` (the records a change may touch);
//! `config` → `tokens`, `rate_windows`, `faults` → `events` → `state` → `paging` →
//! `params`, `contact_tree` → `contact`, `results_handlers` → `handlers`, `event_api`, `ws`,
//! `replies` → `routes` → `server`.

mod config;
mod contact;
mod contact_tree;
mod event_api;
mod events;
mod faults;
mod generate;
mod handlers;
mod names;
mod paging;
mod params;
mod people;
mod random;
mod rate_windows;
mod replies;
mod results;
mod results_handlers;
mod routes;
mod server;
mod state;
mod tenant;
mod tokens;
mod touched;
mod wire;
mod ws;

#[cfg(test)]
mod generate_tests;
#[cfg(test)]
mod tests;

pub use config::{Fault, RateLimit, SimConfig};
pub use generate::TOPICS;
pub use people::{ContactRange, Department, Person, UserGroup};
pub use server::{EventControl, EventStats, SimHandle, Simulator};
pub use state::{EndpointStats, RecordedRequest};
pub use tenant::*;
pub use touched::Touched;
/// A task as task v1 sends it on the wire (the benchmark's write path feeds on it).
pub use wire::task as task_json;
