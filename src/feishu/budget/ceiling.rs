//! How many requests per window one endpoint may send: the configured rate until a
//! frequency limit says otherwise, then the ceiling learned from that limit, probed above
//! only rarely; and how long each limit pauses the endpoint. No clock is read here: every
//! event carries its time, so tests drive it with any time they like.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::headers::{Reset, confirms};
use super::pacer::{MIN_MARGIN, spread};
use super::send_log::{Departure, SendLog};

/// A limit answered while the endpoint sent below its budget (not "bound" by it) cannot be
/// explained by its own pace; it leaves this share of the budget, as TCP's cut would.
pub(super) const DECREASE: f64 = 0.85;

/// Successive windows' worth of successes at the learned ceiling before the budget probes
/// above it: 20 minutes of full use in production's 60-second windows.
pub(super) const PROBE_AFTER_WINDOWS: u32 = 20;

/// The first probe above the ceiling adds this share of it (at least one request); each
/// probe that meets no limit doubles the next step.
pub(super) const PROBE_SHARE: u32 = 50;

/// Shortened pauses whose requests a late answer may still disprove.
const EARLY_SPANS_KEPT: usize = 4;

/// What a frequency limit did to the budget, for the log and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub from: u32,
    pub to: u32,
    /// Whether the cut measured the server's ceiling below the budget's pace (and
    /// remembered it).
    pub learned: bool,
}

/// What one frequency-limit answer does: how long the endpoint pauses, and the cut if it
/// made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limit {
    pub(super) pause: Duration,
    pub(super) cut: Option<Cut>,
    /// A request that left before the server's reset was over (on the send log's word)
    /// met a limit: the log does not explain this server's window, and from now on every
    /// pause lasts the whole reset.
    pub(super) log_disproved: bool,
}

/// A pause that ended before the server's reset: requests numbered from `first_seq`
/// that left before `until` left on the send log's word alone.
#[derive(Debug, Clone, Copy)]
struct EarlySpan {
    first_seq: u64,
    until: Instant,
}

/// The budget of one endpoint and what it has learned.
#[derive(Debug)]
pub(super) struct RateLearner {
    window: Duration,
    configured: u32,
    /// Requests per window in force now: at most the ceiling, at most the configured rate.
    current: u32,
    /// Requests per window at which the last frequency limits came, while below the
    /// configured rate; `None` until a limit is measured, or once a probe reaches it.
    ceiling: Option<u32>,
    log: SendLog,
    /// Successes since the budget last changed or a window's worth was counted.
    successes: u32,
    /// Windows' worth of successes at the ceiling since the last limit or probe.
    quiet_windows: u32,
    /// Probes in a row that met no limit; each doubles the next step.
    probes: u32,
    /// Whether a probe raised the budget above the ceiling last measured (a limit then
    /// measures the ceiling again; at the measured ceiling, one near the pace is jitter).
    probing: bool,
    /// When the last measured limit came near the budget's own pace (maybe jitter): a
    /// second one soon after is the ceiling.
    near_pace_limit: Option<Instant>,
    /// The first departure after the last cut: answers to earlier ones are echoes of the
    /// same excess and only pause.
    cut_seq: Option<u64>,
    /// Whether a measured limit's pause may end before the server's whole-second reset
    /// (see [`RateLearner::limited`]); false once that met a limit.
    trust_log: bool,
    /// Whether the cut in force shortened its pause (its echoes' pauses are shortened
    /// too).
    shortened: bool,
    /// The last shortened pauses, newest last.
    early_spans: VecDeque<EarlySpan>,
}

impl RateLearner {
    /// A budget at `configured` requests per `window` (at least one).
    pub(super) fn new(configured: u32, window: Duration) -> Self {
        let configured = configured.max(1);
        RateLearner {
            window,
            configured,
            current: configured,
            ceiling: None,
            log: SendLog::new(window),
            successes: 0,
            quiet_windows: 0,
            probes: 0,
            probing: false,
            near_pace_limit: None,
            cut_seq: None,
            trust_log: true,
            shortened: false,
            early_spans: VecDeque::new(),
        }
    }

    /// Requests per window in force now.
    pub(super) fn current(&self) -> u32 {
        self.current
    }

    /// The learned ceiling, while it is below the configured rate.
    pub(super) fn ceiling(&self) -> Option<u32> {
        self.ceiling
    }

