//! Reading partitions: the page loop every stream shares. The reader owns the whole pass
//! of a partition: it loads the watermark and opens the read's window (from the
//! [`ReadMode`]), resumes an unfinished pass from its cursor, and writes one transaction
//! per page holding the page's rows, its malformed records and the cursor to the next
//! page; the last page of a clean pass also retires what was not seen (when
//! [`super::retirement`] allows it) and moves the watermark.
//!
//! A stream whose pass vouches for more than each partition does reads through a
//! [`StreamPass`]: several batches of partitions (the directory's root, then its contact
//! range, then the subtrees too large to read at once), ended by one step in one
//! transaction that only a pass complete in every partition reaches: retirement across
//! partitions (a user missing from one department may sit in another) and the watermarks
//! of `sync_state` partitions that several requests share (review data's semesters, ten a
//! request, loaded with [`window_start`] before the stream groups them). Stream modules
//! say what their partitions, windows and retirements are; only the reader opens the
//! transactions that retire and move watermarks.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;

use super::context::SyncContext;
use super::failure::{PartitionFailure, StalePageToken};
use super::outcome::StreamOutcome;
use super::page::{PassEnd, PassRules, write_last_page, write_page};
use super::read_mode::ReadMode;
use super::rejects::{self, RejectedRecord};
use super::retirement::{self, ParentGate};
use super::sink::{Partition, PartitionSink, PassSink};
use crate::db::RunCounts;
use crate::feishu::{ApiError, Endpoint, Page, Pager, PagingEnd};
use crate::shutdown::{CancellationToken, Interrupted};
use crate::sync_state::{self, Cursor, Pass};

/// Reads `partitions` (those `mode` selects), up to `in_flight` at once, into one
/// outcome. Partitions share the endpoint's budget, so running a few at once only hides
/// latency: while one waits for a response or writes a page, another's request can leave
/// on time. An answer that every partition would get (no quota, scope or token) starts no
/// further partition.
pub async fn read_partitions<S: PartitionSink + Send>(
    ctx: &SyncContext,
    mode: &ReadMode,
    partitions: impl IntoIterator<Item = Partition<S>>,
    in_flight: usize,
) -> StreamOutcome {
    let mut outcome = StreamOutcome::default();
    // Collected, not lazy: a filter's closure held across awaits defeats rustc's Send
    // proof for the spawned service future (rust-lang/rust#102211).
    let selected: Vec<Partition<S>> = partitions
        .into_iter()
        .filter(|p| mode.reads(p.request.endpoint, &p.key))
        .collect();
    let mut pending = selected.into_iter().peekable();
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
                Some(partition) => running.push(read_one(ctx, mode, partition, gate)),
                None => break,
            }
        }
        let Some((key, counts, result)) = running.next().await else {
            break;
        };
        outcome.resumed |= matches!(result, Ok(PassEnd::CompleteResumed));
        outcome.fold(&key, counts, result.map(PassEnd::shortfall));
    }
    outcome
}

/// One pass of a stream read in batches of partitions, ended by the stream's [`PassSink`]:
/// begun before the first request (its start is the watermark it records), then
/// [`StreamPass::read`] once per batch, then [`StreamPass::end`].
pub struct StreamPass<'a> {
    ctx: &'a SyncContext,
    mode: &'a ReadMode,
    stream: Endpoint,
    started: DateTime<Utc>,
    /// What the pass has come to so far; a stream adds what it reads outside the page
    /// loop (records granted one by one, a group's members) and takes out what it handles
    /// itself (the root's refusal, subtrees too large to read at once).
    pub outcome: StreamOutcome,
}

impl<'a> StreamPass<'a> {
    /// Starts a pass of `stream` now.
    pub fn begin(ctx: &'a SyncContext, mode: &'a ReadMode, stream: Endpoint) -> Self {
        StreamPass {
            ctx,
            mode,
            stream,
            started: Utc::now(),
            outcome: StreamOutcome::default(),
        }
    }

