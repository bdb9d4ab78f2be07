//! Injected faults: FIFO queues per endpoint that tests fill, and random faults drawn from
//! a seeded generator once the queues are empty.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rand::Rng;

use super::config::Fault;
use feishu_endpoints::Endpoint;

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
