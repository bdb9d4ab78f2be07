//! Evenly spaced request slots: one request every `(window + margin) / budget`, so a
//! server counting any sliding window never sees one request too many.

use std::time::Duration;

use tokio::time::Instant;

/// Requests leave this much slower than the budget, so jitter cannot put one request too
/// many into a sliding window: 1 % of the window (0.6 s of a 60-second one) ...
pub(super) const MARGIN_SHARE: f64 = 0.01;

/// ... but never less than this. What moves a request between leaving the budget and
/// being counted by the server (a busy scheduler, a pooled connection being set up, the
/// network) is a matter of milliseconds whatever the window, so a short window (the
/// benchmark's 2 seconds, where 1 % is 20 ms) needs more than its share: every request
/// counted one too many costs a pause of at least a whole second.
pub(super) const MIN_MARGIN: Duration = Duration::from_millis(30);

/// The span `per_window` requests are spread over: the window and its margin.
pub(super) fn spread(window: Duration) -> Duration {
    window + window.mul_f64(MARGIN_SHARE).max(MIN_MARGIN)
}

/// Hands out send times `period` apart. Slots are reserved when asked for, so requests
/// queued behind each other leave exactly a period apart however late a timer fires:
/// a late wake-up does not push every later slot back.
#[derive(Debug)]
pub(super) struct Pacer {
    period: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// Slots for `per_window` requests per `window`.
    pub(super) fn new(per_window: u32, window: Duration) -> Self {
        Pacer {
            period: period(per_window, window),
            next: None,
        }
    }

    /// Spaces the slots after the next one for `per_window` requests per `window`.
    pub(super) fn set_rate(&mut self, per_window: u32, window: Duration) {
        self.period = period(per_window, window);
    }

    /// Reserves the next slot at or after `now` and returns it.
    pub(super) fn take(&mut self, now: Instant) -> Instant {
        let slot = self.next.map_or(now, |next| next.max(now));
        self.next = Some(slot + self.period);
        slot
    }

    /// No slot before `until` (the server asked to wait).
    pub(super) fn hold_until(&mut self, until: Instant) {
        self.next = Some(self.next.map_or(until, |next| next.max(until)));
    }
}

fn period(per_window: u32, window: Duration) -> Duration {
    spread(window) / per_window.max(1)
}