    /// Reads one batch of the pass's partitions (see [`read_partitions`]) into its outcome.
    pub async fn read<S: PartitionSink + Send>(
        &mut self,
        partitions: impl IntoIterator<Item = Partition<S>>,
        in_flight: usize,
    ) {
        let batch = read_partitions(self.ctx, self.mode, partitions, in_flight).await;
        self.outcome.absorb(batch);
    }

    /// Ends the pass: when every partition read completely (nothing failed, refused,
    /// withheld by a parent, cut short or resumed) and the run read every partition, one
    /// transaction records the partitions `sink` completes (watermark: the pass's start;
    /// not for a backfill from a date, whose window the operator chose) and retires what
    /// `sink` says the pass did not see, under the empty-listing guard. Its counts join
    /// the outcome.
    pub async fn end(mut self, sink: impl PassSink) -> anyhow::Result<StreamOutcome> {
        let stream = self.stream;
        if !self.outcome.all_complete() {
            tracing::info!(%stream, "the pass was not complete: nothing retired across its partitions, no shared watermark moved");
            return Ok(self.outcome);
        }
        if !self.mode.reads_every_partition() {
            tracing::info!(%stream, "a re-read of chosen partitions: nothing retired across partitions, no shared watermark moved");
            return Ok(self.outcome);
        }
        let mut tx = self.ctx.pool.begin().await?;
        let completes = sink.completes();
        let dated_backfill = matches!(self.mode, ReadMode::Backfill { since: Some(_) });
        if !completes.is_empty() && !dated_backfill {
            let watermark = Some(self.started);
            sync_state::record_complete(&mut tx, stream.name(), &completes, watermark).await?;
        }
        let counts = sink.retire(&mut tx).await?;
        retirement::check_empty_listing(stream, "", sink.listed(), counts.rows_retired)?;
        tx.commit()
            .await
            .context("committing the end of the pass")?;
        self.outcome.counts.add(counts);
        Ok(self.outcome)
    }
}

/// One partition read, with what it committed whether or not it finished. It resumes an
/// unfinished pass of the same request at its next page. A page token the server rejects
/// (expired, say) restarts the partition from its beginning, once: what was written is
/// written again unchanged, and nothing is lost.
async fn read_one<S: PartitionSink + Send>(
    ctx: &SyncContext,
    mode: &ReadMode,
    mut partition: Partition<S>,
    gate: &ParentGate,
) -> (String, RunCounts, anyhow::Result<PassEnd>) {
    let mut counts = RunCounts::default();
    let (cursor, moves_watermark) = match start_pass(ctx, mode, &mut partition).await {
        Ok(start) => start,
        Err(error) => return (partition.key, counts, Err(error)),
    };
    let rules = PassRules {
        gate,
        moves_watermark,
    };
    let mut result = read_partition(ctx, &mut partition, cursor, &rules, &mut counts).await;
    let token_rejected = |r: &anyhow::Result<PassEnd>| {
        r.as_ref()
            .err()
            .is_some_and(|e| matches!(PartitionFailure::of(e), PartitionFailure::StalePageToken))
    };
    if token_rejected(&result) {
        tracing::warn!(
            stream = partition.request.endpoint.name(),
            partition = partition.key,
            "page token rejected; reading the partition again from its beginning"
        );
        result = read_partition(ctx, &mut partition, None, &rules, &mut counts).await;
    }
    let result = settle_failure(ctx, &partition, result).await;
    (partition.key, counts, result)
}

