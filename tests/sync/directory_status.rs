//! The directory's people counted right: every status flag, field scopes that hide them,
//! primary departments, the departments' leaders and counts, and users granted through a
//! user group.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{ContactRange, SimConfig, UserGroup};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

const DIRECTORY: [Endpoint; 2] = [Endpoint::Departments, Endpoint::Users];

async fn sync_directory(ctx: &sync::SyncContext) {
    let reports = sync::run_pass(ctx, &DIRECTORY, &ReadMode::Incremental)
        .await
        .expect("pass runs");
    assert_all_succeeded(&reports);
}

/// Leaders, deputies, order, primary member count.
type DepartmentFacts = (
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<i64>,
    Option<i32>,
);

type Flags = (
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
);

async fn flags(pool: &PgPool, id: &str) -> Flags {
    sqlx::query_as(
        "SELECT is_frozen, is_resigned, is_activated, is_exited, is_unjoin FROM feishu.users WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn in_people(pool: &PgPool, id: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM feishu.people WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn every_status_flag_is_stored_and_people_counts_who_joined_and_stayed(pool: PgPool) {
    let sim = simulator().await;
    let ids = sim.with_tenant(|t| {
        t.people[1].is_exited = true;
        t.people[2].is_unjoin = true;
        t.people[3].is_frozen = true;
        t.people[4].is_activated = false;
        t.people[1..5]
            .iter()
            .map(|p| p.open_id.clone())
            .collect::<Vec<_>>()
    });
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let f = Some(false);
    let t = Some(true);
    assert_eq!(flags(&pool, &ids[0]).await, (f, f, t, t, f), "exited");
    assert_eq!(flags(&pool, &ids[1]).await, (f, f, t, f, t), "not joined");
    assert_eq!(flags(&pool, &ids[2]).await, (t, f, t, f, f), "frozen");
    assert_eq!(
        flags(&pool, &ids[3]).await,
        (f, f, f, f, f),
        "not activated"
    );
    assert!(!in_people(&pool, &ids[0]).await, "who left does not count");
    assert!(
        !in_people(&pool, &ids[1]).await,
        "who has not joined does not count"
    );
    assert!(in_people(&pool, &ids[2]).await, "a frozen account counts");
    assert!(
        in_people(&pool, &ids[3]).await,
        "an account not yet activated counts"
    );
}

#[sqlx::test]
async fn without_the_employee_scope_the_flags_are_null_and_absence_still_retires(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        withheld_user_fields: vec!["status"],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let known: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM feishu.users
          WHERE is_frozen IS NOT NULL OR is_resigned IS NOT NULL OR is_activated IS NOT NULL
             OR is_exited IS NOT NULL OR is_unjoin IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(known, 0, "a hidden flag is NULL, never false");
    let (users, people): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM feishu.users WHERE deleted_at IS NULL),
                (SELECT count(*) FROM feishu.people)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(users > 0);
    assert_eq!(people, users, "NULL flags count as staff");

    let leaver = sim.with_tenant(|t| {
        t.people[0].is_resigned = true; // no longer listed
        t.people[0].open_id.clone()
    });
    sync_directory(&ctx).await;
    let retired: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM feishu.users WHERE id = $1")
            .bind(&leaver)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(retired, "retirement by absence works without the flags");
}

#[sqlx::test]
async fn without_the_department_scope_memberships_come_from_the_listing(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        withheld_user_fields: vec!["department_ids", "leader_user_id", "orders"],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let (memberships, unknown, leaders): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE is_primary IS NULL),
                (SELECT count(leader_user_id) FROM feishu.users)
           FROM feishu.user_departments",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let expected = sim.with_tenant(|t| t.people.iter().map(|p| p.departments.len()).sum::<usize>());
    assert_eq!(
        memberships as usize, expected,
        "each listing department is a membership"
    );
    assert_eq!(
        unknown, memberships,
        "without orders, primary is unknown (NULL)"
    );
    assert_eq!(leaders, 0, "leader_user_id is NULL, not invented");
}

