//! How many requests per window one endpoint may send: the configured rate until a
//! frequency limit says otherwise, then the ceiling learned from that limit, probed above
//! only rarely. No clock is read here: every event carries its time, so tests drive it
//! with any time they like.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::headers::{confirms, whole_secs};
use super::pacer::spread;

/// A limit answered while the endpoint sent below its budget (not "bound" by it) cannot be
/// explained by its own pace; it leaves this share of the budget, as TCP's cut would.
pub(super) const DECREASE: f64 = 0.85;

/// Successive windows' worth of successes at the learned ceiling before the budget probes
/// above it: 20 minutes of full use in production's 60-second windows.
pub(super) const PROBE_AFTER_WINDOWS: u32 = 20;

/// The first probe above the ceiling adds this share of it (at least one request); each
/// probe that meets no limit doubles the next step.
pub(super) const PROBE_SHARE: u32 = 50;

/// How often a request waiting for an earlier one's answer looks again.
const ANSWER_POLL: Duration = Duration::from_millis(2);

/// One request as it left its budget: handed back with its answer, so the budget knows
/// which request was answered even where two left at the same instant (a coarse clock,
/// or several released by the same answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure {
    /// When it left.
    pub at: Instant,
    seq: u64,
}

/// One slot taken in the last window: when the request left, and whether it had to wait
/// for its slot (the endpoint wanted to send faster than its budget allowed).
#[derive(Debug, Clone, Copy)]
struct Slot {
    departure: Departure,
    waited: bool,
    /// When its answer came; the server counted it before then.
    answered: Option<Instant>,
}

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
    /// Slots taken within the last two windows (a refused request's answer comes after
    /// later ones left, and its window reaches back from when it was sent).
    slots: VecDeque<Slot>,
    /// Departures so far, numbering the next.
    departures: u64,
    /// The first slot this process took: from a window later on, the server's window
    /// holds only requests we know of.
    first_sent: Option<Instant>,
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
    /// When the budget was last cut: answers to requests sent before then are echoes of
    /// the same excess and only pause.
    cut_at: Option<Instant>,
    /// Whether a measured limit's pause may end before the server's whole-second reset
    /// (see [`RateLearner::limited`]); false once that met a limit.
    trust_log: bool,
    /// Where the last cut's pause ended early: when the server's reset would have ended.
    /// A request sent before then left on the log's word alone.
    early_until: Option<Instant>,
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
            slots: VecDeque::new(),
            departures: 0,
            first_sent: None,
            successes: 0,
            quiet_windows: 0,
            probes: 0,
            probing: false,
            near_pace_limit: None,
            cut_at: None,
            trust_log: true,
            early_until: None,
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
        while self
            .slots
            .front()
            .is_some_and(|s| at.saturating_duration_since(s.departure.at) >= self.window * 2)
        {
            self.slots.pop_front();
        }
        let departure = Departure {
            at,
            seq: self.departures,
        };
        self.departures += 1;
        self.slots.push_back(Slot {
            departure,
            waited,
            answered: None,
        });
        self.first_sent.get_or_insert(at);
        departure
    }

    /// The request that made `departure` was answered at `now`.
    pub(super) fn answered(&mut self, departure: Departure, now: Instant) {
        let slot = self
            .slots
            .iter_mut()
            .rev()
            .find(|s| s.departure == departure);
        if let Some(slot) = slot {
            slot.answered.get_or_insert(now);
        }
    }

    /// When a request may leave at the earliest, if not `now`: a window after the request
    /// a budget's worth before it was answered. The server stamped that one before its
    /// answer came and stamps the new one after it leaves, so however late the old one
    /// reached it (a busy host, a new connection), the two never share a window, and a
    /// request counted early cannot meet a frequency limit. At the even pace this binds
    /// only when an answer took longer than the pacing margin. One not answered yet is
    /// waited for ([`ANSWER_POLL`] at a time) up to a window after it left.
    pub(super) fn clear_at(&self, now: Instant) -> Option<Instant> {
        let budget = self.current as usize;
        let old = *self
            .slots
            .len()
            .checked_sub(budget)
            .map(|i| &self.slots[i])?;
        let answered = match old.answered {
            Some(at) => at,
            None if now < old.departure.at + self.window => return Some(now + ANSWER_POLL),
            None => old.departure.at + self.window,
        };
        let clear = answered + self.window;
        (clear > now).then_some(clear)
    }

    /// The request that made `departure` (sent at `sent_at`) was answered at `now` with the
    /// frequency limit and a wait of `reset`: the pause, and the cut ([`RateLearner::cut`]) unless the request
    /// left before the last cut (an echo of the same excess: only the pause).
    ///
    /// The pause is the server's `reset`, except after a measured limit (the endpoint was
    /// bound by its budget and the window held only ours): then the send log knows the
    /// server's window, and the gate ([`RateLearner::clear_at`]) holds each request until
    /// a request of the new budget's worth has left it. The reset counts whole seconds,
    /// rounded up, so the oldest request may leave the window up to a second sooner (at
    /// the benchmark's pace 0.1 s after the limit, not 1 s): the pause then ends a second
    /// before the reset, and the gate decides. Should a request sent in that second meet
    /// a limit, the log was wrong about this server (a window it does not slide, requests
    /// of another app), and every later pause lasts the whole reset.
    pub(super) fn limited(
        &mut self,
        departure: Departure,
        now: Instant,
        reset: Duration,
        announced: Option<u32>,
    ) -> Limit {
        let sent_at = departure.at;
        if let Some(i) = self.slots.iter().rposition(|s| s.departure == departure) {
            // The rejected request did not count against the server's window.
            self.slots.remove(i);
        }
        self.successes = 0;
        self.quiet_windows = 0;
        self.probes = 0;
        let probing = std::mem::take(&mut self.probing);
        let early = |learner: &Self| match learner.early_until {
            Some(_) => reset.saturating_sub(Duration::from_secs(1)),
            None => reset,
        };
        if self.cut_at.is_some_and(|at| sent_at <= at) {
            let pause = early(self);
            return Limit {
                pause,
                cut: None,
                log_disproved: false,
            };
        }
        if self.early_until.take().is_some_and(|until| sent_at < until) {
            self.trust_log = false;
            self.cut_at = Some(now);
            return Limit {
                pause: reset,
                cut: None,
                log_disproved: true,
            };
        }
        let (cut, measured) = self.cut(departure, now, reset, announced, probing);
        self.early_until = (measured && self.trust_log).then_some(now + reset);
        Limit {
            pause: early(self),
            cut: Some(cut),
            log_disproved: false,
        }
    }

    /// The cut a limit on a request sent after the last one makes, and whether it was
    /// measured.
    ///
    /// If the endpoint was sending at its budget (most requests of the window queued for
    /// their slot), the requests it sent in the window before `sent_at` are what the
    /// server's window let through, provided that window held only ours: we have sent for
    /// a whole window, or the server's reset is as long as our oldest request's remaining
    /// time in it (a shorter one means an earlier process's requests were still counted).
    /// That count becomes the budget, and the ceiling too where it lies clearly below the
    /// budget's own pace, near it a second time running, or at a probe above a known
    /// ceiling (near the pace, a single limit may be jitter: only the small dip to the
    /// count).
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
        let sent_at = departure.at;
        let (count, waited) = self.window_before(departure);
        let measured = count > 0 && waited * 2 >= count && self.only_ours(sent_at, now, reset);
        let from = self.current;
        let pace = f64::from(from) * self.window.as_secs_f64() / spread(self.window).as_secs_f64();
        let confirmed = measured
            .then(|| confirms(announced, self.window, count, from, self.count_slack(from)))
            .flatten();
        let to = match (confirmed, measured) {
            (Some(announced), _) => announced,
            (None, true) => count.min(from),
            (None, false) => ((f64::from(from) * DECREASE) as u32).max(count.min(from)),
        }
        .max(1);
        // Below the pace by more than the count's own uncertainty, confirmed by the server's announcement, near the pace
        // for the second time running, or at a probe above the measured ceiling: the
        // server's ceiling, not jitter. Near the pace at the measured ceiling itself, a
        // lone limit is jitter: the dip, and the ceiling stays.
        let below_pace = count + self.count_slack(from) < pace.floor() as u32;
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
        self.cut_at = Some(now);
        (Cut { from, to, learned }, measured)
    }

    /// How far a count of the window taken by our send times may be from the server's,
    /// which counts arrivals: the requests that leave within the pacing margin (the jitter
    /// the pacer allows for) of the window's edge at a budget of `from`, at least one. At
    /// 21 a 2-second window that is one request; at 150, three.
    fn count_slack(&self, from: u32) -> u32 {
        let margin = spread(self.window).saturating_sub(self.window);
        let share = margin.as_secs_f64() / self.window.as_secs_f64();
        ((f64::from(from) * share).ceil() as u32).max(1)
    }

    /// Requests that left in the window before `departure`, and how many of them had to
    /// wait for their slot.
    fn window_before(&self, departure: Departure) -> (u32, u32) {
        let within = |s: &&Slot| {
            s.departure.seq < departure.seq
                && departure.at.saturating_duration_since(s.departure.at) < self.window
        };
        self.slots
            .iter()
            .filter(within)
            .fold((0, 0), |(count, waited), s| {
                (count + 1, waited + u32::from(s.waited))
            })
    }

    /// Whether the server's window at `now` can hold only requests we sent: we have sent
    /// for a whole window, or its `reset` is as long as our first request's remaining time
    /// in the window (a shorter one means an earlier process's requests are counted too).
    fn only_ours(&self, sent_at: Instant, now: Instant, reset: Duration) -> bool {
        self.first_sent.is_some_and(|first| {
            let owned = sent_at.saturating_duration_since(first) >= self.window;
            let oldest_left = (first + self.window).saturating_duration_since(now);
            owned || reset >= whole_secs(oldest_left)
        })
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
