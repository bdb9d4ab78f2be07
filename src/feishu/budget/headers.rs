//! What the server's `x-ogw-ratelimit-*` headers can tell a budget: the reset counts
//! whole seconds, rounded up, and the limit does not say its window, so neither is taken
//! at its word alone.

use std::time::Duration;

/// How long a frequency limit asks the endpoint to wait, as the server said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset {
    /// The wait (already capped by the caller).
    pub wait: Duration,
    /// Whether the server said it in whole seconds, as `x-ogw-ratelimit-reset` does:
    /// rounded up, so the true wait may be up to a second shorter. False for a missing or
    /// garbled header (the wait is then a default, not the server's word) and for a
    /// fractional one (exact).
    pub whole_seconds: bool,
}

impl Reset {
    /// A wait the server gave in whole seconds.
    pub const fn whole_seconds(wait: Duration) -> Self {
        Reset {
            wait,
            whole_seconds: true,
        }
    }

    /// A wait to be taken as it is.
    pub const fn exact(wait: Duration) -> Self {
        Reset {
            wait,
            whole_seconds: false,
        }
    }

    /// The least the true wait can be: a second less than a whole-seconds reset (at
    /// least zero), the wait itself otherwise.
    pub(super) fn earliest(&self) -> Duration {
        match self.whole_seconds {
            true => self.wait.saturating_sub(Duration::from_secs(1)),
            false => self.wait,
        }
    }
}

/// The server's `x-ogw-ratelimit-limit` as the ceiling of a measured limit, where it
/// confirms the measurement: read per second or per window (Feishu's tiers use both, and
/// the header does not say which), one reading lies below the budget `from` that met the
/// limit and within `slack` requests of the `count` the window let through (the count's
/// own uncertainty: see `RateLearner::count_slack`).
///
/// Why it is needed: near the budget's own pace, one limit cannot tell a configured rate
/// a request too high from a request counted a few milliseconds early (jitter); both
/// leave the same count. The announcement can, and only here: on its own it is never
/// obeyed (read in the wrong window it would be sixty times too low), and a reading the
/// count does not bear out is ignored.
pub(super) fn confirms(
    announced: Option<u32>,
    window: Duration,
    count: u32,
    from: u32,
    slack: u32,
) -> Option<u32> {
    let announced = announced.filter(|&a| a > 0)?;
    // The announcement read per second, in requests per window.
    let read_per_second = u64::from(announced).saturating_mul(window.as_secs().max(1));
    let read_per_second = u32::try_from(read_per_second).unwrap_or(u32::MAX);
    [announced, read_per_second]
        .into_iter()
        .find(|&ceiling| ceiling < from && ceiling.abs_diff(count) <= slack)
}

/// `d` rounded up to whole seconds, as `x-ogw-ratelimit-reset` counts.
pub(super) fn whole_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}
