//! Client-side request budgets, one per endpoint, so feishu-sync stays under each
//! endpoint's frequency limit instead of discovering it through 429s, and adapts when the
//! server's real limit turns out lower than the configured one.
//!
//! Adaptation is AIMD, as in TCP: a frequency-limit answer pauses the endpoint for the
//! server's `x-ogw-ratelimit-reset` and cuts the budget by a fixed share (never below one
//! request per window); a window's worth of successes then raises it by a twentieth of
//! the configured rate, up to that rate. The server's `x-ogw-ratelimit-limit` is logged
//! but never used as a limit: it does not say which window it counts in (Feishu's tiers
//! mix per-second and per-minute windows), and reading "50 per second" as "50 per
//! minute" would make every later request sixty times slower.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::feishu::Endpoint;

/// Requests leave this much slower than the limit, so network jitter cannot put one
/// request too many into a sliding window.
const SAFETY: f64 = 1.02;

/// A frequency-limit answer leaves this share of the budget (multiplicative decrease).
const DECREASE: f64 = 0.85;

/// A window's worth of successes adds the configured rate divided by this (at least one
/// request per window): the additive increase.
const RECOVERY_STEPS: u32 = 20;

/// One GCRA limiter per endpoint with a burst of one: requests leave evenly spaced
/// (`window / limit` apart), which a sliding-window server never rejects.
pub struct Budgets {
    endpoints: HashMap<Endpoint, EndpointBudget>,
}

struct EndpointBudget {
    window: Duration,
    configured: u32,
    state: Mutex<BudgetState>,
}

struct BudgetState {
    limiter: Arc<DefaultDirectRateLimiter>,
    /// Requests per window in force now (at most `configured`).
    current: u32,
    /// Nobody sends before this, after the server asked to wait.
    paused_until: Option<Instant>,
    /// Successes since the budget was last lowered or raised.
    successes: u32,
    /// When the budget was last lowered: answers to requests sent before then say
    /// nothing about the new budget.
    lowered_at: Option<Instant>,
}

fn limiter(per_window: u32, window: Duration) -> Arc<DefaultDirectRateLimiter> {
    let period = window.mul_f64(SAFETY) / per_window.max(1);
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("period is not zero")
        .allow_burst(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(quota))
}

