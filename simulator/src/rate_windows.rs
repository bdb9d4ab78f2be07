//! Mutable service state besides the tenant: issued tokens, per-endpoint sliding
//! rate-limit windows and injected fault queues.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::Rng;

use super::config::{Fault, RateLimit};
use feishu_endpoints::Endpoint;

/// Issued tenant access tokens and their expiry.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    valid_until: HashMap<String, Instant>,
    /// The token the endpoint hands out again while enough of its life remains.
    newest: Option<(String, Instant)>,
}

impl Tokens {
    /// Issues a fresh random token valid for `ttl`.
    pub(crate) fn issue(&mut self, ttl: Duration) -> String {
        let now = Instant::now();
        self.valid_until.retain(|_, until| *until > now);
        let token = format!("t-{:032x}", rand::rng().random::<u128>());
        self.valid_until.insert(token.clone(), now + ttl);
        token
    }

    /// What the token endpoint answers: the newest token and its remaining lifetime while
    /// at least `reuse_above` of it remains (as the platform does), else a fresh one.
    pub(crate) fn current_or_new(
        &mut self,
        ttl: Duration,
        reuse_above: Duration,
    ) -> (String, Duration) {
        let now = Instant::now();
        if let Some((token, until)) = &self.newest
            && self.valid_until.contains_key(token)
            && until.saturating_duration_since(now) >= reuse_above
        {
            return (token.clone(), until.saturating_duration_since(now));
        }
        let token = self.issue(ttl);
        self.newest = Some((token.clone(), now + ttl));
        (token, ttl)
    }

    /// Whether `token` was issued, is unexpired and was not revoked.
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.valid_until
            .get(token)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Invalidates every token issued so far.
    pub(crate) fn revoke_all(&mut self) {
        self.valid_until.clear();
    }
}

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

/// FIFO queues of injected faults; `None` is the token endpoint.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queues: HashMap<Option<Endpoint>, VecDeque<Fault>>,
    /// Random faults on data endpoints once nothing is queued: (rate, slow, generator).
    random: Option<(f64, Duration, rand::rngs::StdRng)>,
    /// Random faults drawn so far: HTML 502s, JSON 500s, slow answers.
    pub(crate) drawn: [u64; 3],
}

impl Faults {
    /// Queues `fault` for the next `times` requests of `endpoint`.
    pub(crate) fn push(&mut self, endpoint: Option<Endpoint>, fault: Fault, times: usize) {
        let q = self.queues.entry(endpoint).or_default();
        q.extend(std::iter::repeat_n(fault, times));
    }

    /// From now on a `rate` share of data-endpoint requests, drawn from a generator
    /// seeded with `seed`, fail: a third each as an HTML 502, a JSON 500 and an answer
    /// delayed by `slow`.
    pub(crate) fn set_random(&mut self, rate: f64, slow: Duration, seed: u64) {
        use rand::SeedableRng;
        self.random = Some((rate, slow, rand::rngs::StdRng::seed_from_u64(seed)));
    }

    /// Takes the next fault of `endpoint`: a queued one, else perhaps a random one.
    pub(crate) fn pop(&mut self, endpoint: Option<Endpoint>) -> Option<Fault> {
        if let Some(fault) = self.queues.get_mut(&endpoint).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let (rate, slow, rng) = self.random.as_mut().filter(|_| endpoint.is_some())?;
        if !rng.random_bool(*rate) {
            return None;
        }
        let kind = rng.random_range(0..3);
        self.drawn[kind] += 1;
        Some(match kind {
            0 => Fault::ServerErrorHtml,
            1 => Fault::ServerErrorJson,
            _ => Fault::Delay(*slow),
        })
    }
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
