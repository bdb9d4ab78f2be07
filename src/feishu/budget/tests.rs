//! The budget on tokio's paused clock, one event at a time; [`passes`] runs whole passes
//! against a model of the simulator's sliding window.

use std::time::Duration;

use tokio::time::Instant;

use super::*;

mod passes;
mod pauses;

/// The benchmark's scaled window.
const WINDOW: Duration = Duration::from_secs(2);

/// The simulator's usual `x-ogw-ratelimit-reset: 1`.
const ONE_SECOND: Reset = Reset::whole_seconds(Duration::from_secs(1));

fn budgets(per_window: u32, window: Duration) -> Budgets {
    let limits = Endpoint::ALL.into_iter().map(|e| (e, per_window)).collect();
    Budgets::new(&limits, window)
}

/// Sends `n` requests of `endpoint` back to back, all accepted.
async fn send_accepted(b: &Budgets, endpoint: Endpoint, n: u32) {
    for _ in 0..n {
        let sent = b.acquire(endpoint).await;
        b.answered(endpoint, sent);
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
    b.throttled(
        Endpoint::Tasks,
        sent,
        Reset::exact(Duration::from_millis(300)),
        None,
    );
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

    let cut = b.throttled(Endpoint::Tasks, last, ONE_SECOND, Some(5));

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
        b.throttled(Endpoint::Tasks, first, Reset::exact(Duration::ZERO), None)
            .is_some()
    );
    assert!(
        b.throttled(Endpoint::Tasks, second, Reset::exact(Duration::ZERO), None)
            .is_none()
    );

    assert_eq!(b.current(Endpoint::Tasks), 17);
}

#[tokio::test(start_paused = true)]
async fn the_budget_never_drops_below_one_per_window() {
    let b = budgets(3, Duration::from_secs(1));
    for _ in 0..10 {
        let sent = b.acquire(Endpoint::Tasks).await;
        b.throttled(Endpoint::Tasks, sent, ONE_SECOND, Some(1));
    }

    assert_eq!(b.current(Endpoint::Tasks), 1);
}

/// Sends 20 requests back to back at a budget of `configured` per 2-second window, then a
/// 21st that the server refuses with `announced` as its `x-ogw-ratelimit-limit`.
async fn limited_after_twenty(configured: u32, announced: Option<u32>) -> (Budgets, Option<Cut>) {
    let b = budgets(configured, WINDOW);
    send_accepted(&b, Endpoint::Reviewees, 20).await;
    let sent = b.acquire(Endpoint::Reviewees).await;
    let cut = b.throttled(Endpoint::Reviewees, sent, ONE_SECOND, announced);
    (b, cut)
}

#[tokio::test(start_paused = true)]
async fn a_limit_one_request_above_a_small_budget_is_the_ceiling_when_the_announcement_bears_it_out()
 {
    // 21 a window against a real 20: the window before the refused request holds 20.
    // "10" read per second is 20 per 2-second window: the count, below the budget.
    let (b, cut) = limited_after_twenty(21, Some(10)).await;

    assert_eq!(cut.map(|c| (c.from, c.to, c.learned)), Some((21, 20, true)));
    assert_eq!(b.ceiling(Endpoint::Reviewees), Some(20));
    send_accepted(&b, Endpoint::Reviewees, 40).await;
    assert_eq!(
        b.current(Endpoint::Reviewees),
        20,
        "no climb back into the limit"
    );
}

