//! Client-side request budgets, one per endpoint, so feishu-sync stays under each
//! endpoint's frequency limit instead of discovering it through 429s, and learns the real
//! limit when the configured one is too high (the approval and task tiers are not
//! documented, so configurations are usually wrong in exactly that way).
//!
//! Requests leave evenly spaced ([`pacer`]), and each only a window after the request a
//! budget before it was answered ([`ceiling::RateLearner::clear_at`]): the server stamped
//! that one before its answer came, so a request that reached it late (a busy host, a new
//! connection) cannot share a window with the one a budget later. Even spacing keeps that
//! wait at zero while answers come within the pacing margin. The rate is the configured
//! one until the server answers with its frequency limit; then [`ceiling`] decides:
//! - **A remembered ceiling with a slow probe**, chosen over CUBIC growth. A request
//!   answered with the limit tells us more than "too fast": when the endpoint was sending
//!   at its budget, the requests it sent in the window before are exactly what the
//!   server's window let through. That count becomes the ceiling and the budget at once,
//!   so the budget does not cut and regrow around a point it never learns. CUBIC has to
//!   guess the ceiling from the rate at the loss and keeps probing near it, paying a pause
//!   each time; here the ceiling holds for [`ceiling::PROBE_AFTER_WINDOWS`] windows of
//!   full use, then a probe adds 2 % (doubling while no limit answers), and the next limit
//!   measures the ceiling again.
//! - **A limit the endpoint's own pace cannot explain** (it was sending below its budget:
//!   jitter, or a limit shared with other apps) costs only the pause and a dip to 85 %,
//!   which closes half its gap to the ceiling (or the configured rate) per window: fast
//!   far below, slowly near it.
//!
//! - **A limit near the pace** is ambiguous: with a small budget (the benchmark's 20 a
//!   window, configured at 21) a rate one request too high and one request counted a few
//!   milliseconds early leave the same count. The server's `x-ogw-ratelimit-limit`
//!   settles it where it can: read per second or per window, a reading below the budget
//!   and within the count's own uncertainty (a request at 21 a window, three at 150:
//!   those that leave within 30 ms of the window's edge) is the ceiling at
//!   once, so the budget does not climb back into a second limit, nor settle a few
//!   requests short of the ceiling. Otherwise a single limit near the pace only dips to
//!   the count, and a second one soon after is the ceiling. At a measured ceiling (not a
//!   probe above it) a lone limit near the pace is jitter too: the ceiling stays.
//!
//! Every limit pauses the whole endpoint for the server's `x-ogw-ratelimit-reset`. After
//! a measured one (the window held only our requests, and the budget bound them), and its
//! echoes, the pause is a second less, zero for a reset of one second: the reset is whole
//! seconds rounded up, and the send log ([`send_log`]) knows when the oldest request
//! leaves the window, often a tenth of a second after the limit, not a second (at
//! 2-second windows the whole second cost 5 % of a pass). The answer gate then holds
//! each request until the new budget's worth has left the window. A missing, garbled or
//! fractional reset is waited out as it is. Should a request sent in that second meet a
//! limit, the log does not explain this server's window (or the budget was a request too
//! high): the budget dips by one, and from then on every pause lasts the whole reset.
//!
//! The server's `x-ogw-ratelimit-limit` is never obeyed on its own: it does not say which
//! window it counts in (Feishu's tiers mix per-second and per-minute windows), and
//! reading "50 per second" as "50 per minute" would make every later request sixty times
//! slower; it only confirms a count the budget measured itself.
//!
//! Time is tokio's ([`tokio::time::Instant`], `sleep_until`), so tests run the budget on
//! a paused clock. The pacer is written here rather than taken from governor: governor's
//! waits follow the wall clock, and its burst of one lets every late timer push all later
//! slots back.

mod ceiling;
mod headers;
mod pacer;
mod send_log;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::feishu::Endpoint;
pub use ceiling::Cut;
use ceiling::RateLearner;
pub use headers::Reset;
use pacer::Pacer;
pub use send_log::Departure;

/// One budget per endpoint.
pub struct Budgets {
    window: Duration,
    endpoints: HashMap<Endpoint, Mutex<EndpointBudget>>,
}

struct EndpointBudget {
    pacer: Pacer,
    learner: RateLearner,
    /// Nobody sends before this, after the server asked to wait.
    paused_until: Option<Instant>,
}

