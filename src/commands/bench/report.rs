//! The benchmark's report: one markdown document with the command, the machine, the
//! figures against the targets, and a per-endpoint table per workload.

use std::fmt::Write;
use std::time::Duration;

use super::measure::{EndpointFigures, WritePath};
use super::{BenchArgs, WorkloadResult};

pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or("unknown memory".into(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({cpu}), {memory}")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The whole report.
pub fn markdown(
    args: &BenchArgs,
    window: Duration,
    results: &[WorkloadResult],
    write_path: WritePath,
) -> String {
    let mut out = String::new();
    header(&mut out, args, window);
    if let Some(largest) = results.last() {
        summary(&mut out, largest, results, write_path);
    }
    for result in results {
        workload(&mut out, result);
    }
    if let Some(largest) = results.last() {
        let _ = writeln!(
            out,
            "## As-of query on the history ({} tenant)\n\n`{}`\n\n```\n{}\n```\n",
            largest.workload.name,
            super::measure::AS_OF_QUERY,
            largest.as_of_plan
        );
    }
    out
}

/// The report's opening: the command that made it, the machine, and how the simulator's
/// scaled windows (and the header-window mismatch mode, when on) relate to Feishu's.
fn header(out: &mut String, args: &BenchArgs, window: Duration) {
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Command: `cargo run --release -- bench --scale {} --window-secs {}{}{}`  \nMachine: {}  \nDate: {}  \n",
        match args.scale {
            super::Scale::Tiny => "tiny",
            super::Scale::Large => "large",
        },
        window.as_secs(),
        if args.header_window_mismatch {
            format!(" --header-window-mismatch --overshoot {}", args.overshoot)
        } else {
            String::new()
        },
        if args.output.is_some() {
            " --output docs/benchmarks.md"
        } else {
            ""
        },
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    let _ = writeln!(
        out,
        "The simulator serves each endpoint's documented limit per {}-second window instead of per minute \
         ({}x faster than Feishu), so a pass that takes an hour against Feishu takes about a minute here. \
         feishu-sync runs as a child process against a real PostgreSQL; its peak RSS is its `VmHWM`.\n",
        window.as_secs(),
        60 / window.as_secs().max(1)
    );
    if args.header_window_mismatch {
        let _ = writeln!(
            out,
            "**Header-window mismatch mode.** The simulator's `x-ogw-ratelimit-limit` counts per second \
             while it enforces its limits per {}-second window, and feishu-sync's budgets are set {:.0} % above \
             those limits. The first frequency limit of each busy endpoint is expected (it is how the budget \
             learns the ceiling); the targets are the same as with a consistent window.\n",
            window.as_secs(),
            100.0 * args.overshoot
        );
    }
}

fn summary(
    out: &mut String,
    largest: &WorkloadResult,
    results: &[WorkloadResult],
    write_path: WritePath,
) {
    let wall = largest.first.wall.as_secs_f64();
    let peak = results
        .iter()
        .map(|r| r.first.peak_rss_kib.max(r.no_change.peak_rss_kib))
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "## Against the targets ({} tenant)\n",
        largest.workload.name
    );
    let _ = writeln!(out, "| figure | target | measured |\n| --- | --- | --- |");
    rate_rows(out, largest);
    let _ = writeln!(
        out,
        "| upsert path | >= 50,000 rows/s | {:.0} rows/s ({:.0} task records/s; rows are tasks, collaborators and followers) |",
        write_path.rows_per_sec, write_path.records_per_sec
    );
    let _ = writeln!(
        out,
        "| end-to-end wall time vs theoretical minimum | <= 1.05x | {:.3}x ({wall:.1} s vs {:.1} s) |",
        wall / largest.theoretical_secs.max(0.001),
        largest.theoretical_secs
    );
    let sizes: Vec<String> = results
        .iter()
        .map(|r| format!("{}: {:.1} MiB", r.workload.name, mib(r.first.peak_rss_kib)))
        .collect();
    let _ = writeln!(
        out,
        "| peak RSS, any tenant size | <= 64 MiB | {:.1} MiB ({}) |",
        mib(peak),
        sizes.join(", ")
    );
    let _ = writeln!(
        out,
        "| rows written by a no-change run | 0 | {} |",
        largest.no_change_rows_written
    );
    let _ = writeln!(
        out,
        "| records/s end to end | — | {:.0} |\n",
        largest.rows_in_tables as f64 / wall
    );
}

/// The summary's two rate rows: how close the busy endpoints came to their ceilings, and how
/// many requests the simulator refused.
fn rate_rows(out: &mut String, largest: &WorkloadResult) {
    let busy: Vec<_> = largest
        .endpoints
        .iter()
        .filter(|e| bounded_by_its_limit(e, largest.theoretical_secs))
        .collect();
    let worst_rate = busy
        .iter()
        .map(|e| e.rate_fraction())
        .fold(f64::INFINITY, f64::min);
    let limited: u64 = largest.endpoints.iter().map(|e| e.rate_limited).sum();
    let total: u64 = largest
        .endpoints
        .iter()
        .map(|e| e.rate_limited + e.accepted)
        .sum();
    let _ = writeln!(
        out,
        "| achieved rate per busy endpoint vs its ceiling (lowest) | >= 0.95 | {worst_rate:.3} |"
    );
    let _ = writeln!(
        out,
        "| requests rate-limited | <= 1 % | {:.2} % ({limited} of {total}) |",
        100.0 * limited as f64 / total.max(1) as f64
    );
}

fn workload(out: &mut String, r: &WorkloadResult) {
    let s = &r.workload.spec;
    let _ = writeln!(
        out,
        "## {} tenant\n\n{} users, {} semesters, {} stage tasks per user and semester, {} approval tasks per user \
         ({} users read), {} tasks. {} rows in the tables after the first pass.\n",
        r.workload.name,
        s.users,
        s.semesters,
        s.stage_tasks_per_user,
        s.approval_tasks_per_user,
        r.workload.approval_users,
        s.tasks,
        r.rows_in_tables
    );
    endpoint_table(out, r);
    let _ = writeln!(
        out,
        "\nFirst pass {:.1} s (theoretical minimum {:.1} s), peak RSS {:.1} MiB. No-change re-run {:.1} s, peak RSS {:.1} MiB, {} rows written.{}\n",
        r.first.wall.as_secs_f64(),
        r.theoretical_secs,
        mib(r.first.peak_rss_kib),
        r.no_change.wall.as_secs_f64(),
        mib(r.no_change.peak_rss_kib),
        r.no_change_rows_written,
        if r.failures.is_empty() {
            String::new()
        } else {
            format!(" Failures: {}", r.failures.join("; "))
        }
    );
    if !r.learned_ceilings.is_empty() {
        let learned: Vec<String> = r
            .learned_ceilings
            .iter()
            .map(|(stream, per_minute)| format!("{stream} {per_minute}"))
            .collect();
        let _ = writeln!(
            out,
            "Ceilings the first pass learned and recorded for `status`, in requests per minute (the \
             table's ceilings are per second): {}.\n",
            learned.join(", ")
        );
    }
}

/// One tenant's per-endpoint table: requests, refusals and achieved rate against the
/// ceiling, first pass and no-change re-run side by side.
fn endpoint_table(out: &mut String, r: &WorkloadResult) {
    let _ = writeln!(
        out,
        "| endpoint | requests | rate-limited | achieved / ceiling (req/s) | fraction | no-change run requests |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (e, again) in r.endpoints.iter().zip(&r.no_change_endpoints) {
        let _ = writeln!(
            out,
            "| {} | {} | {} ({:.2} %) | {:.2} / {:.2} | {} | {} |",
            e.endpoint,
            e.accepted,
            e.rate_limited,
            100.0 * e.limited_share(),
            e.achieved_per_sec,
            e.ceiling_per_sec,
            match (
                e.accepted >= 20,
                bounded_by_its_limit(e, r.theoretical_secs)
            ) {
                (false, _) => "— (too few requests)".into(),
                (true, true) => format!("{:.3}", e.rate_fraction()),
                (true, false) => format!("{:.3} (done in latency, not limit)", e.rate_fraction()),
            },
            again.accepted + again.rate_limited
        );
    }
}

/// Whether an endpoint's limit shapes the pass: enough requests to measure a rate, and
/// enough work at its ceiling to matter (a tenth of the minimum pass). The directory's
/// endpoints allow 1000 a minute, 500 a second in the benchmark's scaled windows: their
/// few dozen requests finish in round trips long before that rate could be reached.
fn bounded_by_its_limit(e: &EndpointFigures, theoretical_secs: f64) -> bool {
    e.accepted >= 20 && e.minimum_secs() >= theoretical_secs / 10.0
}