impl Budgets {
    /// `limits` are requests per `window` (the real API: per 60 s).
    pub fn new(limits: &HashMap<Endpoint, u32>, window: Duration) -> Self {
        let endpoints = Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let configured = limits.get(&endpoint).copied().unwrap_or(1).max(1);
                let state = BudgetState {
                    limiter: limiter(configured, window),
                    current: configured,
                    paused_until: None,
                    successes: 0,
                    lowered_at: None,
                };
                let budget = EndpointBudget {
                    window,
                    configured,
                    state: Mutex::new(state),
                };
                (endpoint, budget)
            })
            .collect();
        Budgets { endpoints }
    }

    fn state(&self, endpoint: Endpoint) -> std::sync::MutexGuard<'_, BudgetState> {
        self.endpoints[&endpoint]
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `endpoint` may send one more request.
    pub async fn acquire(&self, endpoint: Endpoint) {
        loop {
            let (limiter, paused_until) = {
                let state = self.state(endpoint);
                (state.limiter.clone(), state.paused_until)
            };
            match paused_until {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await
                }
                _ => return limiter.until_ready().await,
            }
        }
    }

    /// The server answered a request sent at `sent_at` with its frequency limit: every
    /// request of the endpoint waits `wait` (already capped by the caller), and the budget
    /// drops to [`DECREASE`] of itself, at least one per window. Answers to requests sent
    /// within a window of the last cut only pause. `announced` is the server's
    /// `x-ogw-ratelimit-limit`, logged only.
    pub fn throttled(
        &self,
        endpoint: Endpoint,
        sent_at: Instant,
        wait: Duration,
        announced: Option<u32>,
    ) {
        let budget = &self.endpoints[&endpoint];
        let mut state = self.state(endpoint);
        let until = Instant::now() + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
        state.successes = 0;
        // One cut per window, as TCP cuts once per round trip: for a window after a cut the
        // server's window still holds requests sent at the old rate, and its answers say
        // nothing about the new one.
        if state
            .lowered_at
            .is_some_and(|at| sent_at < at + budget.window)
        {
            return;
        }
        let lowered = ((f64::from(state.current) * DECREASE) as u32).max(1);
        if lowered < state.current {
            tracing::info!(%endpoint, from = state.current, to = lowered, announced_limit = announced,
                window_secs = budget.window.as_secs_f64(), "lowering the request budget");
            state.current = lowered;
            state.limiter = limiter(lowered, budget.window);
            state.lowered_at = Some(Instant::now());
        }
    }

    /// A request went through: after a window's worth of successes (as many as the
    /// budget allows per window) a lowered budget climbs back by a twentieth of the
    /// configured rate, never above it.
    pub fn succeeded(&self, endpoint: Endpoint) {
        let budget = &self.endpoints[&endpoint];
        let mut state = self.state(endpoint);
        state.successes += 1;
        if state.current < budget.configured && state.successes >= state.current {
            let step = (budget.configured / RECOVERY_STEPS).max(1);
            state.current = (state.current + step).min(budget.configured);
            state.successes = 0;
            state.limiter = limiter(state.current, budget.window);
        }
    }

    /// Requests per window in force for `endpoint`.
    pub fn current(&self, endpoint: Endpoint) -> u32 {
        self.state(endpoint).current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(per_window: u32) -> Budgets {
        let limits = Endpoint::ALL.into_iter().map(|e| (e, per_window)).collect();
        Budgets::new(&limits, Duration::from_secs(60))
    }

    #[test]
    fn a_frequency_limit_cuts_the_budget_by_a_share_whatever_the_server_announces() {
        let b = budgets(1000);
        let now = Instant::now();

        // "50" counts per second on the server; read per minute it would be 20x too low.
        b.throttled(Endpoint::Tasks, now, Duration::ZERO, Some(50));
        b.throttled(Endpoint::StageTasks, now, Duration::ZERO, None);

        assert_eq!(
            b.current(Endpoint::Tasks),
            850,
            "the announcement is not a limit"
        );
        assert_eq!(b.current(Endpoint::StageTasks), 850);
        assert_eq!(
            b.current(Endpoint::ApprovalTasks),
            1000,
            "endpoints are independent"
        );
    }

    #[test]
    fn the_budget_never_drops_below_one_per_window() {
        let b = budgets(3);
        let start = Instant::now();
        for i in 0..10 {
            let sent = start + Duration::from_secs(61 * i);
            b.throttled(Endpoint::Tasks, sent, Duration::ZERO, Some(1));
        }

        assert_eq!(b.current(Endpoint::Tasks), 1);
    }

    #[test]
    fn a_lowered_budget_recovers_additively_to_the_configured_rate() {
        let b = budgets(100);
        b.throttled(Endpoint::Tasks, Instant::now(), Duration::ZERO, Some(5));
        assert_eq!(b.current(Endpoint::Tasks), 85);

        for _ in 0..85 {
            b.succeeded(Endpoint::Tasks);
        }
        let after_one_window = b.current(Endpoint::Tasks);
        for _ in 0..1000 {
            b.succeeded(Endpoint::Tasks);
        }

        assert_eq!(
            after_one_window, 90,
            "a twentieth of the configured rate per window"
        );
        assert_eq!(
            b.current(Endpoint::Tasks),
            100,
            "never above the configured rate"
        );
    }

    #[test]
    fn answers_to_requests_sent_before_a_cut_do_not_cut_again() {
        let b = budgets(20);
        let sent = Instant::now();

        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, Some(12));
        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, Some(12));
        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, None);

        assert_eq!(b.current(Endpoint::Tasks), 17);
    }

    #[tokio::test]
    async fn a_throttle_pauses_every_request_of_the_endpoint() {
        let b = budgets(6000);
        b.throttled(
            Endpoint::Tasks,
            Instant::now(),
            Duration::from_millis(300),
            None,
        );
        let started = Instant::now();

        b.acquire(Endpoint::Semesters).await;
        let other = started.elapsed();
        b.acquire(Endpoint::Tasks).await;

        assert!(
            other < Duration::from_millis(300),
            "another endpoint is not paused"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "the throttled one waits"
        );
    }
}
