//! One rule for retirement. A pass may give `deleted_at` to the rows it did not see only
//! when it can vouch for everything it did not see:
//! - it is fresh (not resumed from an earlier run, which read its first pages) and clean
//!   (no malformed record skipped, nothing failed, refused or cut short);
//! - every parent stream it reads its partitions from (see [`crate::tables::parents`])
//!   completed a clean pass since this stream's last complete one: users are read per
//!   department, so a failed departments run must not retire the people of the
//!   departments it missed;
//! - its listing is not empty where rows are current: an empty answer over a full table
//!   is a permission or licence problem, not a dissolved company.
//!
//! The partition reader applies it, in the transaction it retires in: each partition's
//! last page ([`super::sink::PartitionSink::retire`]) and, for the streams whose rows span
//! partitions (the directory), the end of the whole pass, which runs only when every
//! partition passed these checks and the run read every partition
//! ([`super::partition::StreamPass::end`], [`super::sink::PassSink::retire`]). A stream
//! only says what to retire. A withheld retirement is logged and makes the run `partial`.
//!
//! Not a pass's verdict, and so not here: the cascade from a retired parent. Activities,
//! stage tasks, reviewees, review data and metric details each retire, before they read,
//! the rows whose semester (or reviewee) the parent stream has already retired under this
//! rule (`retire_orphans` in each; review data and metric details only when their parents'
//! gate allows), since nothing will list those rows again.

use crate::db;
use crate::feishu::Endpoint;

use super::context::SyncContext;

/// Whether this run of a stream may retire at all, as its parents decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentGate {
    /// Why the parents forbid retirement; `None` when they allow it.
    pub withheld: Option<String>,
}

impl ParentGate {
    /// Checks each parent of `stream` in `feishu.sync_runs`: its last finished run
    /// succeeded, and ended after this stream's last succeeded run began.
    pub async fn check(ctx: &SyncContext, stream: Endpoint) -> ParentGate {
        for parent in crate::tables::parents(stream, &ctx.streams) {
            let run = db::parent_run(&ctx.pool, parent.name(), stream.name()).await;
            let why = match run {
                Err(error) => Some(format!("{parent}'s runs could not be read ({error:#})")),
                Ok(run) => match (run.last_status.as_deref(), run.since_child) {
                    (None, _) => Some(format!("{parent} has never completed a run")),
                    (Some("succeeded"), true) => None,
                    (Some("succeeded"), false) => Some(format!(
                        "{parent} has not completed a pass since {stream}'s last complete one"
                    )),
                    (Some(status), _) => Some(format!("{parent}'s last run ended {status}")),
                },
            };
            if let Some(why) = why {
                let why = format!("nothing retired: {why}, so its rows may be incomplete");
                tracing::warn!(%stream, %parent, "{why}");
                return ParentGate {
                    withheld: Some(why),
                };
            }
        }
        ParentGate::default()
    }

    /// Whether the parents allow retirement.
    pub fn allows(&self) -> bool {
        self.withheld.is_none()
    }
}

/// The empty-listing guard: a pass that listed nothing yet would retire `retired` rows is
/// refused (its transaction rolls back), unless an empty listing is a real state for it
/// (a user's to-do list, say).
pub fn check_empty_listing(
    stream: Endpoint,
    partition: &str,
    listed: usize,
    retired: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        listed > 0 || retired == 0,
        "Feishu listed no {stream} (partition {partition:?}) while {retired} are current here; \
         refusing to retire them all (a licence or permission problem looks like this). If they \
         really were deleted, set their deleted_at by hand"
    );
    Ok(())
}
