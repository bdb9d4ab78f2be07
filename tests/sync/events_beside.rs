//! Events beside the rest of the service: an event-driven approval re-read takes the
//! approval stream's advisory lock like a scheduled run, so the two never write the same
//! rows at once; and `status --json` shows each process's long connection.

use serde_json::Value;
use sqlx::PgPool;

use crate::events::{Pipeline, scalar_i64, subscribed, synced, until};
use crate::helpers::binary::{database_url, run_binary, text};
use crate::helpers::*;
use feishu_sync::feishu::Endpoint;
use feishu_sync::stream_lock::lock_key;

#[sqlx::test]
async fn an_approval_event_waits_while_another_writer_holds_the_stream_lock(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    // Another writer (a scheduled pass, a replica, a one-off sync) holds the stream.
    let mut writer = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock_key(Endpoint::ApprovalTasks))
        .execute(&mut *writer)
        .await
        .unwrap();
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await);
    assert!(subscribed(&pool).await, "every approval code is subscribed");
    sim.clear_requests();
    let approver = approval_users(&sim)[1].clone();
    sim.with_tenant(|t| {
        let todo = t
            .approval_tasks
            .iter_mut()
            .find(|a| a.user_id == approver && a.topic == "1")
            .expect("a to-do approval");
        todo.topic = "2".into();
        todo.status = "2".into();
    });

    assert!(
        until(
            &pool,
            "SELECT count(*) = 1 FROM feishu.events
              WHERE event_type = 'approval_task' AND processed_at IS NULL AND error LIKE '%busy%'"
        )
        .await,
        "the event is stored and waits, with a note"
    );
    let listed = |sim: &feishu_sim::SimHandle| {
        sim.requests()
            .iter()
            .filter(|r| r.resource == "List(ApprovalTasks)")
            .count()
    };
    assert_eq!(listed(&sim), 0, "nothing is read while the lock is held");
    let event_runs = "SELECT count(*) FROM feishu.sync_runs WHERE trigger = 'event' AND stream = 'approval_tasks'";
    assert_eq!(
        scalar_i64(&pool, event_runs).await,
        0,
        "no run beside the writer"
    );

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(lock_key(Endpoint::ApprovalTasks))
        .execute(&mut *writer)
        .await
        .unwrap();
    assert!(
        until(
            &pool,
            "SELECT count(*) = 1 FROM feishu.events
              WHERE event_type = 'approval_task' AND processed_at IS NOT NULL AND error IS NULL"
        )
        .await,
        "applied once the lock is free"
    );
    assert_eq!(listed(&sim), 5, "one re-read: topics x pages");
    assert_eq!(scalar_i64(&pool, event_runs).await, 1);
    assert_table_matches(&pool, &sim, "approval_tasks").await;
    pipeline.stop().await;
}

#[sqlx::test]
async fn status_connections_shows_each_processes_long_connection_and_json_keeps_its_shape(
    pool: PgPool,
) {
    sqlx::query(
        "INSERT INTO feishu.event_connections
             (process, connected_since, last_frame_at, reconnects, last_error, updated_at)
         VALUES ('worker-1:42', now() - interval '5 minutes', now(), 3, 'reset by peer', now()),
                ('gone:7', NULL, NULL, 0, NULL, now() - interval '1 hour')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];

    let output = run_binary(&["status", "--json", "--connections"], env.clone()).await;
    let streams_output = run_binary(&["status", "--json"], env.clone()).await;
    let text_output = run_binary(&["status", "--connections"], env).await;

    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let connections: Value = serde_json::from_str(&stdout).expect("status prints JSON");
    let connections = connections.as_array().expect("an array of connections");
    assert_eq!(
        connections.len(),
        1,
        "a process gone an hour is left out: {stdout}"
    );
    let c = &connections[0];
    assert_eq!(c["process"], "worker-1:42");
    assert_eq!(c["reconnects"], 3);
    assert_eq!(c["last_error"], "reset by peer");
    assert!(
        c["connected_since"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{c}"
    );
    assert!(c["last_frame_at"].is_string(), "{c}");
    // `status --json` stays the array of streams that scripts already read.
    let (stdout, stderr) = text(&streams_output);
    assert!(streams_output.status.success(), "{stderr}");
    let streams: Value = serde_json::from_str(&stdout).expect("status prints JSON");
    assert_eq!(
        streams.as_array().map(Vec::len),
        Some(Endpoint::ALL.len()),
        "{stdout}"
    );
    let (stdout, stderr) = text(&text_output);
    assert!(text_output.status.success(), "{stderr}");
    assert!(stdout.contains("worker-1:42"), "{stdout}");
    assert!(!stdout.contains("gone:7"), "{stdout}");
}
