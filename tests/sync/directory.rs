//! The directory streams against the simulator's organisation: a partial contact range,
//! resignations and deleted departments, incomplete passes, approvals for everyone, and a
//! schema whose every table and column explains itself.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{ContactRange, Fault, SimHandle};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

const DIRECTORY: [Endpoint; 2] = [Endpoint::Departments, Endpoint::Users];

async fn sync_directory(ctx: &sync::SyncContext) -> Vec<sync::StreamReport> {
    sync::run_pass(ctx, &DIRECTORY, &ReadMode::Incremental)
        .await
        .expect("pass runs")
}

async fn ids(pool: &PgPool, sql: &str) -> Vec<String> {
    let mut ids: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
    ids.sort();
    ids
}

/// Open ids of `department` and everything below it.
fn subtree(sim: &SimHandle, department: &str) -> Vec<String> {
    sim.with_tenant(|t| {
        let mut found = vec![department.to_string()];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i].clone();
            found.extend(
                t.departments
                    .iter()
                    .filter(|d| d.parent == parent)
                    .map(|d| d.open_id.clone()),
            );
            i += 1;
        }
        found.sort();
        found
    })
}

#[sqlx::test]
async fn a_partial_contact_range_is_read_from_the_scopes_at_the_cost_of_one_refusal(pool: PgPool) {
    let sim = simulator().await;
    let (granted, loner) = sim.with_tenant(|t| {
        let granted = t
            .departments
            .iter()
            .find(|d| d.parent == "0")
            .unwrap()
            .open_id
            .clone();
        let loner = t.people.last().unwrap().open_id.clone(); // directly at the root
        t.contact_range = Some(ContactRange {
            departments: vec![granted.clone()],
            users: vec![loner.clone()],
            groups: Vec::new(),
        });
        (granted, loner)
    });
    let ctx = context(&pool, &sim);

    let reports = sync_directory(&ctx).await;

    assert_all_succeeded(&reports);
    let in_range = subtree(&sim, &granted);
    assert_eq!(
        ids(
            &pool,
            "SELECT id FROM feishu.departments WHERE deleted_at IS NULL"
        )
        .await,
        in_range
    );
    let mut expected_users: Vec<String> = sim.with_tenant(|t| {
        t.people
            .iter()
            .filter(|p| p.departments.iter().any(|d| in_range.contains(d)))
            .map(|p| p.open_id.clone())
            .collect()
    });
    expected_users.push(loner);
    expected_users.sort();
    expected_users.dedup();
    assert_eq!(
        ids(
            &pool,
            "SELECT id FROM feishu.users WHERE deleted_at IS NULL"
        )
        .await,
        expected_users
    );
    let refusals = sim.requests().iter().filter(|r| r.code == 40004).count();
    assert_eq!(refusals, 2, "department 0, once per stream");
}

#[sqlx::test]
async fn resigned_users_and_deleted_departments_get_deleted_at_and_lose_memberships(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_directory(&ctx).await);
    let (resigned, removed) = sim.with_tenant(|t| {
        let person = t
            .people
            .iter_mut()
            .find(|p| p.departments.len() == 2)
            .unwrap();
        person.is_resigned = true;
        let resigned = person.open_id.clone();
        // A department with no members and no children, deleted.
        let empty = t.departments.iter().position(|d| {
            !t.departments.iter().any(|c| c.parent == d.open_id)
                && !t.people.iter().any(|p| p.departments.contains(&d.open_id))
        });
        let removed = match empty {
            Some(i) => t.departments.remove(i).open_id,
            None => {
                let d = t.departments.pop().unwrap();
                for p in &mut t.people {
                    p.departments.retain(|m| *m != d.open_id);
                    if p.departments.is_empty() {
                        p.departments.push("0".into());
                    }
                }
                d.open_id
            }
        };
        (resigned, removed)
    });

    let reports = sync_directory(&ctx).await;

    assert_all_succeeded(&reports);
    let gone: Vec<String> = ids(
        &pool,
        "SELECT id FROM feishu.users WHERE deleted_at IS NOT NULL",
    )
    .await;
    assert_eq!(gone, std::slice::from_ref(&resigned));
    let gone = ids(
        &pool,
        "SELECT id FROM feishu.departments WHERE deleted_at IS NOT NULL",
    )
    .await;
    assert_eq!(gone, [removed]);
    let memberships: i64 =
        sqlx::query_scalar("SELECT count(*) FROM feishu.user_departments WHERE user_id = $1")
            .bind(&resigned)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(memberships, 0, "a resigned user belongs nowhere");
    for table in ["departments", "users", "user_departments"] {
        assert_table_matches(&pool, &sim, table).await;
    }
}

