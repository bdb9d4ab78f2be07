//! Reading partitions: the page loop every stream shares. One transaction per page holds
//! the page's rows, its malformed records and the cursor to the next page; the last page of
//! a clean pass also retires what was not seen (when [`super::retirement`] allows it) and
//! moves the watermark.

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use super::context::{StreamOutcome, SyncContext};
use super::failure::{PartitionFailure, StalePageToken};
use super::rejects::{self, RejectedRecord};
use super::retirement::{self, ParentGate};
use crate::db::RunCounts;
use crate::feishu::{ApiError, ApiRequest, Page, Pager, PagingEnd};
use crate::shutdown::{CancellationToken, Interrupted};
use crate::sync_state::{self, Cursor, Pass};

/// One partition of a stream: its `sync_state` key (`""` for single-partition streams),
/// its request and the sink that writes it.
pub struct Partition<S> {
    pub key: String,
    pub request: ApiRequest,
    pub sink: S,
}

/// What a sink made of one page.
#[derive(Debug, Default)]
pub struct PageWrite {
    /// Rows inserted or changed.
    pub written: u64,
    /// Records that could not be mapped; the rest of the page was written.
    pub rejected: Vec<RejectedRecord>,
}

/// What a clean pass over a partition leaves behind: the watermark the partition reader
/// records (through [`crate::sync_state`]) in the same transaction. A sink returns its
/// watermark; it never writes one.
#[derive(Debug, Default)]
pub struct Completion {
    /// The partition's new watermark; `None` keeps the old one (streams without a time
    /// filter record only that a pass completed).
    pub watermark: Option<DateTime<Utc>>,
    /// The `sync_state` partitions the pass completes, when not just its own key
    /// (activities read up to ten semesters per request, and keep state per semester).
    pub partitions: Option<Vec<String>>,
}

/// A stream's side of reading one partition: write each page's rows, then, after the
/// last page of a clean pass, say where the watermark goes and, when the reader allows
/// it, retire what was not seen. All run inside the page's transaction.
pub trait PartitionSink {
    /// The typed `data` object of one page.
    type Data: DeserializeOwned + Send;

    /// Upserts one page.
    fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: Self::Data,
    ) -> impl Future<Output = anyhow::Result<PageWrite>> + Send;

    /// Called once after the last page of a pass that met no malformed record.
    fn complete(
        &mut self,
        tx: &mut PgConnection,
        pass: &Pass,
    ) -> impl Future<Output = anyhow::Result<Completion>> + Send;

    /// What to retire: called after [`PartitionSink::complete`] only when the reader
    /// allows it (a fresh, clean pass whose parents completed; see
    /// [`super::retirement`]). Returns the rows given `deleted_at`.
    fn retire(&mut self, tx: &mut PgConnection)
    -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Records the pass listed, for the empty-listing guard.
    fn listed(&self) -> usize;

    /// Whether an empty listing is a real state that may retire every row of the
    /// partition (a user's emptied to-do list); by default it is refused.
    fn empty_listing_is_real(&self) -> bool {
        false
    }
}

/// How a pass over a partition ended, when it reached its last page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassEnd {
    Completed,
    /// Completed, but the pass resumed an earlier run's: nothing was retired.
    CompletedResumed,
    /// Malformed records were skipped: nothing was retired and the watermark held.
    Rejected(i32),
    /// The API refused the partition's parameters; the answer is in `sync_errors`.
    Quarantined,
}

/// Reads `partitions`, up to `in_flight` at once, into one outcome. Partitions share the
/// endpoint's budget, so running a few at once only hides latency: while one waits for a
/// response or writes a page, another's request can leave on time. An answer that every
/// partition would get (no quota, scope or token) starts no further partition.
pub async fn read_partitions<S: PartitionSink + Send>(
    ctx: &SyncContext,
    partitions: impl IntoIterator<Item = Partition<S>>,
    in_flight: usize,
) -> StreamOutcome {
    let mut outcome = StreamOutcome::default();
    let mut pending = partitions.into_iter().peekable();
    let gate = match pending.peek() {
        Some(first) => ParentGate::check(ctx, first.request.endpoint).await,
        None => ParentGate::default(),
    };
    outcome.withheld = gate.withheld.clone();
    let gate = &gate;
    let mut running = FuturesUnordered::new();
    loop {
        // Once the stream is stopped (no quota, scope or token), no partition starts.
        while running.len() < in_flight.max(1) && outcome.stopped_by.is_none() {
            match pending.next() {
                Some(partition) => running.push(read_one(ctx, partition, gate)),
                None => break,
            }
        }
        let Some((key, counts, result)) = running.next().await else {
            break;
        };
        outcome.resumed |= matches!(result, Ok(PassEnd::CompletedResumed));
        let result = result.map(|end| match end {
            PassEnd::Completed | PassEnd::CompletedResumed => None,
            PassEnd::Rejected(n) => Some(format!(
                "{n} malformed records skipped (see feishu.sync_errors); nothing retired, watermark held"
            )),
            PassEnd::Quarantined => Some(
                "the API refused the partition's parameters; quarantined in feishu.sync_errors".to_string(),
            ),
        });
        outcome.fold(&key, counts, result);
    }
    outcome
}

