//! The generator's random source: seeded, so equal seeds give equal tenants, and the
//! primitives (ids, picks, chances) every part of the tenant is drawn with.

use std::collections::HashSet;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Random source plus the set of ids already handed out.
pub(crate) struct Gen {
    pub(crate) rng: StdRng,
    ids: HashSet<String>,
    pub(crate) now_ms: i64,
}

impl Gen {
    pub(crate) fn new(seed: u64) -> Self {
        Gen::at(seed, Utc::now().timestamp_millis())
    }

    /// A source whose now-relative times count from `now_ms` instead of the clock.
    pub(crate) fn at(seed: u64, now_ms: i64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            ids: HashSet::new(),
            now_ms,
        }
    }

    /// A fresh 19-digit numeric id, like Feishu's snowflake ids.
    pub(crate) fn numeric_id(&mut self) -> String {
        loop {
            let id = format!(
                "7{:018}",
                self.rng.random_range(0..1_000_000_000_000_000_000u64)
            );
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    pub(crate) fn open_id(&mut self) -> String {
        loop {
            let id = format!("ou_{:032x}", self.rng.random::<u128>());
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    pub(crate) fn uuid(&mut self) -> String {
        let h = format!("{:032x}", self.rng.random::<u128>());
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items
            .choose(&mut self.rng)
            .expect("pick from a non-empty list")
    }

    /// A random user's index and open id (a fixed admin id when there are no users).
    pub(crate) fn user(&mut self, users: &[String]) -> (usize, String) {
        if users.is_empty() {
            return (0, "ou_00000000000000000000000000000000".to_string());
        }
        let i = self.rng.random_range(0..users.len());
        (i, users[i].clone())
    }
}
