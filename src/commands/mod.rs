//! The commands added for a data engineer's first hour, one file each: `check`,
//! `dbt-sources`, `reset`, `completions` and `man`, and `config schema`. `app` dispatches
//! to them; the older commands still live in their own modules until issue 19 moves them.

#[cfg(feature = "simulator")]
pub mod bench;
pub mod check;
pub mod completions;
pub mod config_schema;
pub mod dbt_sources;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod grant_reader;
pub mod reset;
pub mod run;
pub mod status;
pub mod sync;
