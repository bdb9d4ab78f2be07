//! The one rule for retirement: nothing is retired when a parent stream failed, and the
//! registry of entity tables agrees with the schema.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{Department, Fault, SimHandle};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};
use feishu_sync::tables::{BOOKKEEPING_TABLES, ENTITY_TABLES};

/// Failures that make `parent`'s run fail: every attempt of one request (the tests'
/// client tries 6 times), for each partition in flight.
fn failures(parent: Endpoint) -> usize {
    match parent {
        Endpoint::Users => 12,
        _ => 6,
    }
}

async fn current(pool: &PgPool, sql: &str, key: &str) -> bool {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A department created in the simulator after the last good departments run, and a
/// person moved into it.
fn move_into_a_new_department(sim: &SimHandle) -> String {
    sim.with_tenant(|t| {
        let new = Department {
            open_id: format!("od-{:032x}", 0x5eed_u128),
            custom_id: "D999".into(),
            parent: "0".into(),
            name: "新部门".into(),
            en_name: "New department".into(),
            leader: None,
        };
        let person = t
            .people
            .iter_mut()
            .find(|p| p.departments.len() == 1 && p.departments[0] != "0")
            .unwrap();
        person.departments = vec![new.open_id.clone()];
        t.departments.push(new);
        person.open_id.clone()
    })
}

#[sqlx::test]
async fn a_failed_departments_run_retires_no_user(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let directory = [Endpoint::Departments, Endpoint::Users];
    // A fresh install whose departments fail: users reads the root only and says so.
    sim.inject(
        Some(Endpoint::Departments),
        Fault::ServerErrorJson,
        failures(Endpoint::Departments),
    );
    let first = sync::run_pass(&ctx, &directory, &ReadMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        report(&first, Endpoint::Departments).status,
        RunStatus::Failed
    );
    let users = report(&first, Endpoint::Users);
    assert_eq!(users.status, RunStatus::Partial, "{:?}", users.error);
    assert!(
        users.error.as_deref().unwrap().contains("departments"),
        "{:?}",
        users.error
    );

    let clean = sync::run_pass(&ctx, &directory, &ReadMode::Incremental)
        .await
        .unwrap();
    assert_all_succeeded(&clean);

    // Someone moves into a department created since; then departments fail.
    let mover = move_into_a_new_department(&sim);
    sim.inject(
        Some(Endpoint::Departments),
        Fault::ServerErrorJson,
        failures(Endpoint::Departments),
    );
    let reports = sync::run_pass(&ctx, &directory, &ReadMode::Incremental)
        .await
        .unwrap();

    assert_eq!(
        report(&reports, Endpoint::Departments).status,
        RunStatus::Failed
    );
    assert_eq!(report(&reports, Endpoint::Users).status, RunStatus::Partial);
    assert_eq!(report(&reports, Endpoint::Users).counts.rows_retired, 0);
    let sql = "SELECT deleted_at IS NULL FROM feishu.users WHERE id = $1";
    assert!(
        current(&pool, sql, &mover).await,
        "the mover is still employed"
    );
    let memberships: i64 =
        sqlx::query_scalar("SELECT count(*) FROM feishu.user_departments WHERE user_id = $1")
            .bind(&mover)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(memberships, 1, "memberships are kept as they were");
}

#[sqlx::test]
async fn no_child_row_is_retired_when_its_parent_stream_fails(pool: PgPool) {
    let sim = simulator().await;
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids.clear(); // approvals for everyone: users is a parent
    let ctx = context_with(&pool, client_settings(&sim), streams);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);

    // Each parent fails in turn while a row of each child disappears upstream. Backfills
    // read every partition whole, so each child would retire what it no longer sees.
    let whole = ReadMode::Backfill { since: None };
    let cases = [
        (Endpoint::Semesters, Endpoint::Activities),
        (Endpoint::Semesters, Endpoint::StageTasks),
        (Endpoint::Departments, Endpoint::Users),
        (Endpoint::Users, Endpoint::ApprovalTasks),
    ];
    for (parent, child) in cases {
        let (sql, key) = remove_one_row(&sim, child);
        sim.inject(Some(parent), Fault::ServerErrorJson, failures(parent));
        let reports = sync_all(&ctx, ReadMode::Incremental).await;
        assert_eq!(
            report(&reports, parent).status,
            RunStatus::Failed,
            "{parent}"
        );
        let child_report = report(&reports, child);
        assert_eq!(
            child_report.status,
            RunStatus::Partial,
            "{child}: {:?}",
            child_report.error
        );
        assert!(
            current(&pool, sql, &key).await,
            "{child} {key} retired while {parent} failed"
        );

        // Once the parent completes again, the child retires what is gone.
        let reports = sync_all(&ctx, whole.clone()).await;
        assert_all_succeeded(&reports);
        assert!(
            !current(&pool, sql, &key).await,
            "{child} {key} is gone upstream"
        );
    }
}

