//! The commands a data engineer reaches for in the first hour (issue 21): `check`,
//! `reset`, `dbt-sources`, and the observability pack in `contrib/` against `/metrics`.

use std::collections::BTreeSet;

use sqlx::PgPool;

use crate::helpers::binary::{database_url, run_binary as run, sim_env, text};
use crate::helpers::*;
use feishu_sync::feishu::Endpoint;

#[sqlx::test(migrations = false)]
async fn check_passes_against_a_working_tenant_and_names_what_fails(pool: PgPool) {
    let sim = simulator().await;
    let env = sim_env(&sim, &pool);
    let mut wrong = env.clone();
    wrong.push(("FEISHU_SYNC__FEISHU__APP_SECRET".into(), "nope".into()));
    let mut invalid = env.clone();
    invalid.push(("FEISHU_SYNC__FEISHU__USER_ID_TYPE".into(), "email".into()));

    // No approval users configured: approvals are asked about a user of the directory.
    let mut directory_users = env.clone();
    directory_users.retain(|(k, _)| k != "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS");

    let good = run(&["check"], directory_users).await;
    let refused = run(&["check"], wrong).await;
    let broken = run(&["check"], invalid).await;

    let (stdout, stderr) = text(&good);
    assert_eq!(good.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in [
        "configuration",
        "database",
        "database writable",
        "database migrations",
        "feishu token",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(&format!(" {name} "))),
            "{name}:\n{stdout}"
        );
    }
    for endpoint in Endpoint::ALL {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(&format!("endpoint {endpoint}"))),
            "{endpoint}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("none applied yet"),
        "it migrates nothing:\n{stdout}"
    );
    let (stdout, _) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAILED") && l.contains("feishu token") && l.contains("10014")),
        "{stdout}"
    );
    let (stdout, _) = text(&broken);
    assert_eq!(broken.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("user_id_type"), "{stdout}");
}

#[sqlx::test(migrations = false)]
async fn reset_forgets_one_streams_state_and_keeps_its_rows(pool: PgPool) {
    let sim = simulator().await;
    let env = sim_env(&sim, &pool);
    assert!(
        run(
            &["sync", "--stream", "tasks", "--stream", "semesters"],
            env.clone()
        )
        .await
        .status
        .success()
    );
    let state = |stream: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM feishu.sync_state WHERE stream = $1")
                .bind(stream)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let tasks_before: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(state("tasks").await > 0);

    let asked = run(&["reset", "--stream", "tasks"], env.clone()).await;
    let kept = state("tasks").await;
    let done = run(&["reset", "--stream", "tasks", "--yes"], env.clone()).await;

    assert_eq!(asked.status.code(), Some(2), "{:?}", text(&asked));
    assert!(text(&asked).0.contains("--yes"));
    assert!(kept > 0, "without --yes nothing is cleared");
    assert!(done.status.success(), "{:?}", text(&done));
    assert_eq!(state("tasks").await, 0);
    assert!(state("semesters").await > 0, "other streams keep theirs");
    let tasks_after: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tasks_before, tasks_after, "rows are kept");
}

#[sqlx::test]
async fn dbt_sources_describe_every_table_and_column_of_the_schema(pool: PgPool) {
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];

    let output = run(&["dbt-sources"], env).await;

    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&stdout).unwrap();
    assert_eq!(yaml["version"].as_u64(), Some(2));
    let source = &yaml["sources"][0];
    assert_eq!(source["schema"].as_str(), Some("feishu"));
    let mut listed = BTreeSet::new();
    for table in source["tables"].as_sequence().unwrap() {
        let name = table["name"].as_str().unwrap();
        assert!(
            table["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        let columns = table["columns"].as_sequence().unwrap();
        let has_synced_at = columns
            .iter()
            .any(|c| c["name"].as_str() == Some("synced_at"));
        assert_eq!(
            table["loaded_at_field"].as_str().is_some(),
            has_synced_at,
            "{name}"
        );
        for column in columns {
            let column_name = column["name"].as_str().unwrap();
            let comment: Option<String> = sqlx::query_scalar(
                "SELECT col_description(format('feishu.%I', $1::text)::regclass, ordinal_position::int)
                   FROM information_schema.columns
                  WHERE table_schema = 'feishu' AND table_name = $1 AND column_name = $2",
            )
            .bind(name)
            .bind(column_name)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(
                column["description"].as_str(),
                comment.as_deref(),
                "{name}.{column_name}"
            );
            listed.insert(format!("{name}.{column_name}"));
        }
    }
    let expected: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'feishu'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(listed, expected);
    assert!(listed.contains("tasks.synced_at") && listed.contains("history_start.stream"));
}

/// Every `feishu_sync_…` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.match_indices("feishu_sync_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_dashboard_and_the_alerts_name_only_metrics_the_service_exports() {
    use feishu_sync::metrics::{Metrics, RequestOutcome};
    let metrics = Metrics::new();
    for endpoint in Endpoint::ALL {
        metrics.run_finished(endpoint, "succeeded", std::time::Duration::from_secs(1));
        metrics.page_committed(endpoint, 3);
        metrics.skipped_overlap(endpoint);
        metrics.skipped_locked(endpoint);
        metrics.skipped_quota(endpoint);
        metrics.announced_limit(endpoint, 50);
        metrics.request(endpoint, RequestOutcome::Ok);
        metrics.request(endpoint, RequestOutcome::RateLimited);
    }
    metrics.quota_stopped(Some(chrono::Utc::now()));
    let exported: BTreeSet<String> = metrics
        .encode()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let dashboard = std::fs::read_to_string(root.join("grafana/feishu-sync.json")).unwrap();
    let rules = std::fs::read_to_string(root.join("prometheus/feishu-sync-rules.yml")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert!(parsed["panels"].as_array().unwrap().len() >= 6);
    let rules_yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rules).unwrap();
    let alerts: Vec<&str> = rules_yaml["groups"][0]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|r| r["alert"].as_str())
        .collect();
    assert!(alerts.contains(&"FeishuSyncStreamStale") && alerts.contains(&"FeishuSyncRunsFailing"));

    let named = metric_names(&dashboard)
        .into_iter()
        .chain(metric_names(&rules))
        .collect::<BTreeSet<_>>();
    let missing: Vec<&String> = named.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(named.len() >= 10, "{named:?}");
    assert!(
        missing.is_empty(),
        "not in /metrics: {missing:?}\nexported: {exported:?}"
    );
}
