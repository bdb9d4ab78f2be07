//! The long connection itself, against the simulator's WebSocket: a dropped connection, a
//! silent server, a database that cannot store, a restart with events stored but not
//! applied, a refused app, and SIGTERM under `run`.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;

use crate::events::{LIMIT, Pipeline, all_processed, synced};
use crate::helpers::binary::spawn_binary;
use crate::helpers::service::{eventually, free_port, get, quiet_env, terminate};
use crate::helpers::*;
use feishu_sim::EventControl;

#[sqlx::test]
async fn a_dropped_connection_reconnects_and_loses_no_event(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await);
    sim.control_events(EventControl::DropConnections);
    sim.with_tenant(|t| t.people[7].city = "Reconnected City".into());
    assert!(
        all_processed(&pool, 1).await,
        "the event sent around the drop arrives"
    );
    assert!(
        eventually(LIMIT, || {
            let s = pipeline.status.get();
            async move { s.reconnects >= 1 && s.connected_since.is_some() }
        })
        .await,
        "reconnected: {:?}",
        pipeline.status.get()
    );
    assert_table_matches(&pool, &sim, "users").await;
    assert!(
        sim.event_stats().endpoint_requests >= 2,
        "a fresh URL for the reconnect"
    );
    pipeline.stop().await;
}

#[sqlx::test]
async fn a_silent_server_is_noticed_and_left(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    sim.control_events(EventControl::PingIntervalSecs(1));
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await);
    sim.control_events(EventControl::Silent(true));
    let status = pipeline.status.clone();
    assert!(
        eventually(LIMIT, || {
            let s = status.get();
            async move {
                s.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("no frame"))
            }
        })
        .await,
        "a half-open socket is dropped: {:?}",
        status.get()
    );
    pipeline.stop().await;
}

#[sqlx::test]
async fn with_the_database_down_nothing_is_acked_and_nothing_is_lost(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    // A pipeline whose database does not answer.
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://postgres@127.0.0.1:9/nowhere")
        .unwrap();
    let mut down = ctx.clone();
    down.pool = dead;
    let broken = Pipeline::start(&down, &[]);
    assert!(broken.connected().await);
    sim.with_tenant(|t| t.tasks[2].summary = "written while the database was down".into());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = sim.event_stats();
    assert!(stats.acked.is_empty(), "nothing acked: {:?}", stats.acked);
    assert_eq!(stats.outstanding, 1, "the event waits for an ack");
    broken.stop().await;
    // The database is back: Feishu's re-send lands.
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(all_processed(&pool, 1).await);
    assert_eq!(sim.event_stats().acked.len(), 1);
    assert_table_matches(&pool, &sim, "tasks").await;
    pipeline.stop().await;
}

#[sqlx::test]
async fn a_restart_applies_events_stored_but_not_processed(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    // The tenant changed and its event reached the inbox, then the process died.
    let id = sim.with_tenant(|t| {
        t.tasks[3].summary = "applied after a restart".into();
        t.tasks[3].id.clone()
    });
    let event = sim.make_event(
        "task.task.updated_v1",
        json!({ "task_id": id, "obj_type": 1 }),
    );
    sqlx::query(
        "INSERT INTO feishu.events (event_id, event_type, created_at, payload)
         VALUES ($1, 'task.task.updated_v1', now(), $2)",
    )
    .bind(event["header"]["event_id"].as_str().unwrap())
    .bind(&event)
    .execute(&pool)
    .await
    .unwrap();
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(
        all_processed(&pool, 1).await,
        "the stored event is applied at start"
    );
    let summary: String = sqlx::query_scalar("SELECT summary FROM feishu.tasks WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(summary, "applied after a restart");
    pipeline.stop().await;
}

#[sqlx::test]
async fn a_refused_app_is_shown_and_not_hammered(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    sim.control_events(EventControl::RefuseEndpoint(Some((
        1000040344,
        "app secret invalid".into(),
    ))));
    let pipeline = Pipeline::start(&ctx, &[]);
    let status = pipeline.status.clone();
    assert!(
        eventually(LIMIT, || {
            let s = status.get();
            async move { s.refused }
        })
        .await
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.event_stats().endpoint_requests,
        1,
        "asked once, not hammered"
    );
    let problem = pipeline.status.readiness_problem().expect("not ready");
    assert!(
        problem.contains("1000040344") && problem.contains("app secret invalid"),
        "{problem}"
    );
    pipeline.stop().await;
    // A refused handshake (the app's connection limit) counts as the app's too.
    sim.control_events(EventControl::RefuseEndpoint(None));
    sim.control_events(EventControl::RefuseHandshake(Some((514, Some(1000040350)))));
    let pipeline = Pipeline::start(&ctx, &[]);
    let status = pipeline.status.clone();
    assert!(
        eventually(LIMIT, || {
            let s = status.get();
            async move {
                s.refused
                    && s.last_error
                        .as_deref()
                        .is_some_and(|e| e.contains("1000040350"))
            }
        })
        .await,
        "{:?}",
        pipeline.status.get()
    );
    pipeline.stop().await;
}

#[sqlx::test(migrations = false)]
async fn run_with_events_serves_the_connection_state_and_sigterm_closes_it(pool: PgPool) {
    let sim = simulator().await;
    let port = free_port();
    let mut env = quiet_env(&sim, &pool, port);
    env.push(("FEISHU_SYNC__EVENTS__ENABLED".into(), "true".into()));
    let child = spawn_binary(&["run"], env);
    let ready = format!("http://127.0.0.1:{port}/readyz");
    assert!(
        eventually(LIMIT, || {
            let ready = ready.clone();
            async move {
                get(&ready)
                    .await
                    .is_some_and(|(code, body)| code == 200 && body.contains("connected since 2"))
            }
        })
        .await,
        "readyz shows the connection: {:?}\n{}",
        get(&ready).await,
        child.output()
    );
    let metrics = get(&format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .1;
    assert!(metrics.contains("feishu_sync_ws_connected 1"), "{metrics}");
    let (code, _, output) = terminate(child).await;
    assert_eq!(code, Some(0), "exit code after SIGTERM:\n{output}");
    assert!(output.contains("long connection closed"), "{output}");
    let saved: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT connected_since FROM feishu.event_connections")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(saved, None, "the saved state says the connection is down");
}
