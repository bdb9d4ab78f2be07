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
//! The partition reader applies it, to each partition's last page and, for the streams
//! whose rows span partitions (the directory), once at the end of the whole pass
//! ([`retire_after_pass`]); a stream only says what to retire. A withheld retirement is
//! logged and makes the run `partial`.

use crate::db::{self, RunCounts};
use crate::feishu::Endpoint;

use super::context::SyncContext;
use super::outcome::StreamOutcome;
use super::read_mode::ReadMode;

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

/// What a stream retires once per pass, after all its partitions: a department or user
/// missing from one department's listing may sit in another's, so only the whole pass
/// can tell what is gone.
pub trait PassRetirement {
    /// Retires what the pass did not see (and rewrites what it derives from the whole
    /// pass), in the caller's transaction; returns what it wrote and retired.
    fn retire(
        &self,
        tx: &mut sqlx::PgConnection,
    ) -> impl Future<Output = anyhow::Result<RunCounts>> + Send;

    /// Records the pass listed, for the empty-listing guard.
    fn listed(&self) -> usize;
}

/// Ends a pass of a stream that retires across partitions: when every partition read
/// completely (nothing failed, refused, withheld by a parent, cut short or resumed) and
/// the run read every partition, `retirement` runs in one transaction under the
/// empty-listing guard, and its counts join `outcome`'s.
pub async fn retire_after_pass(
    ctx: &SyncContext,
    mode: &ReadMode,
    stream: Endpoint,
    outcome: &mut StreamOutcome,
    retirement: impl PassRetirement,
) -> anyhow::Result<()> {
    if !outcome.all_complete() {
        tracing::info!(%stream, "the pass was not complete: nothing retired");
        return Ok(());
    }
    if !mode.reads_every_partition() {
        tracing::info!(%stream, "a re-read of chosen partitions: nothing retired");
        return Ok(());
    }
    let mut tx = ctx.pool.begin().await?;
    let counts = retirement.retire(&mut tx).await?;
    check_empty_listing(stream, "", retirement.listed(), counts.rows_retired)?;
    tx.commit().await?;
    outcome.counts.add(counts);
    Ok(())
}
