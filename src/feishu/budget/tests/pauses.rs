//! How long a frequency limit pauses the endpoint: a second less than a whole-seconds
//! reset after a measured limit, with the answer gate deciding, until a request sent in
//! that second is refused.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    ONE_SECOND, WINDOW, budgets, limited_after_twenty, send_accepted,
    twenty_with_the_first_answered_late,
};
use crate::feishu::Endpoint;
use crate::feishu::budget::{Budgets, Cut, Reset};

/// Like [`limited_after_twenty`], but the first request is answered 0.1 s after it left.
/// Returns when the first left and when the 21st was refused.
async fn limited_after_a_late_answer(reset: Reset) -> (Budgets, Instant, Instant) {
    let b = budgets(21, WINDOW);
    let started = twenty_with_the_first_answered_late(&b).await;
    let sent = b.acquire(Endpoint::Reviewees).await;
    let cut = b.throttled(Endpoint::Reviewees, sent, reset, Some(10));
    assert!(cut.is_some_and(|c| c.learned), "measured: {cut:?}");
    (b, started, Instant::now())
}

#[tokio::test(start_paused = true)]
async fn a_measured_limit_pauses_until_the_send_log_clears_the_window_not_for_the_whole_reset() {
    // The 21st of 21 a window meets the server's 20 about 1.93 s after the first left.
    // The first was answered at 0.1 s, so the gate holds the next request until 2.1 s
    // (its slot of the even pace is 2.03 s): the whole reset would hold it to 2.93 s.
    let (b, started, limited_at) = limited_after_a_late_answer(ONE_SECOND).await;
    let next = b.acquire(Endpoint::Reviewees).await;

    let resumed = next.at.duration_since(started);
    assert!(
        (resumed.as_secs_f64() - 2.1).abs() < 0.001,
        "limited at {:?}, resumed at {resumed:?}",
        limited_at.duration_since(started)
    );

    // A reset the server did not give in whole seconds (here: no header, the default
    // second) is waited out as it is.
    let missing = Reset::exact(Duration::from_secs(1));
    let (b, _, limited_at) = limited_after_a_late_answer(missing).await;
    let next = b.acquire(Endpoint::Reviewees).await;
    assert_eq!(next.at.duration_since(limited_at), Duration::from_secs(1));
}

/// Sends `n` accepted requests, then one the server refuses with a one-second reset
/// (`x-ogw-ratelimit-limit: 10`). Returns the cut, and how long after the refusal the
/// next request left.
async fn limit_after(b: &Budgets, n: u32) -> (Option<Cut>, Duration) {
    send_accepted(b, Endpoint::Reviewees, n).await;
    let sent = b.acquire(Endpoint::Reviewees).await;
    let cut = b.throttled(Endpoint::Reviewees, sent, ONE_SECOND, Some(10));
    let limited_at = Instant::now();
    let next = b.acquire(Endpoint::Reviewees).await;
    b.answered(Endpoint::Reviewees, next);
    (cut, next.at.duration_since(limited_at))
}

#[tokio::test(start_paused = true)]
async fn a_limit_on_a_request_sent_before_the_reset_was_over_makes_every_later_pause_whole() {
    // A server whose window the log does not explain (one that does not slide, say)
    // refuses the request the gate let go early: that limit pauses the whole reset and
    // dips the budget by one, and every limit after it pauses the whole reset too.
    let (b, _) = limited_after_twenty(21, Some(10)).await;
    let early = b.acquire(Endpoint::Reviewees).await;
    b.answered(Endpoint::Reviewees, early);

    let cut = b.throttled(Endpoint::Reviewees, early, ONE_SECOND, Some(10));
    let refused_at = Instant::now();
    let after = b.acquire(Endpoint::Reviewees).await;
    b.answered(Endpoint::Reviewees, after);

    assert_eq!(
        cut.map(|c| (c.from, c.to, c.learned)),
        Some((20, 19, false))
    );
    assert_eq!(b.ceiling(Endpoint::Reviewees), Some(19));
    assert_eq!(after.at.duration_since(refused_at), Duration::from_secs(1));
    // Then a limit clearly below the pace (14 of 19), measured and learned: the whole
    // reset. The same limit on a budget whose log was never disproved: only until the
    // gate opens, when its first request leaves the window at 2 s (0.5 s later).
    let (cut, paused) = limit_after(&b, 13).await;
    assert!(cut.is_some_and(|c| c.learned && c.to == 14), "{cut:?}");
    assert_eq!(paused, Duration::from_secs(1), "now waits its reset out");
    let control = budgets(19, WINDOW);
    let (cut, paused) = limit_after(&control, 14).await;
    assert!(cut.is_some_and(|c| c.learned && c.to == 14), "{cut:?}");
    assert!(
        paused > Duration::from_millis(400) && paused < Duration::from_millis(600),
        "{paused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_refusal_from_a_shortened_pause_disproves_the_log_after_a_later_cut() {
    // A request sent in the shortened pause is refused only after a request sent later
    // met a limit and cut again: it still disproves the log.
    let (b, _) = limited_after_twenty(21, Some(10)).await;
    let early = b.acquire(Endpoint::Reviewees).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    send_accepted(&b, Endpoint::Reviewees, 5).await;
    let later = b.acquire(Endpoint::Reviewees).await;
    let later_cut = b.throttled(Endpoint::Reviewees, later, ONE_SECOND, Some(10));
    let budget = b.current(Endpoint::Reviewees);

    let cut = b.throttled(Endpoint::Reviewees, early, ONE_SECOND, Some(10));
    let refused_at = Instant::now();
    let next = b.acquire(Endpoint::Reviewees).await;

    assert!(later_cut.is_some(), "the later request cut: {later_cut:?}");
    assert_eq!(
        cut.map(|c| (c.from, c.to, c.learned)),
        Some((budget, budget - 1, false)),
        "not an echo of the later cut: the dip of a disproval"
    );
    assert_eq!(next.at.duration_since(refused_at), Duration::from_secs(1));
}
