//! Real-time sync over the long connection, against the simulator's WebSocket: each
//! event type lands through the streams' code, duplicates and fragments, subscriptions
//! once per code; and the pipeline the tests of `events_connection` and `events_beside`
//! start too.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio_util::task::TaskTracker;

use crate::helpers::service::eventually;
use crate::helpers::*;
use feishu_sim::{EventControl, SimHandle};
use feishu_sync::config::Config;
use feishu_sync::events::status::SharedStatus;
use feishu_sync::shutdown::CancellationToken;
use feishu_sync::sync::{ReadMode, SyncContext};

pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// A running connection and processor, as `run` starts them.
pub(crate) struct Pipeline {
    pub(crate) status: SharedStatus,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Pipeline {
    pub(crate) fn start(ctx: &SyncContext, approval_codes: &[&str]) -> Pipeline {
        let mut ctx = ctx.clone();
        let shutdown = CancellationToken::new();
        ctx.shutdown = shutdown.clone();
        let mut config = Config::default();
        config.events.enabled = true;
        config.events.approval_codes = approval_codes.iter().map(|c| c.to_string()).collect();
        let (status, tracker) = (SharedStatus::default(), TaskTracker::new());
        feishu_sync::events::start(&config, &ctx, &tracker, status.clone());
        tracker.close();
        Pipeline {
            status,
            shutdown,
            tracker,
        }
    }

    pub(crate) async fn connected(&self) -> bool {
        let status = self.status.clone();
        eventually(LIMIT, || {
            let s = status.get();
            async move { s.connected_since.is_some() }
        })
        .await
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(LIMIT, self.tracker.wait())
            .await
            .expect("the pipeline stops");
    }
}

/// A synced database and a simulator whose events are acknowledged quickly.
pub(crate) async fn synced(pool: &PgPool) -> (SimHandle, SyncContext) {
    let sim = simulator().await;
    sim.control_events(EventControl::ResendAfter(Duration::from_millis(500)));
    let ctx = context(pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    (sim, ctx)
}

pub(crate) async fn scalar_i64(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

pub(crate) async fn until(pool: &PgPool, sql: &'static str) -> bool {
    eventually(LIMIT, || async move {
        sqlx::query_scalar::<_, bool>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or(false)
    })
    .await
}

/// At least `n` events are stored and every one is processed.
pub(crate) async fn all_processed(pool: &PgPool, n: i64) -> bool {
    eventually(LIMIT, || async move {
        sqlx::query_scalar::<_, bool>(
            "SELECT count(*) >= $1 AND count(*) FILTER (WHERE processed_at IS NULL) = 0 FROM feishu.events",
        )
        .bind(n)
        .fetch_one(pool)
        .await
        .unwrap_or(false)
    })
    .await
}

/// Approval events come only for subscribed definitions: every code is subscribed.
pub(crate) async fn subscribed(pool: &PgPool) -> bool {
    until(
        pool,
        "SELECT count(*) = (SELECT count(DISTINCT definition_code) FROM feishu.approval_tasks)
           FROM feishu.event_subscriptions",
    )
    .await
}

#[sqlx::test]
async fn each_event_type_lands_through_the_streams_code(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await, "the connection opens");
    assert!(subscribed(&pool).await, "every approval code is subscribed");
    sim.clear_requests();
    let approver = approval_users(&sim)[1].clone();
    let (user, task, gone_task, new_department) = sim.with_tenant(|t| {
        let person = &mut t.people[3];
        person.job_title = "Chief Event Officer".into();
        let user = person.open_id.clone();
        t.departments[0].en_name = "Renamed by an event".into();
        let mut department = t.departments[1].clone();
        department.open_id = format!("od-{:032x}", 7);
        department.custom_id = "D-EVENT".into();
        t.departments.push(department.clone());
        t.tasks[0].summary = "edited by an event".into();
        let gone = t.tasks.remove(1).id;
        // A to-do approval is done: it moves from topic 1 to topic 2.
        let todo = t
            .approval_tasks
            .iter_mut()
            .find(|a| a.user_id == approver && a.topic == "1")
            .expect("a to-do approval");
        todo.topic = "2".into();
        todo.status = "2".into();
        (user, t.tasks[0].id.clone(), gone, department.open_id)
    });
    assert!(all_processed(&pool, 6).await, "every event is applied");
    let job_title: String = sqlx::query_scalar("SELECT job_title FROM feishu.users WHERE id = $1")
        .bind(&user)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(job_title, "Chief Event Officer");
    let gone_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT deleted_at FROM feishu.tasks WHERE id = $1")
            .bind(&gone_task)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(gone_at.is_some(), "a deleted task (obj_type 7) is retired");
    assert!(
        scalar_i64(
            &pool,
            &format!("SELECT count(*) FROM feishu.departments WHERE id = '{new_department}'")
        )
        .await
            == 1,
        "a created department is read"
    );
    for table in [
        "users",
        "departments",
        "tasks",
        "user_departments",
        "approval_tasks",
    ] {
        assert_table_matches(&pool, &sim, table).await;
    }
    // Targeted requests only: no list of the directory or the tasks was read again.
    let requests = sim.requests();
    let listed = |what: &str| requests.iter().filter(|r| r.resource == what).count();
    assert_eq!(listed("List(Users)"), 0, "a user event costs no list");
    assert_eq!(listed("List(Tasks)"), 0, "a task event costs no list");
    assert!(
        requests
            .iter()
            .any(|r| r.resource == format!("Task({task:?})"))
    );
    let approvals = requests
        .iter()
        .filter(|r| r.resource == "List(ApprovalTasks)")
        .count();
    assert_eq!(
        approvals, 5,
        "one approval change costs topics x pages (5 topics of one page each)"
    );
    let event_runs = scalar_i64(
        &pool,
        "SELECT count(*) FROM feishu.sync_runs WHERE trigger = 'event'",
    )
    .await;
    assert!(
        event_runs >= 4,
        "event-driven re-reads are journaled: {event_runs}"
    );
    pipeline.stop().await;
}

#[sqlx::test]
async fn user_and_department_deletions_and_approval_instances_land(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await);
    assert!(subscribed(&pool).await, "every approval code is subscribed");
    let initiator = approval_users(&sim)[2].clone();
    let (gone_user, gone_department) = sim.with_tenant(|t| {
        let index = t
            .people
            .iter()
            .position(|p| p.departments.len() == 1 && p.open_id != initiator)
            .unwrap();
        let person = t.people.remove(index);
        t.users.retain(|u| *u != person.open_id);
        let department = t.departments.pop().unwrap().open_id;
        let initiated = t
            .approval_tasks
            .iter_mut()
            .find(|a| a.user_id == initiator && a.topic == "3")
            .expect("an initiated approval");
        initiated.process_status = "APPROVED".into();
        initiated.title = "approved while we watched".into();
        (person.open_id, department)
    });
    assert!(all_processed(&pool, 3).await);
    let retired = |table: &'static str, id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(&format!(
                "SELECT deleted_at IS NOT NULL FROM feishu.{table} WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(
        retired("users", gone_user.clone()).await,
        "a deleted user is retired"
    );
    assert!(
        retired("departments", gone_department).await,
        "a deleted department is retired"
    );
    let memberships = scalar_i64(
        &pool,
        &format!("SELECT count(*) FROM feishu.user_departments WHERE user_id = '{gone_user}'"),
    )
    .await;
    assert_eq!(memberships, 0, "a retired user leaves every department");
    let title: String = sqlx::query_scalar(
        "SELECT title FROM feishu.approval_tasks WHERE user_id = $1 AND topic = '3' AND title LIKE 'approved%'",
    )
    .bind(&initiator)
    .fetch_one(&pool)
    .await
    .expect("the initiator's topic 3 was re-read");
    assert_eq!(title, "approved while we watched");
    let instance_reads = sim
        .requests()
        .iter()
        .filter(|r| r.resource.starts_with("Instance("))
        .count();
    assert_eq!(instance_reads, 1, "the initiator is found with one request");
    pipeline.stop().await;
}

