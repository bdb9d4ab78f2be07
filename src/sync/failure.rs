//! Why a partition's read failed: its error classified once (a shutdown, a stale page
//! token, Feishu's answer, anything else), so callers match the kinds exhaustively instead
//! of each downcasting on its own.

use crate::feishu::ApiError;
use crate::shutdown::Interrupted;

/// A page token the server no longer honours: only a request that sent one can fail this
/// way, and the partition can then be read again from its first page.
#[derive(Debug, thiserror::Error)]
#[error("page token rejected: {0}")]
pub struct StalePageToken(#[source] pub ApiError);

/// Why a partition's read failed, read once from its error and matched exhaustively by
/// whoever decides what a failure means (the outcome, the cursor's failure count).
#[derive(Debug)]
pub enum PartitionFailure<'a> {
    /// A shutdown stopped it between pages.
    Interrupted,
    /// The server refused a page token even after the partition was read again.
    StalePageToken,
    /// Feishu's answer: an API code, a refusal, a rate limit, an outage.
    Api(&'a ApiError),
    /// Anything else: the database, a mapping that cannot go on.
    Other,
}

impl<'a> PartitionFailure<'a> {
    /// The kind of `error`.
    pub fn of(error: &'a anyhow::Error) -> Self {
        if error.is::<Interrupted>() {
            return PartitionFailure::Interrupted;
        }
        if error.is::<StalePageToken>() {
            return PartitionFailure::StalePageToken;
        }
        match error.downcast_ref::<ApiError>() {
            Some(api) => PartitionFailure::Api(api),
            None => PartitionFailure::Other,
        }
    }
}
