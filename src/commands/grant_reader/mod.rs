pub mod role;

pub use role::*;
