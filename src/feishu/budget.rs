//! Client-side request budgets, one per endpoint, so feishu-sync stays under each
//! endpoint's frequency limit instead of discovering it through 429s.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::feishu::Endpoint;

/// One GCRA limiter per endpoint with a burst of one: requests leave evenly spaced
/// (`window / limit` apart), which a sliding-window server never rejects.
pub struct Budgets {
    limiters: HashMap<Endpoint, DefaultDirectRateLimiter>,
}

impl Budgets {
    /// `limits` are requests per `window` (the real API: per 60 s).
    pub fn new(limits: &HashMap<Endpoint, u32>, window: Duration) -> Self {
        let limiters = Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let per_window = limits.get(&endpoint).copied().unwrap_or(1).max(1);
                let period = window / per_window;
                let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                    .expect("period is not zero")
                    .allow_burst(NonZeroU32::MIN);
                (endpoint, RateLimiter::direct(quota))
            })
            .collect();
        Budgets { limiters }
    }

    /// Waits until `endpoint` may send one more request.
    pub async fn acquire(&self, endpoint: Endpoint) {
        self.limiters[&endpoint].until_ready().await;
    }
}
