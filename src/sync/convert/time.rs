//! Feishu's epoch times as column values: strings of milliseconds or seconds become
//! `timestamptz` (`"0"` and `""` become NULL, what a column cannot store is refused), and
//! times go back as the milliseconds the performance API filters take.

use chrono::{DateTime, Utc};

/// Epoch milliseconds as a decimal string (performance endpoints).
pub fn from_millis(value: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    parse_epoch(value, 1)?.map(storable).transpose()
}

/// Epoch seconds as a decimal string (task v1).
pub fn from_seconds(value: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    parse_epoch(value, 1000)?.map(storable).transpose()
}

/// The earliest and latest epoch milliseconds a time column takes: 1970-01-01 to the end
/// of 9999. Feishu's times are epoch times, so anything earlier is bogus, and PostgreSQL
/// refuses years before 4713 BC that chrono accepts: one such value would fail the
/// whole batch. Outside this range the record is rejected (quarantined) instead.
const STORABLE_MILLIS: std::ops::RangeInclusive<i64> = 0..=253_402_300_799_999;

/// `ms` as a time, if a column can store it.
fn storable(ms: i64) -> Result<DateTime<Utc>, String> {
    STORABLE_MILLIS
        .contains(&ms)
        .then(|| DateTime::from_timestamp_millis(ms))
        .flatten()
        .ok_or_else(|| format!("{ms} ms since 1970 is out of range (1970 to 9999)"))
}

/// How far ahead of this machine's clock a creation time may lie (clock skew) before it
/// is taken as bogus: a task cannot have been created in the future, and one bogus
/// `create_time` would otherwise become the watermark and hide every new task.
pub const CREATE_TIME_SKEW: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// Refuses a creation time later than now plus [`CREATE_TIME_SKEW`].
pub fn not_in_future(time: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, String> {
    match time {
        Some(t) if t > Utc::now() + CREATE_TIME_SKEW => {
            Err(format!("{} lies in the future", t.to_rfc3339()))
        }
        other => Ok(other),
    }
}

/// `None` for absent, empty and `"0"`; milliseconds otherwise.
fn parse_epoch(value: Option<&str>, to_millis: i64) -> Result<Option<i64>, String> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let number: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not an epoch timestamp"))?;
    if number == 0 {
        return Ok(None);
    }
    number
        .checked_mul(to_millis)
        .map(Some)
        .ok_or_else(|| format!("{text:?} is out of range"))
}

/// Epoch milliseconds of a time, as the performance API expects in filters.
pub fn to_millis_string(time: DateTime<Utc>) -> String {
    time.timestamp_millis().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_strings_become_times_and_zero_becomes_null() {
        let ms = from_millis(Some("1717142244000")).unwrap().unwrap();
        assert_eq!(ms.to_rfc3339(), "2024-05-31T07:57:24+00:00");
        let s = from_seconds(Some("1637045612")).unwrap().unwrap();
        assert_eq!(s.timestamp(), 1637045612);
        assert_eq!(from_seconds(Some("0")).unwrap(), None);
        assert_eq!(from_millis(Some("")).unwrap(), None);
        assert_eq!(from_millis(None).unwrap(), None);
        assert!(from_millis(Some("soon")).is_err());
        assert!(from_seconds(Some("9223372036854775807")).is_err());
    }

    #[test]
    fn times_a_column_cannot_store_are_errors_not_nulls() {
        // chrono takes year -7536; PostgreSQL refuses anything before 4713 BC.
        assert!(from_seconds(Some("-300000000000")).is_err());
        assert!(from_millis(Some("-1")).is_err());
        // Year 10000 and beyond, and what chrono cannot represent at all.
        assert!(from_millis(Some("253402300800000")).is_err());
        assert!(from_millis(Some("9000000000000000000")).is_err());
        let last = from_millis(Some("253402300799999")).unwrap().unwrap();
        assert_eq!(last.to_rfc3339(), "9999-12-31T23:59:59.999+00:00");
    }

    #[test]
    fn a_creation_time_in_the_future_is_refused() {
        let soon = Utc::now() + chrono::TimeDelta::hours(2);
        let later = Utc::now() + chrono::TimeDelta::days(400);

        assert_eq!(not_in_future(Some(soon)), Ok(Some(soon)), "clock skew");
        assert!(not_in_future(Some(later)).is_err());
        assert_eq!(not_in_future(None), Ok(None));
    }
}