/// Where a partition's pass starts. For a windowed stream, the watermark is loaded and
/// the request narrowed to the window `mode` computes from it; then the cursor of an
/// unfinished pass of that same request, if any, says which page comes next. Also says
/// whether a clean pass moves the watermark ([`ReadMode::moves_watermark`]).
async fn start_pass<S: PartitionSink>(
    ctx: &SyncContext,
    mode: &ReadMode,
    partition: &mut Partition<S>,
) -> anyhow::Result<(Option<Cursor>, bool)> {
    let mut moves_watermark = true;
    if let Some(lookback) = partition.sink.lookback() {
        let endpoint = partition.request.endpoint;
        let watermark = sync_state::watermark(&ctx.pool, endpoint, &partition.key).await?;
        if let Some(start) = mode.window_start(watermark, lookback) {
            partition.sink.open_window(&mut partition.request, start);
        }
        moves_watermark = mode.moves_watermark(watermark, lookback);
        if !moves_watermark {
            tracing::info!(
                stream = endpoint.name(),
                partition = partition.key,
                "a backfill from a date after the watermark: the watermark stays, so the next incremental read reads the changes in between"
            );
        }
    }
    Ok((resume_cursor(ctx, partition).await?, moves_watermark))
}

/// Where the read of `key`, a `sync_state` partition of `stream`, starts (`None`: read it
/// whole): its watermark, loaded here, through [`ReadMode::window_start`]. The reader calls
/// it for each windowed partition; a stream whose requests span several partitions (review
/// data) calls it to group them by window, and completes them with a [`StreamPass`].
pub async fn window_start(
    ctx: &SyncContext,
    mode: &ReadMode,
    stream: Endpoint,
    key: &str,
    lookback: Duration,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let watermark = sync_state::watermark(&ctx.pool, stream, key).await?;
    Ok(mode.window_start(watermark, lookback))
}

/// The cursor of an unfinished pass of the partition's request; one that failed every
/// run since it was saved is dropped, and the partition read from its first page.
async fn resume_cursor<S>(
    ctx: &SyncContext,
    partition: &Partition<S>,
) -> anyhow::Result<Option<Cursor>> {
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    let cursor = sync_state::load_cursor(&ctx.pool, stream, key, &partition.request).await?;
    match cursor {
        Some(c) if c.failures >= MAX_CURSOR_FAILURES => {
            tracing::warn!(
                stream,
                partition = key,
                failed_runs = c.failures,
                "dropping a resume cursor that failed every run since it was saved; reading the partition from its first page"
            );
            sync_state::drop_cursor(&ctx.pool, stream, key).await?;
            Ok(None)
        }
        Some(c) => {
            tracing::info!(
                stream,
                partition = key,
                pages_done = c.pass.pages,
                "resuming an unfinished pass at its next page"
            );
            Ok(Some(c))
        }
        None => Ok(None),
    }
}

/// What a failed read leaves: the API's refusal of the partition's parameters is
/// quarantined (the read then ends [`PassEnd::Quarantined`]); any other failure that is
/// the page's fault counts against the resume cursor.
async fn settle_failure<S>(
    ctx: &SyncContext,
    partition: &Partition<S>,
    result: anyhow::Result<PassEnd>,
) -> anyhow::Result<PassEnd> {
    let stream = partition.request.endpoint.name();
    let key = partition.key.as_str();
    let refusal = match &result {
        Err(error) => match PartitionFailure::of(error) {
            PartitionFailure::Api(api) if api.is_invalid_parameter() => Some(api),
            _ => None,
        },
        Ok(_) => None,
    };
    let quarantined = match refusal {
        Some(api) => Some(quarantine(ctx, stream, key, api).await),
        None => None,
    };
    let result = quarantined.unwrap_or(result);
    if let Err(error) = &result
        && counts_against_cursor(error)
        && let Err(e) = sync_state::cursor_failed(&ctx.pool, stream, key).await
    {
        tracing::warn!(stream, partition = key, error = %format!("{e:#}"), "could not count the failure against the resume cursor");
    }
    result
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
    rules: &PassRules<'_>,
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
            return write_last_page(ctx, partition, &pass, page, rules, counts).await;
        }
        let (written, fetched) = tokio::join!(
            write_page(ctx, partition, &mut pass, page, counts),
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
    Ok(PassEnd::Complete)
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
