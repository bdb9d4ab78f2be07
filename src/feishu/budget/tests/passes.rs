//! Whole passes on tokio's paused clock against a model of the simulator's sliding window
//! (whole-second resets, at least one), with the configured rate right, 5 % and 50 %
//! above the server's ceiling.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{WINDOW, budgets};
use crate::feishu::Endpoint;
use crate::feishu::budget::Reset;
use crate::feishu::budget::headers;

/// The simulator's rate window: at most `limit` accepted requests in any `window`, and a
/// refusal's reset is the whole seconds (at least one) until the oldest one leaves.
struct SlidingWindow {
    limit: usize,
    window: Duration,
    accepted: VecDeque<Instant>,
    refused: u32,
    /// After this many accepted requests the limit becomes the second figure (a tier
    /// raised while the client runs).
    raise: Option<(u32, usize)>,
    accepted_total: u32,
}

impl SlidingWindow {
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.accepted.pop_front();
        }
        if let Some((after, limit)) = self.raise
            && self.accepted_total >= after
        {
            self.limit = limit;
        }
        if self.accepted.len() < self.limit {
            self.accepted.push_back(now);
            self.accepted_total += 1;
            return Ok(());
        }
        self.refused += 1;
        let oldest_leaves = (self.accepted[0] + self.window).duration_since(now);
        Err(headers::whole_secs(oldest_leaves).max(Duration::from_secs(1)))
    }
}

/// What one pass measured.
#[derive(Debug)]
struct Pass {
    /// Elapsed time over the time the accepted requests need at the ceiling.
    slowdown: f64,
    /// Share of requests refused.
    refused: f64,
    refusals: u32,
    ceiling: Option<u32>,
    budget: u32,
}

/// `total` requests of four workers (as the approval stream's partitions) against a
/// server allowing `limit` per `window`, with the budget configured at `configured`.
/// Each request takes 2 to 9 ms to reach the server and as long to come back.
async fn pass(configured: u32, limit: usize, window: Duration, total: u32) -> Pass {
    pass_raised(configured, limit, window, total, None, None).await
}

