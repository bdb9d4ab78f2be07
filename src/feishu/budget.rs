//! Client-side request budgets, one per endpoint, so feishu-sync stays under each
//! endpoint's frequency limit instead of discovering it through 429s, and adapts when the
//! server's real limit turns out lower than the configured one.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::feishu::Endpoint;

/// Requests leave this much slower than the limit, so network jitter cannot put one
/// request too many into a sliding window.
const SAFETY: f64 = 1.02;

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
    /// The limit the server announced in `x-ogw-ratelimit-limit`; never probed above.
    server_cap: Option<u32>,
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
                    server_cap: None,
                    lowered_at: None,
                };
                (
                    endpoint,
                    EndpointBudget {
                        window,
                        configured,
                        state: Mutex::new(state),
                    },
                )
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
    /// request of the endpoint waits `wait`, and the budget drops to the server's `limit`
    /// (if it sent a lower one) or by a tenth, so a server whose real limit is below the
    /// configured one is learnt. Requests sent before the last lowering only pause.
    pub fn throttled(
        &self,
        endpoint: Endpoint,
        sent_at: Instant,
        wait: Duration,
        server_limit: Option<u32>,
    ) {
        let budget = &self.endpoints[&endpoint];
        let mut state = self.state(endpoint);
        let until = Instant::now() + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
        if state.lowered_at.is_some_and(|at| sent_at < at) {
            return;
        }
        let lowered = match server_limit {
            Some(limit) if limit > 0 && limit < state.current => {
                state.server_cap = Some(limit);
                limit
            }
            // The server announces no lower limit than ours: the answer came from timing
            // jitter at the window's edge, and the pause is all it takes.
            Some(_) => state.current,
            None => (state.current * 9 / 10).max(1),
        };
        if lowered < state.current {
            tracing::info!(%endpoint, from = state.current, to = lowered, "lowering the request budget");
            state.current = lowered;
            state.limiter = limiter(lowered, budget.window);
            state.lowered_at = Some(Instant::now());
        }
        state.successes = 0;
    }

    /// A request went through: after a window's worth of successes a lowered budget
    /// creeps back up by one, towards the configured rate (or the server's announced
    /// limit, which it never probes above).
    pub fn succeeded(&self, endpoint: Endpoint) {
        let budget = &self.endpoints[&endpoint];
        let mut state = self.state(endpoint);
        state.successes += 1;
        let ceiling = state
            .server_cap
            .map_or(budget.configured, |cap| cap.min(budget.configured));
        if state.current < ceiling && state.successes >= state.current {
            state.current += 1;
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
    fn a_lower_server_limit_is_adopted_and_others_lower_by_a_tenth() {
        let b = budgets(20);
        let now = Instant::now();

        b.throttled(Endpoint::StageTasks, now, Duration::ZERO, Some(12));
        b.throttled(Endpoint::Tasks, now, Duration::ZERO, None);
        b.throttled(Endpoint::Semesters, now, Duration::ZERO, Some(50));
        b.throttled(Endpoint::Activities, now, Duration::ZERO, Some(20));

        assert_eq!(
            b.current(Endpoint::StageTasks),
            12,
            "a lower announced limit is adopted"
        );
        assert_eq!(
            b.current(Endpoint::Tasks),
            18,
            "no announcement: a tenth less"
        );
        assert_eq!(
            b.current(Endpoint::Semesters),
            20,
            "a higher announcement keeps the budget"
        );
        assert_eq!(
            b.current(Endpoint::Activities),
            20,
            "an equal announcement keeps the budget"
        );
        assert_eq!(
            b.current(Endpoint::ApprovalTasks),
            20,
            "endpoints are independent"
        );
    }

    #[test]
    fn a_lowered_budget_recovers_slowly_to_the_configured_rate() {
        let b = budgets(10);
        b.throttled(Endpoint::Tasks, Instant::now(), Duration::ZERO, None);

        for _ in 0..9 {
            b.succeeded(Endpoint::Tasks);
        }
        let after_one_window = b.current(Endpoint::Tasks);
        for _ in 0..100 {
            b.succeeded(Endpoint::Tasks);
        }

        assert_eq!(after_one_window, 10);
        assert_eq!(
            b.current(Endpoint::Tasks),
            10,
            "never above the configured rate"
        );
    }

    #[test]
    fn answers_to_requests_sent_before_a_lowering_do_not_lower_again() {
        let b = budgets(20);
        let sent = Instant::now();

        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, Some(12));
        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, Some(12));
        b.throttled(Endpoint::Tasks, sent, Duration::ZERO, None);

        assert_eq!(b.current(Endpoint::Tasks), 12);
    }

    #[test]
    fn an_announced_server_limit_is_never_probed_above() {
        let b = budgets(10);
        b.throttled(Endpoint::Tasks, Instant::now(), Duration::ZERO, Some(8));

        for _ in 0..100 {
            b.succeeded(Endpoint::Tasks);
        }

        assert_eq!(b.current(Endpoint::Tasks), 8);
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
