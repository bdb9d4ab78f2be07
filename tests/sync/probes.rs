//! The service's probes under trouble: a used-up monthly quota, an invalid
//! configuration, a database outage, a read-only database. Liveness stays up unless the
//! service itself is dead.

use std::time::Duration;

use sqlx::PgPool;

use crate::helpers::binary::spawn_binary;
use crate::helpers::service::{eventually, free_port, get, quiet_env, service_env, terminate};
use crate::helpers::*;
use crate::hostile::serve;

#[sqlx::test(migrations = false)]
async fn a_used_up_quota_skips_every_firing_and_shows_on_readyz_and_metrics(pool: PgPool) {
    let sim = simulator_with(feishu_sim::SimConfig {
        monthly_quota: Some(0),
        ..feishu_sim::SimConfig::default().with_window(WINDOW)
    })
    .await;
    let port = free_port();
    let child = spawn_binary(&["run"], service_env(&sim, &pool, port));
    let base = format!("http://127.0.0.1:{port}");
    let metrics = || async {
        get(&format!("{base}/metrics"))
            .await
            .map(|(_, body)| body)
            .unwrap_or_default()
    };

    let skipping = eventually(Duration::from_secs(30), || async {
        // Every stream's series exists from the start at 0: wait for a count.
        metrics()
            .await
            .lines()
            .any(|l| l.starts_with("feishu_sync_skipped_quota_total") && !l.ends_with(" 0"))
    })
    .await;
    let sent_then = sim.requests().len();
    tokio::time::sleep(Duration::from_secs(2)).await; // two more firings of every stream
    let sent_later = sim.requests().len();
    let ready = get(&format!("{base}/readyz")).await;
    let live = get(&format!("{base}/livez")).await;
    let exported = metrics().await;
    let (code, _, log) = terminate(child).await;

    assert!(skipping, "no firing was skipped:\n{log}");
    assert!(sent_then <= 8, "{sent_then} requests: a handful at most");
    assert_eq!(sent_then, sent_later, "a skipped firing sends nothing");
    let (status, body) = ready.expect("/readyz answers");
    assert_eq!(status, 503);
    assert!(
        body.contains("99991403") && body.contains("renews at"),
        "{body}"
    );
    assert_eq!(
        live.map(|(s, _)| s),
        Some(200),
        "alive while the quota is used up"
    );
    assert!(
        exported.contains("feishu_sync_quota_exhausted 1"),
        "{exported}"
    );
    assert!(
        log.contains("monthly API quota used up; skipping this firing"),
        "{log}"
    );
    assert_eq!(code, Some(0), "{log}");
}