    /// Starts from a `ceiling` an earlier process learned, where it is below the configured
    /// rate: the ceiling and the budget both, as if this process had measured it (so it is
    /// probed above as rarely). Returns whether it was taken.
    pub(super) fn remember(&mut self, ceiling: u32) -> bool {
        let ceiling = ceiling.max(1);
        if ceiling >= self.configured {
            return false;
        }
        self.ceiling = Some(ceiling);
        self.current = ceiling;
        true
    }

    /// A request left at `at`; `waited` says whether it had to wait for its slot.
    pub(super) fn sent(&mut self, at: Instant, waited: bool) -> Departure {
        self.log.sent(at, waited)
    }

    /// The request that made `departure` was answered at `now`.
    pub(super) fn answered(&mut self, departure: Departure, now: Instant) {
        self.log.answered(departure, now);
    }

    /// When a request may leave at the earliest, if not `now`: the answer gate at the
    /// budget in force ([`SendLog::clear_at`]).
    pub(super) fn clear_at(&self, now: Instant) -> Option<Instant> {
        self.log.clear_at(now, self.current)
    }

    /// The request that made `departure` was answered at `now` with the frequency limit and
    /// `reset`: the pause, and the cut ([`RateLearner::cut`]) unless the request left
    /// before the last cut (an echo of the same excess: only the pause).
    ///
    /// The pause is the server's reset, except after a measured limit (the endpoint was
    /// bound by its budget and the window held only ours) whose reset counts whole
    /// seconds, rounded up: the oldest request may then leave the server's window up to
    /// a second sooner (at the benchmark's pace 0.1 s after the limit, not 1 s), and the
    /// send log knows when. So the pause ends a second before the reset (it may be zero),
    /// and the answer gate holds each request until the new budget's worth of requests
    /// before it has left the window; the echoes of that cut pause as briefly. Should a
    /// request sent in that second meet a limit, the log was wrong about this server (a
    /// window it does not slide, requests of another app) or the budget a request too
    /// high: the budget dips by one, and every later pause lasts the whole reset.
    pub(super) fn limited(
        &mut self,
        departure: Departure,
        now: Instant,
        reset: Reset,
        announced: Option<u32>,
    ) -> Limit {
        // The rejected request did not count against the server's window.
        self.log.forget(departure);
        self.successes = 0;
        self.quiet_windows = 0;
        self.probes = 0;
        let probing = std::mem::take(&mut self.probing);
        if self.left_early(departure) {
            return self.disproved(reset);
        }
        if self.cut_seq.is_some_and(|seq| departure.seq < seq) {
            return Limit {
                pause: self.pause(reset),
                cut: None,
                log_disproved: false,
            };
        }
        let (cut, measured) = self.cut(departure, now, reset.wait, announced, probing);
        self.shortened = measured && self.trust_log && reset.whole_seconds;
        if self.shortened {
            if self.early_spans.len() == EARLY_SPANS_KEPT {
                self.early_spans.pop_front();
            }
            self.early_spans.push_back(EarlySpan {
                first_seq: self.log.next_seq(),
                until: now + reset.wait,
            });
        }
        Limit {
            pause: self.pause(reset),
            cut: Some(cut),
            log_disproved: false,
        }
    }

    /// How long a limit pauses the endpoint while the cut in force stands.
    fn pause(&self, reset: Reset) -> Duration {
        match self.shortened {
            true => reset.earliest(),
            false => reset.wait,
        }
    }

    /// Whether `departure` left during a shortened pause, before the server's reset was
    /// over.
    fn left_early(&self, departure: Departure) -> bool {
        self.early_spans
            .iter()
            .any(|span| departure.seq >= span.first_seq && departure.at < span.until)
    }

    /// A request that left during a shortened pause met a limit: the whole pause, a dip
    /// of one request (the count behind the budget may have been one too high), and no
    /// shortened pause again.
    fn disproved(&mut self, reset: Reset) -> Limit {
        self.trust_log = false;
        self.shortened = false;
        self.early_spans.clear();
        let from = self.current;
        let to = from.saturating_sub(1).max(1);
        self.current = to;
        self.ceiling = self.ceiling.map(|c| c.min(to));
        self.cut_seq = Some(self.log.next_seq());
        Limit {
            pause: reset.wait,
            cut: Some(Cut {
                from,
                to,
                learned: false,
            }),
            log_disproved: true,
        }
    }