impl Budgets {
    /// `limits` are requests per `window` (the real API: per 60 s).
    pub fn new(limits: &HashMap<Endpoint, u32>, window: Duration) -> Self {
        let endpoints = Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let configured = limits.get(&endpoint).copied().unwrap_or(1).max(1);
                let budget = EndpointBudget {
                    pacer: Pacer::new(configured, window),
                    learner: RateLearner::new(configured, window),
                    paused_until: None,
                };
                (endpoint, Mutex::new(budget))
            })
            .collect();
        Budgets { window, endpoints }
    }

    fn state(&self, endpoint: Endpoint) -> std::sync::MutexGuard<'_, EndpointBudget> {
        self.endpoints[&endpoint]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `endpoint` may send one more request, and returns its departure: pass
    /// that to [`Budgets::answered`] when the answer comes, and to
    /// [`Budgets::throttled`] if it is the server's frequency limit.
    pub async fn acquire(&self, endpoint: Endpoint) -> Departure {
        let mut waited = false;
        loop {
            let slot = {
                let mut state = self.state(endpoint);
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => Err(until),
                    _ => Ok(state.pacer.take(now)),
                }
            };
            let slot = match slot {
                Err(until) => {
                    waited = true;
                    tokio::time::sleep_until(until).await;
                    continue;
                }
                Ok(slot) => slot,
            };
            if slot > Instant::now() {
                waited = true;
                tokio::time::sleep_until(slot).await;
            }
            if let Some(left) = self.leave(endpoint, &mut waited).await {
                return left;
            }
        }
    }

    /// The request's slot has come: it leaves once the request a budget before it was
    /// answered a window ago ([`ceiling::RateLearner::clear_at`]), and is recorded as it
    /// leaves. `None`: a pause began meanwhile, and the request needs a new slot.
    async fn leave(&self, endpoint: Endpoint, waited: &mut bool) -> Option<Departure> {
        loop {
            let clear_at = {
                let mut state = self.state(endpoint);
                let now = Instant::now();
                // A pause that began while this request waited for its slot holds it too.
                if state.paused_until.is_some_and(|until| until > now) {
                    return None;
                }
                match state.learner.clear_at(now) {
                    None => return Some(state.learner.sent(now, *waited)),
                    Some(at) => at,
                }
            };
            *waited = true;
            tokio::time::sleep_until(clear_at).await;
        }
    }

    /// The request of `endpoint` that made `departure` was answered now, whatever the
    /// answer: the server counted it by then at the latest.
    pub fn answered(&self, endpoint: Endpoint, departure: Departure) {
        self.state(endpoint)
            .learner
            .answered(departure, Instant::now());
    }

    /// The server answered the request that made `departure` with its frequency limit:
    /// every request of the endpoint waits out `reset` (its wait already capped by the
    /// caller; a second less after a measured limit, where the send log's gate takes
    /// over: see [`ceiling::RateLearner::limited`]), and the budget learns from the limit
    /// (see the module documentation). `announced` is the server's
    /// `x-ogw-ratelimit-limit`: logged, and a confirmation of a measured count. Returns
    /// the cut, if this answer made one.
    pub fn throttled(
        &self,
        endpoint: Endpoint,
        departure: Departure,
        reset: Reset,
        announced: Option<u32>,
    ) -> Option<Cut> {
        let mut state = self.state(endpoint);
        let now = Instant::now();
        let limit = state.learner.limited(departure, now, reset, announced);
        let until = now + limit.pause;
        let until = state.paused_until.map_or(until, |u| u.max(until));
        state.paused_until = Some(until);
        state.pacer.hold_until(until);
        if limit.log_disproved {
            tracing::warn!(%endpoint, wait_ms = reset.wait.as_millis() as u64,
                "a request sent before the server's reset was over met a limit: this endpoint now waits every reset out");
        }
        let cut = limit.cut?;
        state.pacer.set_rate(cut.to, self.window);
        tracing::info!(%endpoint, from = cut.from, to = cut.to, learned = cut.learned,
            ceiling = state.learner.ceiling(), announced_limit = announced,
            window_secs = self.window.as_secs_f64(), "lowering the request budget");
        Some(cut)
    }

    /// A request of `endpoint` went through: the budget may climb back towards its
    /// ceiling, or probe above it (see [`ceiling`]). Returns whether the budget changed.
    pub fn succeeded(&self, endpoint: Endpoint) -> bool {
        let mut state = self.state(endpoint);
        let changed = state.learner.succeeded();
        if changed {
            let current = state.learner.current();
            state.pacer.set_rate(current, self.window);
            tracing::debug!(%endpoint, budget = current, ceiling = state.learner.ceiling(), "raising the request budget");
        }
        changed
    }

    /// Starts `endpoint` at a `ceiling` (requests per window) an earlier run learned, where
    /// it is below the configured rate, instead of re-learning it through frequency
    /// limits. Returns whether it was taken.
    pub fn remember(&self, endpoint: Endpoint, ceiling: u32) -> bool {
        let mut state = self.state(endpoint);
        if !state.learner.remember(ceiling) {
            return false;
        }
        let current = state.learner.current();
        state.pacer.set_rate(current, self.window);
        true
    }

    /// Requests per window in force for `endpoint`.
    pub fn current(&self, endpoint: Endpoint) -> u32 {
        self.state(endpoint).learner.current()
    }

    /// Requests per window at which `endpoint`'s last frequency limits came, while that
    /// is below its configured rate: what the user should configure instead.
    pub fn ceiling(&self, endpoint: Endpoint) -> Option<u32> {
        self.state(endpoint).learner.ceiling()
    }

    /// The window budgets count in.
    pub fn window(&self) -> Duration {
        self.window
    }
}
