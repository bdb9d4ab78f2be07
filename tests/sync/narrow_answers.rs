//! Answers once read too narrowly: 99991665, contact's 40003, no performance licence
//! (1580901), a refused `/contact/v3/scopes`, 43010 on a large subtree, and the token
//! endpoint handing back the token just refused.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{ContactRange, Department, Fault, SimConfig};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

async fn run(ctx: &sync::SyncContext, streams: &[Endpoint]) -> Vec<sync::StreamReport> {
    sync::run_pass(ctx, streams, &ReadMode::Incremental)
        .await
        .expect("pass runs")
}

#[sqlx::test]
async fn code_99991665_gets_a_new_token_like_99991663(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let invalid = Fault::Answer {
        status: 400,
        code: 99991665,
        msg: "Invalid access token for authorization. Please make a request with token attached.",
    };
    sim.inject(Some(Endpoint::Semesters), invalid, 1);

    let reports = run(&ctx, &[Endpoint::Semesters]).await;

    assert_all_succeeded(&reports);
    assert_eq!(
        sim.token_requests(),
        2,
        "the refused token was replaced once"
    );
}

#[sqlx::test]
async fn contact_internal_error_40003_is_retried(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let internal = Fault::Answer {
        status: 400,
        code: 40003,
        msg: "internal error",
    };
    sim.inject(Some(Endpoint::Departments), internal.clone(), 2);
    sim.inject(Some(Endpoint::Users), internal, 2);

    let reports = run(&ctx, &[Endpoint::Departments, Endpoint::Users]).await;

    assert_all_succeeded(&reports);
    assert_table_matches(&pool, &sim, "departments").await;
    assert_table_matches(&pool, &sim, "users").await;
}

#[sqlx::test]
async fn no_performance_licence_stops_the_stream_at_once(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&run(&ctx, &[Endpoint::Semesters]).await);
    let semesters = sim.with_tenant(|t| t.semesters.len());
    assert!(
        semesters > 2,
        "{semesters} semesters: enough partitions to loop through"
    );
    let unlicensed = Fault::Answer {
        status: 400,
        code: 1580901,
        msg: "tenant has no performance license",
    };
    sim.inject(Some(Endpoint::StageTasks), unlicensed, 100);
    sim.clear_requests();

    let reports = run(&ctx, &[Endpoint::StageTasks]).await;

    let stage_tasks = report(&reports, Endpoint::StageTasks);
    let error = stage_tasks.error.as_deref().unwrap_or_default();
    assert_eq!(stage_tasks.status, RunStatus::Failed);
    assert!(
        error.contains("1580901") && error.contains("no performance license"),
        "{error}"
    );
    assert!(
        !error.contains("partitions failed"),
        "one message, not one per semester: {error}"
    );
    let asked = sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Endpoint::StageTasks)
        .count();
    assert!(asked <= 2, "{asked} requests: only those already in flight");
}

#[sqlx::test]
async fn a_refused_contact_scopes_list_fails_the_directory_naming_its_scopes(pool: PgPool) {
    let sim = simulator().await;
    sim.with_tenant(|t| {
        let granted = t.departments[0].open_id.clone();
        t.contact_range = Some(ContactRange {
            departments: vec![granted],
            users: Vec::new(),
            groups: Vec::new(),
        });
    });
    let ctx = context(&pool, &sim);
    // The root is refused as the range is partial; then the scopes list lacks its scope.
    let no_scope = Fault::Answer {
        status: 400,
        code: 99991672,
        msg: "Access denied. One of the following scopes is required: [contact:contact.base:readonly]",
    };
    let refused_root = Fault::Answer {
        status: 403,
        code: 40004,
        msg: "no dept authority error",
    };
    sim.inject(Some(Endpoint::Departments), refused_root, 1);
    sim.inject(Some(Endpoint::Departments), no_scope, 1);
    sim.clear_requests();

    let reports = run(&ctx, &[Endpoint::Departments]).await;

    let departments = report(&reports, Endpoint::Departments);
    let error = departments.error.as_deref().unwrap_or_default();
    assert_eq!(departments.status, RunStatus::Failed);
    for scope in [
        "contact:contact.base:readonly",
        "contact:contact:readonly_as_app",
        "contact:contact:access_as_app",
    ] {
        assert!(error.contains(scope), "{error}");
    }
    assert!(error.contains("/contact/v3/scopes"), "{error}");
    let asked = sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Endpoint::Departments)
        .count();
    assert_eq!(asked, 2, "the root, then the scopes list: no loop");
}

#[sqlx::test]
async fn a_subtree_too_large_to_recurse_is_walked_one_level_at_a_time(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        recursion_limit: Some(1),
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    // A deeper tree: the root and its first department refuse recursion, the child below
    // that one does not.
    let leaf = sim.with_tenant(|t| {
        let top = t.departments[0].open_id.clone();
        let mut add = |id: u128, parent: String| {
            let open_id = format!("od-{id:032x}");
            t.departments.push(Department {
                open_id: open_id.clone(),
                custom_id: format!("D9{id:02}"),
                parent,
                name: format!("子部门{id}"),
                en_name: format!("Sub {id}"),
                leader: None,
            });
            open_id
        };
        let child = add(1, top);
        add(2, child)
    });
    let ctx = context(&pool, &sim);

    let reports = run(&ctx, &[Endpoint::Departments, Endpoint::Users]).await;

    assert_all_succeeded(&reports);
    assert_table_matches(&pool, &sim, "departments").await;
    assert_table_matches(&pool, &sim, "users").await;
    let requests = sim.requests();
    let refused = requests.iter().filter(|r| r.code == 43010).count();
    let one_level = requests
        .iter()
        .filter(|r| {
            r.query
                .iter()
                .any(|(k, v)| k == "fetch_child" && v == "false")
        })
        .count();
    assert!(
        refused >= 1 && one_level >= refused,
        "{refused} refused, {one_level} one-level reads"
    );

    // The walk is a complete pass: a department removed upstream is retired.
    let removed = sim.with_tenant(|t| {
        t.departments.retain(|d| d.open_id != leaf);
        leaf
    });
    assert_all_succeeded(&run(&ctx, &[Endpoint::Departments, Endpoint::Users]).await);
    let retired: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM feishu.departments WHERE id = $1")
            .bind(&removed)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(retired);
}

#[sqlx::test]
async fn a_token_refused_twice_says_it_was_the_same_token_and_is_not_kept(pool: PgPool) {
    let sim = simulator_with(SimConfig {
        tenant_token_refused: vec![Endpoint::Tasks],
        ..SimConfig::default().with_window(WINDOW)
    })
    .await;
    let ctx = context(&pool, &sim);

    let reports = run(&ctx, &[Endpoint::Tasks]).await;

    let tasks = report(&reports, Endpoint::Tasks);
    let error = tasks.error.as_deref().unwrap_or_default();
    assert_eq!(tasks.status, RunStatus::Failed);
    assert!(error.contains("handed back the same token"), "{error}");
    assert!(error.contains("may not accept tenant tokens"), "{error}");
    assert!(
        error.contains("Feishu refuses this token itself"),
        "{error}"
    );
    assert_eq!(sim.token_requests(), 2);
    // Nothing refused stays cached: the next request asks for a token again.
    assert_all_succeeded(&run(&ctx, &[Endpoint::Semesters]).await);
    assert_eq!(sim.token_requests(), 3, "the refused token was dropped");
}
