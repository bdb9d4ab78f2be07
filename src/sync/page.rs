//! One page's transaction: the sink's rows, the page's malformed records, and either the
//! cursor to the next page or, on the last page, the end of the pass (the watermark, old
//! errors resolved, and retirement where [`super::retirement`] allows it).

use anyhow::Context;
use sqlx::{PgConnection, Postgres, Transaction};

use super::context::SyncContext;
use super::rejects;
use super::retirement::{self, ParentGate};
use super::sink::{PageWrite, Partition, PartitionSink};
use crate::db::RunCounts;
use crate::feishu::Page;
use crate::sync_state::{self, Cursor, Pass};

/// How a pass over a partition ended: it reached its last page, or the API refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PassEnd {
    /// Every page read, nothing malformed: the watermark moved, and unseen rows retired
    /// where the rule allows.
    Complete,
    /// Complete, but the pass resumed an earlier run's: nothing was retired.
    CompleteResumed,
    /// Malformed records were skipped: nothing was retired and the watermark held.
    Rejected(i32),
    /// The API refused the partition's parameters; the answer is in `sync_errors`.
    Quarantined,
}

impl PassEnd {
    /// What the outcome says of the partition: `None` if it is complete, else why not.
    pub(super) fn shortfall(self) -> Option<String> {
        match self {
            PassEnd::Complete | PassEnd::CompleteResumed => None,
            PassEnd::Rejected(n) => Some(format!(
                "{n} malformed records skipped (see feishu.sync_errors); nothing retired, watermark held"
            )),
            PassEnd::Quarantined => Some(
                "the API refused the partition's parameters; quarantined in feishu.sync_errors"
                    .to_string(),
            ),
        }
    }
}

/// Writes a page in the middle of a pass in its own transaction: its rows, its malformed
/// records and the cursor to the next page.
pub(super) async fn write_page<S: PartitionSink>(
    ctx: &SyncContext,
    partition: &mut Partition<S>,
    pass: &mut Pass,
    page: Page<S::Data>,
    counts: &mut RunCounts,
) -> anyhow::Result<()> {
    let mut tx = begin_page(ctx).await?;
    let next_token = page.next_token.clone();
    let write = write_rows(&mut tx, partition, page).await?;
    let next_pass = after_page(pass, &write);
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    match next_token {
        Some(page_token) => {
            let cursor = Cursor {
                page_token,
                pass: next_pass.clone(),
                failures: 0,
            };
            sync_state::save_cursor(&mut tx, stream, key, &partition.request, &cursor).await?;
        }
        // Paging stopped early (reported by the caller): nothing to resume, nothing complete.
        None => sync_state::end_pass(&mut tx, stream, key).await?,
    }
    commit_page(ctx, tx, partition, &write, 0, counts).await?;
    *pass = next_pass;
    Ok(())
}

/// What the end of a clean pass of one partition may do besides recording it: retire
/// (as the parents' gate decides) and move the watermark (as the read mode decides).
pub(super) struct PassRules<'a> {
    pub gate: &'a ParentGate,
    pub moves_watermark: bool,
}

/// Writes the last page of a pass in its own transaction, and ends the pass: a clean one
/// completes (moves the watermark, resolves old errors, and retires when allowed); one
/// with malformed records leaves all three alone.
pub(super) async fn write_last_page<S: PartitionSink>(
    ctx: &SyncContext,
    partition: &mut Partition<S>,
    pass: &Pass,
    page: Page<S::Data>,
    rules: &PassRules<'_>,
    counts: &mut RunCounts,
) -> anyhow::Result<PassEnd> {
    let mut tx = begin_page(ctx).await?;
    let write = write_rows(&mut tx, partition, page).await?;
    let pass = after_page(pass, &write);
    let stream = partition.request.endpoint.name();
    sync_state::end_pass(&mut tx, stream, &partition.key).await?;
    let (end, retired) = match pass.rejected {
        0 => complete_pass(&mut tx, partition, &pass, rules).await?,
        rejected => (PassEnd::Rejected(rejected), 0),
    };
    commit_page(ctx, tx, partition, &write, retired, counts).await?;
    Ok(end)
}

