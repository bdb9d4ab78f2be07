//! The tenant's monthly API quota (code 99991403 on the Basic plan, shared by every custom
//! app of the tenant). Once Feishu says it is used up, every further call would be refused
//! until the quota renews, so the client stops calling at once: one flag that every
//! request checks, cleared when the next calendar month begins in Feishu's time zone.

use std::sync::Mutex;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::feishu::error::{ApiError, LogId};

/// Feishu's calendar runs on China Standard Time (UTC+8), with no daylight saving.
const FEISHU_OFFSET_SECS: i32 = 8 * 3600;

/// Why and until when the client sends nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaStop {
    /// When the first 99991403 arrived.
    pub since: DateTime<Utc>,
    /// When the quota renews: 00:00 of the next month's first day, UTC+8.
    pub until: DateTime<Utc>,
    /// The log id of the answer that stopped the client.
    pub log_id: LogId,
}

impl QuotaStop {
    /// The error a request to `target` fails with while the stop holds.
    pub fn error(&self, target: impl Into<String>) -> ApiError {
        ApiError::QuotaExhausted {
            endpoint: target.into(),
            until: self.until,
            log_id: self.log_id.clone(),
        }
    }

    /// The one-line reason for logs and `/readyz`.
    pub fn reason(&self) -> String {
        self.error("API").to_string()
    }
}

/// The first instant of the calendar month after `now`'s, in Feishu's time zone.
pub fn next_renewal(now: DateTime<Utc>) -> DateTime<Utc> {
    let zone = FixedOffset::east_opt(FEISHU_OFFSET_SECS).expect("UTC+8 is a valid offset");
    let local = now.with_timezone(&zone);
    let (year, month) = match local.month() {
        12 => (local.year() + 1, 1),
        m => (local.year(), m + 1),
    };
    let midnight = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("the first of a month exists");
    zone.from_local_datetime(&midnight)
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The client's quota flag, shared by every stream.
#[derive(Debug, Default)]
pub struct QuotaFlag {
    stop: Mutex<Option<QuotaStop>>,
}

impl QuotaFlag {
    /// The stop in force at `now`, if any; an expired one is cleared, and only then is
    /// `on_renewal` called.
    pub fn active(&self, now: DateTime<Utc>, on_renewal: impl FnOnce()) -> Option<QuotaStop> {
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        if stop.as_ref().is_some_and(|s| now >= s.until) {
            tracing::info!("the month changed in UTC+8: the monthly API quota has renewed");
            *stop = None;
            on_renewal();
        }
        stop.clone()
    }

    /// Records a 99991403 answer; the first one sets the stop, later ones keep it.
    pub fn exhausted(&self, now: DateTime<Utc>, log_id: LogId) -> QuotaStop {
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        stop.get_or_insert_with(|| QuotaStop {
            since: now,
            until: next_renewal(now),
            log_id,
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_quota_renews_at_the_next_month_in_utc_plus_8() {
        // 2026-11-30 15:59 UTC is still November in UTC+8 (23:59).
        assert_eq!(
            next_renewal(utc("2026-11-30T15:59:00Z")),
            utc("2026-11-30T16:00:00Z")
        );
        // 16:00 UTC is already 1 December in UTC+8: the renewal is 1 January.
        assert_eq!(
            next_renewal(utc("2026-11-30T16:00:00Z")),
            utc("2026-12-31T16:00:00Z")
        );
        assert_eq!(
            next_renewal(utc("2026-12-15T00:00:00Z")),
            utc("2026-12-31T16:00:00Z"),
            "December rolls over the year"
        );
    }

    #[test]
    fn a_stop_holds_until_the_renewal_then_clears() {
        let flag = QuotaFlag::default();
        let now = utc("2026-11-10T00:00:00Z");
        assert_eq!(flag.active(now, || {}), None);
        let stop = flag.exhausted(now, LogId(Some("abc".into())));
        let later = flag.exhausted(utc("2026-11-11T00:00:00Z"), LogId(None));
        assert_eq!(stop, later, "the first answer sets the stop");
        assert_eq!(
            flag.active(utc("2026-11-30T15:00:00Z"), || {}),
            Some(stop.clone())
        );
        assert!(stop.reason().contains("99991403") && stop.reason().contains("2026-11-30 16:00"));
        assert_eq!(flag.active(utc("2026-11-30T16:00:00Z"), || {}), None);
    }
}
