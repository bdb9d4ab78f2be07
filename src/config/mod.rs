//! Configuration: built-in defaults, then `sync.toml`, then `FEISHU_SYNC__SECTION__KEY`
//! environment variables (and `DATABASE_URL`). Unknown keys and bad values are all reported
//! together at start-up, before anything is written.
//!
//! [`types`] holds the sections and their defaults (`streams` the `[streams]` section's, which
//! [`types`] re-exports), `load` layers the sources, `validate` collects every problem.

mod load;
mod origin;
mod streams;
pub mod types;
mod validate;

pub use types::*;
pub use validate::ConfigError;

#[cfg(test)]
mod tests;