#[sqlx::test]
async fn duplicates_are_processed_once_fragments_reassembled_unknown_types_acked(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    sim.control_events(EventControl::Fragments(4));
    sim.control_events(EventControl::Duplicate(true));
    let pipeline = Pipeline::start(&ctx, &[]);
    assert!(pipeline.connected().await);
    let unknown = sim.make_event(
        "im.message.receive_v1",
        json!({ "message": { "text": "hi" } }),
    );
    let unknown_id = unknown["header"]["event_id"].as_str().unwrap().to_string();
    sim.emit_event(unknown);
    // Twenty changes of one user: one re-read.
    for n in 0..20 {
        sim.with_tenant(|t| t.people[5].job_title = format!("title {n}"));
    }
    assert!(all_processed(&pool, 21).await);
    assert!(
        eventually(LIMIT, || {
            let stats = sim.event_stats();
            async move { stats.outstanding == 0 }
        })
        .await,
        "every event is acknowledged"
    );
    let stats = sim.event_stats();
    assert!(
        stats.acked.contains(&unknown_id),
        "the unknown type is acked"
    );
    assert!(
        stats.frames_sent >= 21 * 2 * 4,
        "fragmented and doubled: {}",
        stats.frames_sent
    );
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM feishu.events").await,
        21,
        "one row per event"
    );
    let unknown_row: (String, bool) = sqlx::query_as(
        "SELECT event_type, processed_at IS NOT NULL FROM feishu.events WHERE event_id = $1",
    )
    .bind(&unknown_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unknown_row, ("im.message.receive_v1".to_string(), true));
    assert_table_matches(&pool, &sim, "users").await;
    let user_runs = scalar_i64(
        &pool,
        "SELECT coalesce(sum(rows_written), 0)::bigint FROM feishu.sync_runs WHERE trigger = 'event' AND stream = 'users'",
    )
    .await;
    assert!(
        user_runs <= 20,
        "duplicates trigger nothing more: {user_runs} rows"
    );
    pipeline.stop().await;
}

#[sqlx::test]
async fn subscriptions_are_made_once_per_code(pool: PgPool) {
    let (sim, ctx) = synced(&pool).await;
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT definition_code FROM feishu.approval_tasks ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    for _ in 0..2 {
        let pipeline = Pipeline::start(&ctx, &["extra-code"]);
        assert!(until(&pool, "SELECT count(*) > 1 FROM feishu.event_subscriptions").await);
        pipeline.stop().await;
    }
    let subscriptions = sim.event_stats().subscriptions;
    assert_eq!(subscriptions.len(), codes.len() + 1, "{subscriptions:?}");
    assert!(
        subscriptions.values().all(|n| *n == 1),
        "once per code: {subscriptions:?}"
    );
    let recorded = scalar_i64(&pool, "SELECT count(*) FROM feishu.event_subscriptions").await;
    assert_eq!(recorded as usize, codes.len() + 1);
    // A code subscribed elsewhere ("already subscribed") counts as done.
    sqlx::query("DELETE FROM feishu.event_subscriptions WHERE approval_code = 'extra-code'")
        .execute(&pool)
        .await
        .unwrap();
    let pipeline = Pipeline::start(&ctx, &["extra-code"]);
    assert!(
        until(
            &pool,
            "SELECT count(*) > 0 FROM feishu.event_subscriptions WHERE approval_code = 'extra-code'"
        )
        .await
    );
    pipeline.stop().await;
}
