//! Unit tests of `status`: the table's alignment and what `--check` complains about.

use std::time::Duration;

use chrono::Utc;

use super::*;

#[test]
fn a_long_watermark_keeps_the_columns_aligned() {
    let rows = vec![
        vec![
            "tasks".into(),
            "3".into(),
            "2026-12-01 20:00:00".into(),
            "x".into(),
        ],
        vec![
            "stage_tasks".into(),
            "12345".into(),
            "2026-11-30 08:00:00 (+5 more)".into(),
            "y".into(),
        ],
    ];
    let text = render_table(
        &["stream", "rows", "watermark", "next"],
        &[false, true, false, false],
        &rows,
    );
    let lines: Vec<&str> = text.lines().collect();
    let column = |line: &str, cell: &str| line.find(cell).unwrap();
    assert_eq!(column(lines[0], "next"), column(lines[1], "x"), "{text}");
    assert_eq!(column(lines[1], "x"), column(lines[2], "y"), "{text}");
    assert!(lines[1].contains("    3 "), "counts align right: {text}");
}

#[test]
fn check_names_failed_missing_and_stale_streams() {
    let now = Utc::now();
    let status = |stream, outcome: Option<&str>, success: Option<i64>| StreamStatus {
        stream,
        enabled: true,
        schedule: String::new(),
        next_run: None,
        last_run: outcome.map(|o| LastRun {
            started_at: now,
            finished_at: Some(now),
            status: o.into(),
            rows_written: 0,
            rows_retired: 0,
            api_requests: 0,
            rate_limited_requests: 0,
            duration_seconds: None,
            error: None,
            rate_ceiling_per_minute: None,
        }),
        watermark_partitions: 0,
        oldest_watermark: None,
        newest_watermark: None,
        warning: None,
        last_success: success.map(|hours| now - chrono::Duration::hours(hours)),
        interval_seconds: Some(600.0),
        rate_advice: None,
    };
    let statuses = [
        status("tasks", Some("succeeded"), Some(0)),
        status("users", Some("failed"), Some(0)),
        status("semesters", None, None),
        status("departments", Some("succeeded"), Some(2)),
    ];
    let problems = check(&statuses, None, now);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("users: the last run failed"));
    assert!(problems[1].starts_with("semesters: no successful run yet"));
    assert!(
        problems[2].contains("departments: data is 2h0m old"),
        "{problems:?}"
    );
    assert!(check(&statuses[..1], Some(Duration::from_secs(3600)), now).is_empty());
}