/// One partition read, with what it committed whether or not it finished. It resumes an
/// unfinished pass of the same request at its next page. A page token the server rejects
/// (expired, say) restarts the partition from its beginning, once: what was written is
/// written again unchanged, and nothing is lost.
async fn read_one<S: PartitionSink + Send>(
    ctx: &SyncContext,
    mut partition: Partition<S>,
    gate: &ParentGate,
) -> (String, RunCounts, anyhow::Result<PassEnd>) {
    let stream = partition.request.endpoint.name();
    let mut counts = RunCounts::default();
    let cursor = match sync_state::load_cursor(
        &ctx.pool,
        stream,
        &partition.key,
        &partition.request,
    )
    .await
    {
        Ok(cursor) => cursor,
        Err(error) => return (partition.key, counts, Err(error)),
    };
    let cursor = match cursor {
        Some(c) if c.failures >= MAX_CURSOR_FAILURES => {
            tracing::warn!(
                stream,
                partition = partition.key,
                failed_runs = c.failures,
                "dropping a resume cursor that failed every run since it was saved; reading the partition from its first page"
            );
            if let Err(error) = sync_state::drop_cursor(&ctx.pool, stream, &partition.key).await {
                return (partition.key, counts, Err(error));
            }
            None
        }
        other => other,
    };
    if let Some(cursor) = &cursor {
        tracing::info!(
            stream,
            partition = partition.key,
            pages_done = cursor.pass.pages,
            "resuming an unfinished pass at its next page"
        );
    }
    let mut result = read_partition(ctx, &mut partition, cursor, gate, &mut counts).await;
    let token_rejected = |r: &anyhow::Result<PassEnd>| {
        r.as_ref()
            .err()
            .is_some_and(|e| matches!(PartitionFailure::of(e), PartitionFailure::StalePageToken))
    };
    if token_rejected(&result) {
        tracing::warn!(
            stream,
            partition = partition.key,
            "page token rejected; reading the partition again from its beginning"
        );
        result = read_partition(ctx, &mut partition, None, gate, &mut counts).await;
    }
    let refused = result
        .as_ref()
        .err()
        .and_then(|e| match PartitionFailure::of(e) {
            PartitionFailure::Api(api) => Some(api),
            _ => None,
        })
        .filter(|e| e.is_invalid_parameter());
    if let Some(error) = refused {
        result = quarantine(ctx, stream, &partition.key, error).await;
    }
    if let Err(error) = &result
        && counts_against_cursor(error)
        && let Err(e) = sync_state::cursor_failed(&ctx.pool, stream, &partition.key).await
    {
        tracing::warn!(stream, partition = partition.key, error = %format!("{e:#}"), "could not count the failure against the resume cursor");
    }
    (partition.key, counts, result)
}

/// Runs in a row a resume cursor may fail before it is dropped and the partition is read
/// from its first page again.
pub const MAX_CURSOR_FAILURES: i32 = 3;

/// Whether a failed read counts against the partition's cursor: not a shutdown, and not
/// an answer every partition gets alike (no quota, scope or token), which is no fault of
/// the page.
fn counts_against_cursor(error: &anyhow::Error) -> bool {
    match PartitionFailure::of(error) {
        PartitionFailure::Interrupted => false,
        PartitionFailure::Api(api) => !api.stops_the_stream(),
        PartitionFailure::StalePageToken | PartitionFailure::Other => true,
    }
}

/// Pages through the partition from `cursor` (or its first page), adding what it commits
/// to `counts`. The next page is fetched while the current one is written. A shutdown
/// stops it between pages (a fetch in flight is abandoned: nothing of it was written)
/// with [`Interrupted`].
async fn read_partition<S: PartitionSink>(
    ctx: &SyncContext,
    partition: &mut Partition<S>,
    cursor: Option<Cursor>,
    gate: &ParentGate,
    counts: &mut RunCounts,
) -> anyhow::Result<PassEnd> {
    let request = partition.request.clone();
    let (mut pager, mut pass) = match cursor {
        Some(c) => (Pager::resume(&ctx.client, request, c.page_token), c.pass),
        None => (Pager::new(&ctx.client, request), Pass::fresh()),
    };
    let shutdown = &ctx.shutdown;
    let mut next = fetch(&mut pager, shutdown).await?;
    while let Some(page) = next {
        if page.last {
            return write_page(ctx, partition, &mut pass, page, gate, counts).await;
        }
        let (written, fetched) = tokio::join!(
            write_page(ctx, partition, &mut pass, page, gate, counts),
            fetch(&mut pager, shutdown)
        );
        written?;
        next = fetched?;
    }
    if pager.end() == PagingEnd::Truncated {
        let reason = pager
            .truncated_because()
            .unwrap_or("has_more without a new page_token");
        anyhow::bail!(
            "the server stopped paging early ({reason}, after {} pages); nothing was retired and the watermark did not move",
            pager.pages()
        );
    }
    Ok(PassEnd::Completed)
}