#[sqlx::test]
async fn a_person_in_two_departments_counts_once_per_department_headcount(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let (person, primary, secondary) = sim.with_tenant(|t| {
        let p = t.people.iter().find(|p| p.departments.len() == 2).unwrap();
        (
            p.open_id.clone(),
            p.departments[0].clone(),
            p.departments[1].clone(),
        )
    });
    let rows: Vec<(String, Option<bool>)> = sqlx::query_as(
        "SELECT department_id, is_primary FROM feishu.user_departments WHERE user_id = $1
          ORDER BY is_primary DESC",
    )
    .bind(&person)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [(primary.clone(), Some(true)), (secondary, Some(false))]
    );
    let in_view: Option<String> =
        sqlx::query_scalar("SELECT primary_department_id FROM feishu.people WHERE id = $1")
            .bind(&person)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(in_view, Some(primary));
    // The README's headcount: every person below the root counted exactly once.
    let (headcount, below_root): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM feishu.people WHERE primary_department_id IS NOT NULL),
                (SELECT count(DISTINCT user_id) FROM feishu.user_departments WHERE department_id <> '0')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(headcount, below_root);
    let sum_by_department: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(n), 0)::bigint FROM (SELECT primary_department_name, count(*) AS n
           FROM feishu.people WHERE primary_department_id IS NOT NULL GROUP BY 1) c",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sum_by_department, below_root, "nobody counted twice");
}

#[sqlx::test]
async fn departments_keep_their_leaders_primary_member_count_and_order(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let (department, leader) = sim.with_tenant(|t| {
        let d = t.departments.iter().find(|d| d.leader.is_some()).unwrap();
        (d.open_id.clone(), d.leader.clone().unwrap())
    });
    let (leaders, deputies, order, primary_count): DepartmentFacts = sqlx::query_as(
        "SELECT leader_user_ids, deputy_leader_user_ids, sort_order, primary_member_count
               FROM feishu.departments WHERE id = $1",
    )
    .bind(&department)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaders, Some(vec![leader]));
    assert_eq!(deputies, Some(vec![]));
    assert_eq!(order, Some(100));
    let expected = sim.with_tenant(|t| {
        t.people
            .iter()
            .filter(|p| !p.is_resigned && p.departments[0] == department)
            .count()
    });
    assert!(
        primary_count.unwrap() as usize >= expected,
        "{primary_count:?} < {expected}"
    );
}

#[sqlx::test]
async fn users_granted_through_a_group_arrive_and_an_unreadable_group_retires_nobody(pool: PgPool) {
    let sim = simulator().await;
    // The range: one top-level department, and a group of three people outside it.
    let (outside, granted) = sim.with_tenant(|t| {
        let granted = t
            .departments
            .iter()
            .find(|d| d.parent == "0")
            .unwrap()
            .open_id
            .clone();
        let outside: Vec<String> = t
            .people
            .iter()
            .filter(|p| !p.departments.contains(&granted) && !p.is_resigned)
            .take(3)
            .map(|p| p.open_id.clone())
            .collect();
        t.contact_range = Some(ContactRange {
            departments: vec![granted.clone()],
            users: Vec::new(),
            groups: vec![UserGroup {
                id: "g-analysts".into(),
                members: outside.clone(),
                refused: false,
            }],
        });
        (outside, granted)
    });
    assert_eq!(outside.len(), 3);
    let ctx = context(&pool, &sim);

    sync_directory(&ctx).await;

    let current = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM feishu.users WHERE id = $1 AND deleted_at IS NULL)",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    for member in &outside {
        assert!(
            current(member.clone()).await,
            "group member {member} arrived"
        );
    }
    assert!(!granted.is_empty());

    // The group's member list cannot be read: its members stay, nobody is retired, and
    // the run says so.
    let leaver = sim.with_tenant(|t| {
        let group = &mut t.contact_range.as_mut().unwrap().groups[0];
        group.refused = true;
        group.members.pop().unwrap() // a complete pass would retire them
    });
    let reports = sync::run_pass(&ctx, &DIRECTORY, &ReadMode::Incremental)
        .await
        .unwrap();
    let users = report(&reports, Endpoint::Users);
    assert_ne!(users.status, RunStatus::Succeeded, "{:?}", users.error);
    assert!(
        users.error.as_deref().unwrap().contains("g-analysts"),
        "{:?}",
        users.error
    );
    assert_eq!(users.counts.rows_retired, 0);
    assert!(
        current(leaver).await,
        "nobody retired while a group is unreadable"
    );
}
