//! Unit tests of the registry: every stream's series exist from the start, and the encoded
//! text names streams, endpoints and outcomes.

use super::*;

#[test]
fn every_streams_series_exist_from_the_start_at_zero() {
    let text = Metrics::new().encode();

    for endpoint in Endpoint::ALL {
        let stream = endpoint.name();
        for series in [
            format!(r#"feishu_sync_runs_total{{stream="{stream}",outcome="failed"}} 0"#),
            format!(r#"feishu_sync_rows_written_total{{stream="{stream}"}} 0"#),
            format!(r#"feishu_sync_rate_limit_waits_total{{endpoint="{stream}"}} 0"#),
        ] {
            assert!(text.contains(&series), "{series} in {text}");
        }
    }
    assert!(text.contains("feishu_sync_config_valid 1"), "{text}");
}

#[test]
fn encoded_text_names_streams_endpoints_and_outcomes() {
    let metrics = Metrics::new();
    metrics.run_finished(Endpoint::Tasks, "succeeded", Duration::from_secs(3));
    metrics.page_committed(Endpoint::Tasks, 40);
    metrics.request(Endpoint::StageTasks, RequestOutcome::RateLimited);
    metrics.skipped_overlap(Endpoint::Semesters);

    let text = metrics.encode();

    assert!(
        text.contains(r#"feishu_sync_runs_total{stream="tasks",outcome="succeeded"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"feishu_sync_rows_written_total{stream="tasks"} 40"#),
        "{text}"
    );
    assert!(text.contains(
        r#"feishu_sync_requests_total{endpoint="stage_tasks",outcome="rate_limited"} 1"#
    ));
    assert!(text.contains(r#"feishu_sync_rate_limit_waits_total{endpoint="stage_tasks"} 1"#));
    assert!(text.contains(r#"feishu_sync_skipped_overlaps_total{stream="semesters"} 1"#));
    assert!(text.contains("feishu_sync_run_duration_seconds_bucket"));
    assert!(text.contains("feishu_sync_last_success_timestamp_seconds{stream=\"tasks\"}"));
    assert_eq!(metrics.progress(Endpoint::Tasks), (1, 40, 0));
}
