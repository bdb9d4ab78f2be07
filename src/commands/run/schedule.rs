//! One loop per stream: compute the next firing of its cron schedule (UTC), sleep until then
//! or until shutdown, fire, repeat. A loop waits for its own run, so a stream's scheduled
//! runs can never overlap; firings a long run outlasted are counted as skipped.

use chrono::{DateTime, Utc};
use croner::Cron;

use super::jobs::{SharedJobs, WhenBusy};
use crate::feishu::Endpoint;
use crate::sync::ReadMode;

/// Fires `stream` read as `mode` on `cron` until shutdown. Returns early only if the schedule
/// has no next firing, which the caller treats as a dead scheduler.
pub async fn run_loop(jobs: SharedJobs, stream: Endpoint, cron: Cron, mode: ReadMode) {
    let mut after = Utc::now();
    loop {
        let Some(next) = next_firing(&cron, after) else {
            tracing::error!(%stream, "the schedule has no next firing; this stream stops");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = jobs.shutdown().cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        jobs.fire(stream, &mode, WhenBusy::Skip).await;
        let now = Utc::now();
        let missed = missed_firings(&cron, next, now);
        if missed > 0 {
            jobs.missed_firings(stream, missed);
        }
        after = now.max(next);
    }
}

/// The first firing strictly after `after`.
fn next_firing(cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after, false).ok()
}

/// Firings strictly between `fired` and `now` (a run that lasted past them), capped so a
/// very long run cannot make this loop long.
fn missed_firings(cron: &Cron, fired: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let mut missed = 0;
    let mut at = fired;
    while missed < 10_000 {
        match next_firing(cron, at) {
            Some(next) if next < now => {
                missed += 1;
                at = next;
            }
            _ => break,
        }
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_schedule;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn firings_a_long_run_outlasted_are_counted() {
        let every_ten_minutes = parse_schedule("0 */10 * * * *").unwrap();
        let fired = utc("2026-11-30T10:00:00Z");
        assert_eq!(
            next_firing(&every_ten_minutes, fired),
            Some(utc("2026-11-30T10:10:00Z"))
        );
        assert_eq!(
            missed_firings(&every_ten_minutes, fired, utc("2026-11-30T10:09:59Z")),
            0
        );
        assert_eq!(
            missed_firings(&every_ten_minutes, fired, utc("2026-11-30T10:25:00Z")),
            2
        );
        let every_second = parse_schedule("* * * * * *").unwrap();
        assert_eq!(
            missed_firings(&every_second, fired, utc("2026-12-30T10:00:00Z")),
            10_000,
            "capped"
        );
    }
}