/// [`pass`] against a server whose limit changes after some accepted requests (`raise`),
/// and whose refusals carry `announced` as their `x-ogw-ratelimit-limit`.
async fn pass_raised(
    configured: u32,
    limit: usize,
    window: Duration,
    total: u32,
    raise: Option<(u32, usize)>,
    announced: Option<u32>,
) -> Pass {
    let budget = Arc::new(budgets(configured, window));
    let server = Arc::new(Mutex::new(SlidingWindow {
        limit,
        window,
        accepted: VecDeque::new(),
        refused: 0,
        raise,
        accepted_total: 0,
    }));
    let remaining = Arc::new(Mutex::new(total));
    let started = Instant::now();
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            let (budget, server, remaining) = (budget.clone(), server.clone(), remaining.clone());
            tokio::spawn(async move {
                let mut jitter = worker * 7 + 3;
                loop {
                    {
                        let mut left = remaining.lock().unwrap();
                        if *left == 0 {
                            return;
                        }
                        *left -= 1;
                    }
                    loop {
                        let sent_at = budget.acquire(Endpoint::ApprovalTasks).await;
                        jitter = (jitter * 31 + 17) % 8;
                        let latency = Duration::from_millis(2 + jitter);
                        tokio::time::sleep(latency).await;
                        let answer = server.lock().unwrap().admit(Instant::now());
                        tokio::time::sleep(latency).await;
                        budget.answered(Endpoint::ApprovalTasks, sent_at);
                        match answer {
                            Ok(()) => {
                                budget.succeeded(Endpoint::ApprovalTasks);
                                break;
                            }
                            Err(reset) => {
                                budget.throttled(
                                    Endpoint::ApprovalTasks,
                                    sent_at,
                                    Reset::whole_seconds(reset),
                                    announced,
                                );
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let minimum = f64::from(total - 1) * window.as_secs_f64() / limit as f64;
    let refused = server.lock().unwrap().refused;
    Pass {
        slowdown: elapsed / minimum,
        refused: f64::from(refused) / f64::from(total + refused),
        refusals: refused,
        ceiling: budget.ceiling(Endpoint::ApprovalTasks),
        budget: budget.current(Endpoint::ApprovalTasks),
    }
}

/// The benchmark's approvals: 100 requests per 2-second window, 1,500 of them.
const LIMIT: usize = 100;
const TOTAL: u32 = 1_500;

#[tokio::test(start_paused = true)]
async fn with_the_configured_rate_right_the_pass_runs_at_the_ceiling_without_limits() {
    let pass = pass(100, LIMIT, WINDOW, TOTAL).await;

    assert_eq!(pass.refused, 0.0, "{pass:?}");
    assert!(pass.slowdown <= 1.03, "{pass:?}");
    assert_eq!(pass.ceiling, None);
}

#[tokio::test(start_paused = true)]
async fn with_the_configured_rate_5_percent_too_high_the_budget_learns_the_ceiling() {
    let pass = pass(105, LIMIT, WINDOW, TOTAL).await;

    // The limit's pause ends when the send log clears the window, not after the whole
    // second of its reset (that alone would be 1 s of the 30).
    assert!(pass.slowdown <= 1.03, "{pass:?}");
    assert!(pass.refused <= 0.01, "{pass:?}");
    assert_eq!(pass.ceiling, Some(100), "{pass:?}");
}

#[tokio::test(start_paused = true)]
async fn with_the_configured_rate_50_percent_too_high_the_budget_learns_the_ceiling() {
    let pass = pass(150, LIMIT, WINDOW, TOTAL).await;

    assert!(pass.slowdown <= 1.03, "{pass:?}");
    assert!(pass.refused <= 0.01, "{pass:?}");
    assert_eq!(pass.ceiling, Some(100), "{pass:?}");
}

#[tokio::test(start_paused = true)]
async fn a_probe_above_the_ceiling_is_refused_once_and_the_ceiling_measured_again() {
    // 20 windows of full use after the first limit, then a probe 2 % above.
    let pass = pass(105, LIMIT, WINDOW, 3_000).await;

    assert_eq!(
        pass.refusals, 2,
        "the first limit and the probe's: {pass:?}"
    );
    // A request either side of the window's edge: the latency varies.
    assert!(
        pass.ceiling.is_some_and(|c| (99..=100).contains(&c)),
        "{pass:?}"
    );
    assert!(pass.slowdown <= 1.05, "{pass:?}");
}

#[tokio::test(start_paused = true)]
async fn probes_find_a_ceiling_that_was_raised_and_then_forget_it() {
    // The server allows 150 per window once 300 requests went through; probes double
    // their step (2, 4, 8, 16, 32 above 100) until they reach the configured 150.
    let pass = pass_raised(150, LIMIT, WINDOW, 20_000, Some((300, 150)), None).await;

    assert_eq!(pass.ceiling, None, "{pass:?}");
    assert_eq!(pass.budget, 150, "{pass:?}");
    assert_eq!(pass.refusals, 1, "probes met no limit: {pass:?}");
}

#[tokio::test(start_paused = true)]
async fn a_small_budget_5_percent_too_high_meets_one_limit_with_the_announcement_and_two_without() {
    // The benchmark's reviewees: 20 per 2-second window, configured at 21, the header
    // counting per second ("10").
    let announced = pass_raised(21, 20, WINDOW, 300, None, Some(10)).await;
    let silent = pass_raised(21, 20, WINDOW, 300, None, None).await;

    assert_eq!(announced.refusals, 1, "{announced:?}");
    assert_eq!(announced.ceiling, Some(20), "{announced:?}");
    assert!(announced.slowdown <= 1.03, "{announced:?}");
    assert_eq!(
        silent.refusals, 2,
        "the first limit may be jitter: {silent:?}"
    );
    assert!(
        silent.ceiling.is_some_and(|c| (19..=20).contains(&c)),
        "the second is the ceiling: {silent:?}"
    );
}
