//! The budget on tokio's paused clock: single events first, then whole passes against a
//! model of the simulator's sliding window (whole-second resets, at least one), with the
//! configured rate right, 5 % and 50 % above the server's ceiling.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn budgets(per_window: u32, window: Duration) -> Budgets {
    let limits = Endpoint::ALL.into_iter().map(|e| (e, per_window)).collect();
    Budgets::new(&limits, window)
}

/// Sends `n` requests of `endpoint` back to back, all accepted.
async fn send_accepted(b: &Budgets, endpoint: Endpoint, n: u32) {
    for _ in 0..n {
        b.acquire(endpoint).await;
        b.succeeded(endpoint);
    }
}

#[tokio::test(start_paused = true)]
async fn requests_leave_evenly_spaced_at_the_budget() {
    let b = budgets(100, Duration::from_secs(2));
    let started = Instant::now();

    send_accepted(&b, Endpoint::Tasks, 101).await;

    // 100 gaps of (2 s + 30 ms) / 100: 1 % of 2 s is below the smallest margin.
    let elapsed = started.elapsed();
    assert!((elapsed.as_secs_f64() - 2.03).abs() < 0.001, "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_remembered_ceiling_paces_from_the_first_request_and_one_at_the_rate_is_ignored() {
    let b = budgets(100, Duration::from_secs(2));

    let at_the_rate = b.remember(Endpoint::Tasks, 100);
    let below = b.remember(Endpoint::ApprovalTasks, 50);
    let started = Instant::now();
    send_accepted(&b, Endpoint::ApprovalTasks, 51).await;

    assert!(!at_the_rate, "a ceiling at the configured rate is none");
    assert_eq!(
        (b.current(Endpoint::Tasks), b.ceiling(Endpoint::Tasks)),
        (100, None)
    );
    assert!(below);
    assert_eq!(b.ceiling(Endpoint::ApprovalTasks), Some(50));
    assert_eq!(b.current(Endpoint::ApprovalTasks), 50);
    // 50 gaps of (2 s + 30 ms) / 50.
    let elapsed = started.elapsed();
    assert!(
        (elapsed.as_secs_f64() - pacer::spread(Duration::from_secs(2)).as_secs_f64()).abs() < 0.001,
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttle_pauses_every_request_of_the_endpoint_and_no_other() {
    let b = budgets(6000, Duration::from_secs(60));
    let sent = b.acquire(Endpoint::Tasks).await;
    b.throttled(Endpoint::Tasks, sent, Duration::from_millis(300), None);
    let started = Instant::now();

    b.acquire(Endpoint::Semesters).await;
    let other = started.elapsed();
    b.acquire(Endpoint::Tasks).await;

    assert_eq!(other, Duration::ZERO, "another endpoint is not paused");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the throttled one waits"
    );
}

#[tokio::test(start_paused = true)]
async fn a_limit_while_sending_below_the_budget_dips_by_a_share_and_climbs_back() {
    let b = budgets(100, Duration::from_secs(60));
    // One request a second: far below 100 a minute, so the budget is not what bounds it.
    let mut last = b.acquire(Endpoint::Tasks).await;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = b.acquire(Endpoint::Tasks).await;
    }

    let cut = b.throttled(Endpoint::Tasks, last, Duration::from_secs(1), Some(5));

    assert_eq!(
        cut.map(|c| (c.from, c.to, c.learned)),
        Some((100, 85, false)),
        "the announcement is not a limit"
    );
    assert_eq!(b.ceiling(Endpoint::Tasks), None, "nothing learned");
    assert_eq!(
        b.current(Endpoint::ApprovalTasks),
        100,
        "endpoints are independent"
    );
    send_accepted(&b, Endpoint::Tasks, 85).await;
    assert_eq!(b.current(Endpoint::Tasks), 93, "half the gap in one window");
    send_accepted(&b, Endpoint::Tasks, 93 + 97 + 99).await;
    assert_eq!(
        b.current(Endpoint::Tasks),
        100,
        "never above the configured rate"
    );
}

#[tokio::test(start_paused = true)]
async fn answers_to_requests_sent_before_a_cut_do_not_cut_again() {
    let b = budgets(20, Duration::from_secs(60));
    let first = b.acquire(Endpoint::Tasks).await;
    let second = b.acquire(Endpoint::Tasks).await;
    tokio::time::sleep(Duration::from_millis(10)).await;

    assert!(
        b.throttled(Endpoint::Tasks, first, Duration::ZERO, None)
            .is_some()
    );
    assert!(
        b.throttled(Endpoint::Tasks, second, Duration::ZERO, None)
            .is_none()
    );

    assert_eq!(b.current(Endpoint::Tasks), 17);
}

#[tokio::test(start_paused = true)]
async fn the_budget_never_drops_below_one_per_window() {
    let b = budgets(3, Duration::from_secs(1));
    for _ in 0..10 {
        let sent = b.acquire(Endpoint::Tasks).await;
        b.throttled(Endpoint::Tasks, sent, Duration::from_secs(1), Some(1));
    }

    assert_eq!(b.current(Endpoint::Tasks), 1);
}

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
        Err(ceiling::whole_secs(oldest_leaves).max(Duration::from_secs(1)))
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
    pass_raised(configured, limit, window, total, None).await
}

/// [`pass`] against a server whose limit changes after some accepted requests.
async fn pass_raised(
    configured: u32,
    limit: usize,
    window: Duration,
    total: u32,
    raise: Option<(u32, usize)>,
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
                        match answer {
                            Ok(()) => {
                                budget.succeeded(Endpoint::ApprovalTasks);
                                break;
                            }
                            Err(reset) => {
                                budget.throttled(Endpoint::ApprovalTasks, sent_at, reset, None);
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
const WINDOW: Duration = Duration::from_secs(2);
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

    assert!(pass.slowdown <= 1.05, "{pass:?}");
    assert!(pass.refused <= 0.01, "{pass:?}");
    assert_eq!(pass.ceiling, Some(100), "{pass:?}");
}

#[tokio::test(start_paused = true)]
async fn with_the_configured_rate_50_percent_too_high_the_budget_learns_the_ceiling() {
    let pass = pass(150, LIMIT, WINDOW, TOTAL).await;

    assert!(pass.slowdown <= 1.05, "{pass:?}");
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
    let pass = pass_raised(150, LIMIT, WINDOW, 20_000, Some((300, 150))).await;

    assert_eq!(pass.ceiling, None, "{pass:?}");
    assert_eq!(pass.budget, 150, "{pass:?}");
    assert_eq!(pass.refusals, 1, "probes met no limit: {pass:?}");
}
