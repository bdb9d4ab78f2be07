//! What one endpoint sent in the last two windows and when each answer came: the record
//! the answer gate, a limit's count and the shortened pause all read. No clock is read
//! here either.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::headers::whole_secs;

/// How often a request waiting for an earlier one's answer looks again.
const ANSWER_POLL: Duration = Duration::from_millis(2);

/// One request as it left its budget: handed back with its answer, so the budget knows
/// which request was answered even where two left at the same instant (a coarse clock,
/// or several released by the same answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure {
    /// When it left.
    pub at: Instant,
    /// Its place among the endpoint's departures: earlier ones have smaller numbers.
    pub(super) seq: u64,
}

/// One slot taken in the last windows: when the request left, and whether it had to wait
/// for its slot (the endpoint wanted to send faster than its budget allowed).
#[derive(Debug, Clone, Copy)]
struct Slot {
    departure: Departure,
    waited: bool,
    /// When its answer came; the server counted it before then.
    answered: Option<Instant>,
}

/// The requests of the last two windows (a refused request's answer comes after later
/// ones left, and its window reaches back from when it was sent).
#[derive(Debug)]
pub(super) struct SendLog {
    window: Duration,
    slots: VecDeque<Slot>,
    /// Departures so far: the number the next one gets.
    departures: u64,
    /// The first slot this process took: from a window later on, the server's window
    /// holds only requests we know of.
    first_sent: Option<Instant>,
}

impl SendLog {
    pub(super) fn new(window: Duration) -> Self {
        SendLog {
            window,
            slots: VecDeque::new(),
            departures: 0,
            first_sent: None,
        }
    }

    /// The number the next departure gets: every one so far has a smaller one.
    pub(super) fn next_seq(&self) -> u64 {
        self.departures
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

    /// The request that made `departure` was refused: it did not count against the
    /// server's window.
    pub(super) fn forget(&mut self, departure: Departure) {
        if let Some(i) = self.slots.iter().rposition(|s| s.departure == departure) {
            self.slots.remove(i);
        }
    }

    /// When a request may leave at the earliest under a `budget` per window, if not
    /// `now`: a window after the request a budget's worth before it was answered. The
    /// server stamped that one before its answer came and stamps the new one after it
    /// leaves, so however late the old one reached it (a busy host, a new connection), the
    /// two never share a window, and a request counted early cannot meet a frequency
    /// limit. At the even pace this binds only when an answer took longer than the pacing
    /// margin, or after a shortened pause. One not answered yet is waited for
    /// ([`ANSWER_POLL`] at a time) up to a window after it left.
    pub(super) fn clear_at(&self, now: Instant, budget: u32) -> Option<Instant> {
        let old = *self
            .slots
            .len()
            .checked_sub(budget as usize)
            .map(|i| &self.slots[i])?;
        let answered = match old.answered {
            Some(at) => at,
            None if now < old.departure.at + self.window => return Some(now + ANSWER_POLL),
            None => old.departure.at + self.window,
        };
        let clear = answered + self.window;
        (clear > now).then_some(clear)
    }

    /// Requests that left in the window before `departure`, and how many of them had to
    /// wait for their slot.
    pub(super) fn window_before(&self, departure: Departure) -> (u32, u32) {
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
    pub(super) fn only_ours(&self, sent_at: Instant, now: Instant, reset: Duration) -> bool {
        self.first_sent.is_some_and(|first| {
            let owned = sent_at.saturating_duration_since(first) >= self.window;
            let oldest_left = (first + self.window).saturating_duration_since(now);
            owned || reset >= whole_secs(oldest_left)
        })
    }
}
