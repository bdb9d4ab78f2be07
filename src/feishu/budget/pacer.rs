//! Evenly spaced request slots: one request every `window × SAFETY / budget`, so a
//! server counting any sliding window never sees one request too many.

use std::time::Duration;

use tokio::time::Instant;

/// Requests leave this much slower than the budget, so network jitter cannot put one
/// request too many into a sliding window (1 % of a 60-second window is 0.6 s).
pub(super) const SAFETY: f64 = 1.01;

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
    window.mul_f64(SAFETY) / per_window.max(1)
}
