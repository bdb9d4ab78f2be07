//! The tenant access tokens the simulator has issued: each one's expiry, which one the
//! token endpoint hands out again, and revocation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;

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
