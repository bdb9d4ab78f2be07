//! The status as a table on stdout: one line per stream, then each stream's error,
//! warning and advice.

use chrono::{DateTime, Utc};

use super::collect::StreamStatus;

/// A time as `status` prints it (UTC, to the second), `-` for none.
pub(super) fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// The streams' table, then each stream's error, warning and rate-limit advice.
pub(super) fn print_table(statuses: &[StreamStatus]) {
    let header = [
        "stream",
        "enabled",
        "last run (UTC)",
        "outcome",
        "rows",
        "requests",
        "limited",
        "seconds",
        "watermark",
        "next run (UTC)",
    ];
    // Text columns align left, counts right.
    let right = [
        false, false, false, false, true, true, true, true, false, false,
    ];
    let rows: Vec<Vec<String>> = statuses.iter().map(table_row).collect();
    crate::out!("{}", render_table(&header, &right, &rows));
    for s in statuses {
        if let Some(error) = s.last_run.as_ref().and_then(|r| r.error.as_deref()) {
            crate::outln!("\n{}: {error}", s.stream);
        }
        if let Some(warning) = &s.warning {
            crate::outln!("\n{} (warning): {warning}", s.stream);
        }
        if let Some(advice) = &s.rate_advice {
            crate::outln!("\n{} (rate limit): {advice}", s.stream);
        }
    }
}

/// One stream's cells, in the header's order.
fn table_row(s: &StreamStatus) -> Vec<String> {
    let run = s.last_run.as_ref();
    let watermark = match s.watermark_partitions {
        0 => "-".to_string(),
        1 => time(s.newest_watermark),
        n => format!("{} (+{} more)", time(s.oldest_watermark), n - 1),
    };
    vec![
        s.stream.to_string(),
        if s.enabled { "yes" } else { "no" }.to_string(),
        time(run.map(|r| r.started_at)),
        run.map_or("never", |r| r.status.as_str()).to_string(),
        run.map_or("-".into(), |r| r.rows_written.to_string()),
        run.map_or("-".into(), |r| r.api_requests.to_string()),
        run.map_or("-".into(), |r| r.rate_limited_requests.to_string()),
        run.and_then(|r| r.duration_seconds)
            .map_or("-".into(), |d| format!("{d:.1}")),
        watermark,
        time(s.next_run),
    ]
}

/// The rows under `header`, each column as wide as its widest cell, one space apart.
pub fn render_table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(right)
            .map(|((cell, &width), &right)| match right {
                true => format!("{cell:>width$}"),
                false => format!("{cell:<width$}"),
            })
            .collect();
        format!("{}\n", padded.join(" ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