#[tokio::test(start_paused = true)]
async fn a_limit_near_the_pace_without_a_bearing_announcement_only_dips() {
    // No header; then one whose readings (5 or 10 a window) the count of 20 does not
    // bear out: either way the limit may be jitter.
    for announced in [None, Some(5)] {
        let (b, cut) = limited_after_twenty(21, announced).await;

        assert_eq!(
            cut.map(|c| (c.from, c.to, c.learned)),
            Some((21, 20, false)),
            "{announced:?}"
        );
        assert_eq!(b.ceiling(Endpoint::Reviewees), None, "{announced:?}");
        send_accepted(&b, Endpoint::Reviewees, 20).await;
        assert_eq!(
            b.current(Endpoint::Reviewees),
            21,
            "climbs back: {announced:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_jitter_limit_at_the_right_rate_is_not_confirmed_by_an_announcement_at_that_rate() {
    // Configured right at 20: a 21st counted early is jitter. The announcement read per
    // second (20) is the budget itself, not below it.
    let (b, cut) = limited_after_twenty(20, Some(10)).await;

    assert_eq!(
        cut.map(|c| (c.from, c.to, c.learned)),
        Some((20, 19, false))
    );
    assert_eq!(b.ceiling(Endpoint::Reviewees), None);
    send_accepted(&b, Endpoint::Reviewees, 19).await;
    assert_eq!(
        b.current(Endpoint::Reviewees),
        20,
        "a small dip, climbed back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lone_limit_near_the_pace_at_the_measured_ceiling_keeps_the_ceiling() {
    // At the ceiling of 20 (measured by an earlier run), a 21st counted early is jitter:
    // it is no probe above the ceiling, and the announcement is the ceiling itself.
    let b = budgets(21, WINDOW);
    b.remember(Endpoint::Reviewees, 20);
    send_accepted(&b, Endpoint::Reviewees, 20).await;
    let sent = b.acquire(Endpoint::Reviewees).await;

    let cut = b.throttled(Endpoint::Reviewees, sent, ONE_SECOND, Some(10));

    assert_eq!(
        cut.map(|c| (c.from, c.to, c.learned)),
        Some((20, 19, false))
    );
    assert_eq!(
        b.ceiling(Endpoint::Reviewees),
        Some(20),
        "the ceiling stays"
    );
    send_accepted(&b, Endpoint::Reviewees, 19).await;
    assert_eq!(b.current(Endpoint::Reviewees), 20, "climbed back to it");
}

/// Sends 20 accepted reviewee requests back to back, the first answered 0.1 s after it
/// left (it may have reached the server that late), the rest at once. Returns when the
/// first left.
async fn twenty_with_the_first_answered_late(b: &Budgets) -> Instant {
    let started = Instant::now();
    let first = b.acquire(Endpoint::Reviewees).await;
    tokio::time::sleep_until(first.at + Duration::from_millis(100)).await;
    b.answered(Endpoint::Reviewees, first);
    send_accepted(b, Endpoint::Reviewees, 19).await;
    started
}

#[tokio::test(start_paused = true)]
async fn a_request_leaves_only_a_window_after_the_one_a_budget_before_it_was_answered() {
    // The first of 20 is answered 0.1 s after it left (it may have reached the server that
    // late): the 21st, due 2.03 s after it, waits until 2.1 s so the server's 2-second
    // window cannot hold both.
    let b = budgets(20, WINDOW);
    let started = twenty_with_the_first_answered_late(&b).await;

    let late = b.acquire(Endpoint::Reviewees).await;
    let on_time = b.acquire(Endpoint::Reviewees).await;

    let at = |t: Departure| t.at.duration_since(started).as_secs_f64();
    assert!(
        (at(late) - 2.1).abs() < 0.001,
        "held to 2.1 s: {}",
        at(late)
    );
    // The next keeps the even pace: its slot (2.1315 s) is after the second request's
    // answer (at 0.1015 s) plus a window.
    assert!((at(on_time) - 2.1315).abs() < 0.001, "{}", at(on_time));
}

#[tokio::test(start_paused = true)]
async fn a_count_a_few_short_of_an_announcement_that_bears_it_out_is_corrected_to_it() {
    // 150 a window against a real 100: the window before the refused request holds 97 by
    // our send times (three reached the server late). "50" read per second, or "100" read
    // per window, is 100 a window: within the count's slack at 150 (three requests), so
    // it is the ceiling. "101", four away, is not.
    for (announced, learned) in [(50, 100), (100, 100), (101, 97)] {
        let b = budgets(150, WINDOW);
        send_accepted(&b, Endpoint::ApprovalTasks, 97).await;
        let sent = b.acquire(Endpoint::ApprovalTasks).await;

        let cut = b.throttled(Endpoint::ApprovalTasks, sent, ONE_SECOND, Some(announced));

        assert_eq!(
            cut.map(|c| (c.from, c.to, c.learned)),
            Some((150, learned, true)),
            "announced {announced}"
        );
        assert_eq!(b.ceiling(Endpoint::ApprovalTasks), Some(learned));
    }
}
