//! Per-endpoint sliding rate-limit windows: which requests the simulator admits, and the
//! seconds until the next one would be.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::config::RateLimit;
use feishu_endpoints::Endpoint;

/// Sliding windows of accepted requests, one per endpoint.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    accepted: HashMap<Endpoint, VecDeque<Instant>>,
}

impl Windows {
    /// Admits a request at `now` under `limit`, or returns the whole seconds (at least 1)
    /// until the oldest accepted request leaves the window.
    pub(crate) fn admit(
        &mut self,
        endpoint: Endpoint,
        limit: RateLimit,
        now: Instant,
    ) -> Result<(), u64> {
        let q = self.accepted.entry(endpoint).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.window)
        {
            q.pop_front();
        }
        if q.len() < limit.requests as usize {
            q.push_back(now);
            return Ok(());
        }
        let wait = match q.front() {
            Some(oldest) => (*oldest + limit.window).saturating_duration_since(now),
            None => limit.window,
        };
        Err(ceil_secs(wait).max(1))
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rejects_then_reports_reset() {
        let mut w = Windows::default();
        let limit = RateLimit {
            requests: 2,
            window: Duration::from_millis(1500),
        };
        let t0 = Instant::now();
        assert!(w.admit(Endpoint::Tasks, limit, t0).is_ok());
        assert!(
            w.admit(Endpoint::Tasks, limit, t0 + Duration::from_millis(100))
                .is_ok()
        );
        assert_eq!(
            w.admit(Endpoint::Tasks, limit, t0 + Duration::from_millis(200)),
            Err(2)
        );
        assert_eq!(
            w.admit(Endpoint::Tasks, limit, t0 + Duration::from_millis(1499)),
            Err(1)
        );
        // Other endpoints have their own window.
        assert!(w.admit(Endpoint::Semesters, limit, t0).is_ok());
        assert!(
            w.admit(Endpoint::Tasks, limit, t0 + Duration::from_millis(1500))
                .is_ok()
        );
        assert!(
            w.admit(Endpoint::Tasks, limit, t0 + Duration::from_millis(1550))
                .is_err()
        );
    }
}