/// Removes one row of `child` from the simulator; returns the SQL that tells whether it
/// is still current here, and its key.
fn remove_one_row(sim: &SimHandle, child: Endpoint) -> (&'static str, String) {
    sim.with_tenant(|t| match child {
        Endpoint::Activities => (
            "SELECT deleted_at IS NULL FROM feishu.activities WHERE id = $1",
            t.activities.pop().unwrap().id,
        ),
        Endpoint::StageTasks => {
            let task = t.stage_tasks.pop().unwrap();
            (
                "SELECT bool_and(deleted_at IS NULL) FROM feishu.stage_tasks
                  WHERE semester_id || '/' || user_id || '/' || stage_id = $1",
                format!("{}/{}/{}", task.semester_id, task.user_id, task.stage_id),
            )
        }
        Endpoint::Users => {
            let person = t.people.iter_mut().rev().find(|p| !p.is_resigned).unwrap();
            person.is_resigned = true;
            (
                "SELECT deleted_at IS NULL FROM feishu.users WHERE id = $1",
                person.open_id.clone(),
            )
        }
        Endpoint::ApprovalTasks => {
            // A task of someone still employed: a leaver's lists are no longer read.
            let employed =
                |user: &str| t.people.iter().any(|p| p.open_id == user && !p.is_resigned);
            let at = t
                .approval_tasks
                .iter()
                .position(|a| employed(&a.user_id))
                .unwrap();
            let task = t.approval_tasks.remove(at);
            (
                "SELECT bool_and(deleted_at IS NULL) FROM feishu.approval_tasks
                  WHERE user_id || '/' || topic || '/' || task_id = $1",
                format!("{}/{}/{}", task.user_id, task.topic, task.task_id),
            )
        }
        other => panic!("no child row to remove for {other}"),
    })
}

#[sqlx::test]
async fn the_entity_table_registry_matches_the_schema(pool: PgPool) {
    feishu_sync::db::migrate(&pool).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'feishu' AND table_type = 'BASE TABLE'
            AND table_name NOT LIKE '%\\_history' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut registered: Vec<String> = ENTITY_TABLES
        .iter()
        .map(|t| t.name.to_string())
        .chain(BOOKKEEPING_TABLES.iter().map(|t| t.to_string()))
        .collect();
    registered.sort();
    assert_eq!(
        tables, registered,
        "every table is in the registry, and only those"
    );

    for table in ENTITY_TABLES {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
              WHERE table_schema = 'feishu' AND table_name = $1",
        )
        .bind(table.name)
        .fetch_all(&pool)
        .await
        .unwrap();
        let history: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables
                             WHERE table_schema = 'feishu' AND table_name = $1 || '_history')",
        )
        .bind(table.name)
        .fetch_one(&pool)
        .await
        .unwrap();
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT k.column_name::text FROM information_schema.table_constraints c
               JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
              WHERE c.table_schema = 'feishu' AND c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY'",
        )
        .bind(table.name)
        .fetch_all(&pool)
        .await
        .unwrap();
        let name = table.name;
        assert_eq!(table.has_history, history, "{name}: has_history");
        assert_eq!(
            table.retires,
            columns.iter().any(|c| c == "deleted_at"),
            "{name}: retires"
        );
        let user_keyed = key
            .iter()
            .any(|c| c == "user_id" || c.ends_with("_user_id"))
            || name == "users";
        assert_eq!(table.user_keyed, user_keyed, "{name}: user_keyed ({key:?})");
    }
    let counted: Vec<String> = feishu_sync::db::table_counts(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.table)
        .collect();
    let entity: Vec<&str> = ENTITY_TABLES.iter().map(|t| t.name).collect();
    assert_eq!(counted, entity, "table_counts covers every entity table");
}