    /// The cut a limit on a request sent after the last cut makes, and whether it was
    /// measured.
    ///
    /// If the endpoint was sending at its budget (most requests of the window queued for
    /// their slot), the requests it sent in the window before the refused one are what
    /// the server's window let through, provided that window held only ours
    /// ([`SendLog::only_ours`]). That count becomes the budget, and the ceiling too where
    /// it lies clearly below the budget's own pace, near it a second time running, or at
    /// a probe above a known ceiling (near the pace, a single limit may be jitter: only
    /// the small dip to the count).
    /// A limit is the ceiling at once when the server's announced limit, read per second
    /// or per window, is below the budget and within the count's own uncertainty of it
    /// ([`RateLearner::count_slack`], [`confirms`]): the announcement then corrects a
    /// count a request or three short.
    /// Otherwise the budget dips by [`DECREASE`], no deeper than the count, and climbs
    /// back soon.
    fn cut(
        &mut self,
        departure: Departure,
        now: Instant,
        reset: Duration,
        announced: Option<u32>,
        probing: bool,
    ) -> (Cut, bool) {
        let (count, waited) = self.log.window_before(departure);
        let measured =
            count > 0 && waited * 2 >= count && self.log.only_ours(departure.at, now, reset);
        let from = self.current;
        let pace = f64::from(from) * self.window.as_secs_f64() / spread(self.window).as_secs_f64();
        let slack = self.count_slack(from);
        let confirmed = measured
            .then(|| confirms(announced, self.window, count, from, slack))
            .flatten();
        let to = match (confirmed, measured) {
            (Some(announced), _) => announced,
            (None, true) => count.min(from),
            (None, false) => ((f64::from(from) * DECREASE) as u32).max(count.min(from)),
        }
        .max(1);
        // Below the pace by more than a request either side of the window's edge,
        // confirmed by the server's announcement, near the pace for the second time
        // running, or at a probe above the measured ceiling: the server's ceiling, not
        // jitter. Near the pace at the measured ceiling itself, a lone limit is jitter:
        // the dip, and the ceiling stays.
        let below_pace = count + 1 < pace.floor() as u32;
        let learned = measured
            && (below_pace
                || confirmed.is_some()
                || probing
                || self.near_pace_limit.is_some_and(|at| {
                    now.saturating_duration_since(at) < self.window * PROBE_AFTER_WINDOWS
                }));
        self.near_pace_limit = (measured && !below_pace && confirmed.is_none()).then_some(now);
        if learned {
            self.ceiling = (to < self.configured).then_some(to);
        }
        self.current = to;
        self.cut_seq = Some(self.log.next_seq());
        (Cut { from, to, learned }, measured)
    }

    /// How far a count of the window taken by our send times may be from the server's,
    /// which counts arrivals: the requests that leave within [`MIN_MARGIN`] (what moves
    /// a request between leaving and being counted: milliseconds, whatever the window) of
    /// the window's edge at a budget of `from`, at least one. At 21 a 2-second window
    /// that is one request, at 150 three; at 1,000 a minute, one.
    fn count_slack(&self, from: u32) -> u32 {
        let share = MIN_MARGIN.as_secs_f64() / self.window.as_secs_f64();
        ((f64::from(from) * share).ceil() as u32).max(1)
    }

    /// A request went through. After a window's worth of successes (as many as the
    /// budget allows per window) a budget below its target (the ceiling, else the
    /// configured rate) closes half the gap: fast far below, slowly near it. At the
    /// ceiling, [`PROBE_AFTER_WINDOWS`] such windows raise the ceiling itself by a step
    /// that doubles with each probe that meets no limit. Returns whether the budget
    /// changed.
    pub(super) fn succeeded(&mut self) -> bool {
        self.successes += 1;
        if self.successes < self.current {
            return false;
        }
        self.successes = 0;
        let target = self.ceiling.unwrap_or(self.configured);
        if self.current < target {
            let step = (target - self.current).div_ceil(2);
            self.current += step;
            return true;
        }
        let Some(ceiling) = self.ceiling else {
            return false;
        };
        self.quiet_windows += 1;
        if self.quiet_windows < PROBE_AFTER_WINDOWS {
            return false;
        }
        self.quiet_windows = 0;
        let step = (ceiling / PROBE_SHARE)
            .max(1)
            .saturating_mul(1 << self.probes.min(16));
        let raised = ceiling.saturating_add(step).min(self.configured);
        self.probes += 1;
        self.ceiling = (raised < self.configured).then_some(raised);
        // A probe that reached the configured rate leaves no ceiling to probe above.
        self.probing = self.ceiling.is_some();
        self.current = raised;
        true
    }
}