/// The next page, unless a shutdown comes first. A token-related refusal of a request
/// that sent a token becomes [`StalePageToken`].
async fn fetch<T: DeserializeOwned>(
    pager: &mut Pager<'_>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Page<T>>> {
    let sends_token = pager.sends_token();
    // The first request of a resumed read carries the saved token: any refusal of it (a
    // code the endpoint documents for bad tokens or not) restarts the partition.
    let resumed_first = sends_token && pager.pages() == 0;
    let page = tokio::select! {
        biased;
        _ = shutdown.cancelled() => return Err(Interrupted.into()),
        page = pager.next_page::<T>() => page,
    };
    match page {
        Err(error) if sends_token && error.is_bad_page_token() => Err(StalePageToken(error).into()),
        Err(error @ (ApiError::Api { .. } | ApiError::Shape { .. })) if resumed_first => {
            Err(StalePageToken(error).into())
        }
        page => Ok(page?),
    }
}

/// Files the API's refusal of a partition's parameters in `sync_errors` (the record is
/// the answer), so the stream's other partitions succeed and the run ends `partial`. A
/// later complete read of the partition resolves it.
async fn quarantine(
    ctx: &SyncContext,
    stream: &str,
    partition: &str,
    error: &ApiError,
) -> anyhow::Result<PassEnd> {
    tracing::warn!(stream, partition, error = %error, "the API refused the partition's parameters; quarantined");
    // The answer without its log id, so the same refusal next run counts another
    // occurrence of one error instead of adding a row.
    let answer = match error {
        ApiError::Api { code, msg, .. } => serde_json::json!({ "code": code, "msg": msg }),
        other => serde_json::json!({ "code": other.code() }),
    };
    let reject = RejectedRecord {
        key: None,
        reason: error.to_string(),
        raw: answer,
    };
    let mut tx = ctx.pool.begin().await?;
    rejects::record_rejects(&mut tx, stream, partition, &[reject]).await?;
    tx.commit().await?;
    Ok(PassEnd::Quarantined)
}

/// Writes one page in its own transaction, with its malformed records and the cursor to
/// the next page. The last page ends the pass: a clean pass completes (moves the
/// watermark, resolves old errors, and retires when allowed); one with malformed records
/// leaves all three alone.
async fn write_page<S: PartitionSink>(
    ctx: &SyncContext,
    partition: &mut Partition<S>,
    pass: &mut Pass,
    page: Page<S::Data>,
    gate: &ParentGate,
    counts: &mut RunCounts,
) -> anyhow::Result<PassEnd> {
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    let mut tx = ctx
        .pool
        .begin()
        .await
        .context("starting a page transaction")?;
    let write = partition.sink.write_page(&mut tx, page.data).await?;
    if !write.rejected.is_empty() {
        rejects::record_rejects(&mut tx, stream, key, &write.rejected).await?;
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
    let mut next_pass = pass.clone();
    next_pass.pages += 1;
    next_pass.rejected += write.rejected.len() as i32;
    let (end, retired) = match (page.last, &page.next_token, next_pass.rejected) {
        (false, Some(token), _) => {
            let cursor = Cursor {
                page_token: token.clone(),
                pass: next_pass.clone(),
                failures: 0,
            };
            sync_state::save_cursor(&mut tx, stream, key, &partition.request, &cursor).await?;
            (PassEnd::Completed, 0)
        }
        // Paging stopped early (reported by the caller): nothing to resume, nothing complete.
        (false, None, _) => {
            sync_state::end_pass(&mut tx, stream, key).await?;
            (PassEnd::Completed, 0)
        }
        (true, _, 0) => {
            sync_state::end_pass(&mut tx, stream, key).await?;
            let completion = partition.sink.complete(&mut tx, &next_pass).await?;
            let partitions = completion
                .partitions
                .unwrap_or_else(|| vec![key.to_string()]);
            sync_state::record_complete(&mut tx, stream, &partitions, completion.watermark).await?;
            rejects::resolve_rejects(&mut tx, stream, key).await?;
            let retired = retire(&mut tx, partition, &next_pass, gate).await?;
            match next_pass.resumed {
                true => (PassEnd::CompletedResumed, 0),
                false => (PassEnd::Completed, retired),
            }
        }
        (true, _, rejected) => {
            sync_state::end_pass(&mut tx, stream, key).await?;
            (PassEnd::Rejected(rejected), 0)
        }
    };
    tx.commit().await.context("committing a page")?;
    *pass = next_pass;
    ctx.metrics
        .page_committed(partition.request.endpoint, write.written);
    counts.add(RunCounts {
        pages: 1,
        rows_written: write.written,
        rows_retired: retired,
        rows_rejected: write.rejected.len() as u64,
    });
    Ok(end)
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