#[sqlx::test(migrations = false)]
async fn an_invalid_configuration_keeps_run_up_and_unhealthy_instead_of_exiting(pool: PgPool) {
    let sim = simulator().await;
    let port = free_port();
    let mut env = quiet_env(&sim, &pool, port);
    // Approvals enabled with nobody to read and no directory to read them from.
    env.retain(|(k, _)| k != "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS");
    env.push((
        "FEISHU_SYNC__STREAMS__USERS__ENABLED".into(),
        "false".into(),
    ));
    let child = spawn_binary(&["run"], env);
    let base = format!("http://127.0.0.1:{port}");

    let answered = eventually(Duration::from_secs(20), || async {
        get(&format!("{base}/livez")).await.is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let live = get(&format!("{base}/livez")).await;
    let ready = get(&format!("{base}/readyz")).await;
    let metrics = get(&format!("{base}/metrics")).await;
    let (code, _, log) = terminate(child).await;

    assert!(answered, "the process did not stay up:\n{log}");
    let (metrics_status, metrics) = metrics.expect("/metrics still answers");
    assert_eq!(metrics_status, 200);
    assert!(metrics.contains("feishu_sync_config_valid 0"), "{metrics}");
    let (status, body) = live.expect("/livez answers");
    assert_eq!(status, 503);
    assert!(body.contains("streams.approval_tasks.user_ids"), "{body}");
    assert_eq!(ready.map(|(s, _)| s), Some(503));
    assert!(
        log.contains("streams.approval_tasks.user_ids is empty"),
        "{log}"
    );
    assert_eq!(
        log.matches("streams.approval_tasks.user_ids is empty")
            .count(),
        1,
        "the configuration error is said once:\n{log}"
    );
    assert_eq!(
        code,
        Some(2),
        "a configuration error still exits 2 when stopped: {log}"
    );
}

#[tokio::test]
async fn a_database_outage_fails_readiness_but_never_liveness() {
    let cluster = crate::crash::PrivateCluster::start();
    let pool = sqlx::PgPool::connect(&cluster.url())
        .await
        .expect("the private cluster accepts connections");
    let sim = simulator().await;
    let port = free_port();
    let mut env = quiet_env(&sim, &pool, port);
    env.retain(|(k, _)| k != "DATABASE_URL");
    env.push(("DATABASE_URL".into(), cluster.url()));
    let child = spawn_binary(&["run"], env);
    let base = format!("http://127.0.0.1:{port}");
    let ready_before = eventually(Duration::from_secs(30), || async {
        get(&format!("{base}/readyz"))
            .await
            .is_some_and(|(s, _)| s == 200)
    })
    .await;
    pool.close().await;

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.pg_ctl(&["stop"]);
        cluster
    })
    .await
    .unwrap();
    let live = get(&format!("{base}/livez")).await;
    let ready = get(&format!("{base}/readyz")).await;
    let (code, _, log) = terminate(child).await;
    drop(cluster);

    assert!(ready_before, "{log}");
    assert_eq!(
        live.map(|(s, _)| s),
        Some(200),
        "liveness ignores the database"
    );
    let (status, body) = ready.expect("/readyz answers");
    assert_eq!(status, 503);
    assert!(body.contains("database not answering"), "{body}");
    assert_eq!(code, Some(0), "{log}");
}

#[sqlx::test(migrations = false)]
async fn a_database_of_another_id_type_keeps_run_up_and_unhealthy(pool: PgPool) {
    let sim = simulator().await;
    let port = free_port();
    let mut env = quiet_env(&sim, &pool, port);
    let first =
        crate::helpers::binary::run_binary(&["sync", "--stream", "semesters"], env.clone()).await;
    assert!(first.status.success());
    env.push(("FEISHU_SYNC__FEISHU__USER_ID_TYPE".into(), "user_id".into()));
    let child = spawn_binary(&["run"], env);
    let base = format!("http://127.0.0.1:{port}");

    let answered = eventually(Duration::from_secs(20), || async {
        get(&format!("{base}/livez")).await.is_some()
    })
    .await;
    let live = get(&format!("{base}/livez")).await;
    let (code, _, log) = terminate(child).await;

    assert!(answered, "{log}");
    let (status, body) = live.expect("/livez answers");
    assert_eq!(status, 503);
    assert!(body.contains("--reset-ids"), "{body}");
    assert_eq!(code, Some(2), "{log}");
}

#[sqlx::test]
async fn a_read_only_database_is_not_ready(pool: PgPool) {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use feishu_sync::commands::run::http::{DeadLoops, HttpState, router};

    let db = pool.connect_options().get_database().unwrap().to_string();
    sqlx::raw_sql(&format!(
        "ALTER DATABASE \"{db}\" SET default_transaction_read_only = on"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let sim = simulator().await;
    let client = Arc::new(feishu_sync::feishu::FeishuClient::new(client_settings(&sim)).unwrap());
    let state = HttpState {
        // New sessions get the setting.
        pool: sqlx::PgPool::connect_with((*pool.connect_options()).clone())
            .await
            .unwrap(),
        metrics: client.metrics(),
        client,
        scheduler_alive: Arc::new(AtomicBool::new(true)),
        dead_loops: DeadLoops::default(),
        credentials: Default::default(),
        events: None,
    };
    let addr = serve(router(state)).await;

    let answer = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap();
    sqlx::raw_sql(&format!(
        "ALTER DATABASE \"{db}\" RESET default_transaction_read_only"
    ))
    .execute(&pool)
    .await
    .unwrap();

    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database is read-only"), "{body}");
}