#[sqlx::test]
async fn an_incomplete_pass_marks_nothing_deleted(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_directory(&ctx).await);
    sim.with_tenant(|t| t.people[0].is_resigned = true);
    // One department's members cannot be read: more failures than the client retries.
    sim.inject(Some(Endpoint::Users), Fault::ServerErrorJson, 12);

    let reports = sync::run_pass(&ctx, &[Endpoint::Users], &ReadMode::Incremental)
        .await
        .unwrap();

    assert_eq!(report(&reports, Endpoint::Users).status, RunStatus::Failed);
    let gone: i64 =
        sqlx::query_scalar("SELECT count(*) FROM feishu.users WHERE deleted_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(gone, 0, "an incomplete pass retires nobody");
}

#[sqlx::test]
async fn approvals_are_read_for_every_directory_user_when_none_are_configured(pool: PgPool) {
    let sim = simulator().await;
    sim.with_tenant(|t| t.people[1].is_resigned = true);
    let mut streams = streams_config(&sim);
    streams.approval_tasks.user_ids.clear();
    let ctx = context_with(&pool, client_settings(&sim), streams);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    let everyone: Vec<String> = sim.with_tenant(|t| {
        t.people
            .iter()
            .filter(|p| !p.is_resigned)
            .map(|p| p.open_id.clone())
            .collect()
    });
    assert_tables_match_for(&pool, &sim, &everyone).await;
    let after_users: bool = sqlx::query_scalar(
        "SELECT a.started_at >= u.finished_at FROM feishu.sync_runs a, feishu.sync_runs u
          WHERE a.stream = 'approval_tasks' AND u.stream = 'users'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        after_users,
        "approvals of everyone wait for the users stream"
    );
    // Someone leaves: their approval rows stay as they were, and are no longer read.
    let leaver = everyone[0].clone();
    sim.with_tenant(|t| t.people[0].is_resigned = true);
    let kept_before: i64 = approval_rows(&pool, &leaver).await;
    sim.clear_requests();
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    assert_eq!(approval_rows(&pool, &leaver).await, kept_before);
    assert!(kept_before > 0);
    let asked = sim.requests().iter().any(|r| {
        r.endpoint == Endpoint::ApprovalTasks
            && r.query.iter().any(|(k, v)| k == "user_id" && *v == leaver)
    });
    assert!(!asked, "a user who left is no longer read");
}

async fn approval_rows(pool: &PgPool, user: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM feishu.approval_tasks WHERE user_id = $1 AND deleted_at IS NULL",
    )
    .bind(user)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn every_table_view_and_column_explains_itself(pool: PgPool) {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname || coalesce('.' || a.attname, '')
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'feishu'
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'v')
            AND (obj_description(c.oid, 'pg_class') IS NULL
                 OR (a.attname IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))",
    )
    .fetch_all(&pool)
    .await
    .unwrap();

    assert_eq!(
        missing,
        Vec::<String>::new(),
        "relations or columns without a comment"
    );
    let status: String = sqlx::query_scalar(
        "SELECT col_description('feishu.approval_tasks'::regclass, attnum) FROM pg_attribute
          WHERE attrelid = 'feishu.approval_tasks'::regclass AND attname = 'status'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        status.contains("1 = to do") && status.contains("34 = withdrawn"),
        "{status}"
    );
}

#[sqlx::test]
async fn the_views_answer_the_first_questions_with_names(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);

    let unnamed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.approval_backlog WHERE assignee_name IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let backlog: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.approval_backlog")
        .fetch_one(&pool)
        .await
        .unwrap();
    let to_do: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.approval_tasks WHERE topic = '1' AND deleted_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let two_departments: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.people WHERE cardinality(department_names) = 2",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (total, counted): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(users_total)::bigint FROM feishu.stage_task_progress),
                (SELECT count(*) FROM feishu.stage_tasks WHERE deleted_at IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    assert!(
        backlog > 0 && backlog == to_do,
        "{backlog} in the backlog, {to_do} to do"
    );
    assert_eq!(unnamed, 0, "every assignee has a name");
    assert!(two_departments > 0, "people in two departments list both");
    assert_eq!(total, counted);
}