async fn begin_page(ctx: &SyncContext) -> anyhow::Result<Transaction<'static, Postgres>> {
    ctx.pool
        .begin()
        .await
        .context("starting a page transaction")
}

/// The sink's rows of one page, and its malformed records filed in `sync_errors`.
async fn write_rows<S: PartitionSink>(
    tx: &mut PgConnection,
    partition: &mut Partition<S>,
    page: Page<S::Data>,
) -> anyhow::Result<PageWrite> {
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    let write = partition.sink.write_page(tx, page.data).await?;
    if !write.rejected.is_empty() {
        rejects::record_rejects(tx, stream, key, &write.rejected).await?;
        for reject in &write.rejected {
            tracing::warn!(
                stream,
                partition = key,
                record = reject.key.as_deref().unwrap_or("?"),
                reason = reject.reason,
                log_id = page.log_id.as_str(),
                "malformed record skipped"
            );
        }
    }
    Ok(write)
}

/// The pass once `write`'s page is committed.
fn after_page(pass: &Pass, write: &PageWrite) -> Pass {
    let mut next = pass.clone();
    next.pages += 1;
    next.rejected += write.rejected.len() as i32;
    next
}

/// The end of a clean pass, in its last page's transaction: the watermark the sink
/// names, old errors resolved, and what was not seen retired when the rule allows.
async fn complete_pass<S: PartitionSink>(
    tx: &mut PgConnection,
    partition: &mut Partition<S>,
    pass: &Pass,
    rules: &PassRules<'_>,
) -> anyhow::Result<(PassEnd, u64)> {
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    let completion = partition.sink.complete(tx, pass).await?;
    let partitions = completion
        .partitions
        .unwrap_or_else(|| vec![key.to_string()]);
    let watermark = completion.watermark.filter(|_| rules.moves_watermark);
    sync_state::record_complete(tx, stream, &partitions, watermark).await?;
    rejects::resolve_rejects(tx, stream, key).await?;
    let retired = retire(tx, partition, pass, rules.gate).await?;
    Ok(match pass.resumed {
        true => (PassEnd::CompleteResumed, 0),
        false => (PassEnd::Complete, retired),
    })
}

/// Commits a page and counts it.
async fn commit_page<S>(
    ctx: &SyncContext,
    tx: Transaction<'static, Postgres>,
    partition: &Partition<S>,
    write: &PageWrite,
    retired: u64,
    counts: &mut RunCounts,
) -> anyhow::Result<()> {
    tx.commit().await.context("committing a page")?;
    ctx.metrics
        .page_committed(partition.request.endpoint, write.written);
    counts.add(RunCounts {
        pages: 1,
        rows_written: write.written,
        rows_retired: retired,
        rows_rejected: write.rejected.len() as u64,
    });
    Ok(())
}

/// Retires what a clean pass did not see, if [`super::retirement`]'s rule allows: the pass
/// is fresh, its parents completed, and an empty listing does not retire a full partition.
async fn retire<S: PartitionSink>(
    tx: &mut PgConnection,
    partition: &mut Partition<S>,
    pass: &Pass,
    gate: &ParentGate,
) -> anyhow::Result<u64> {
    let stream = partition.request.endpoint;
    if pass.resumed {
        tracing::info!(%stream, partition = partition.key, "the pass resumed an earlier one: nothing retired");
        return Ok(0);
    }
    if !gate.allows() {
        return Ok(0);
    }
    let retired = partition.sink.retire(tx).await?;
    if !partition.sink.empty_listing_is_real() {
        retirement::check_empty_listing(stream, &partition.key, partition.sink.listed(), retired)?;
    }
    Ok(retired)
}
