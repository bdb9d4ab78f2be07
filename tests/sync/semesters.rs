//! The semesters stream and the activities read per semester, end to end: batches of
//! semesters, a semester that disappears and returns, an empty list that retires nothing.

use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::{SimConfig, Simulator, Tenant, TenantSpec};
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

#[sqlx::test]
async fn activities_are_asked_for_at_most_ten_semesters_at_a_time(pool: PgPool) {
    let spec = TenantSpec {
        semesters: 12,
        users: 8,
        tasks: 20,
        ..TenantSpec::small()
    };
    let sim = Simulator::start(
        Tenant::generate(&spec),
        SimConfig::default().with_window(WINDOW),
    )
    .await
    .unwrap();
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    let mut sizes: Vec<usize> = sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == Endpoint::Activities)
        .map(|r| {
            r.body.as_ref().unwrap()["semester_ids"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, [2, 10]);
    assert_tables_match(&pool, &sim).await;
}

#[sqlx::test]
async fn a_semester_that_disappears_and_returns_is_whole_again(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let semester = sim.with_tenant(|t| t.semesters.remove(0));
    sync_all(&ctx, ReadMode::Incremental).await;
    sim.with_tenant(|t| t.semesters.insert(0, semester.clone()));

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    assert_tables_match(&pool, &sim).await;
    assert_counts_match(&pool, &sim).await;
}

#[sqlx::test]
async fn an_empty_semester_list_does_not_retire_every_semester(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    sync_all(&ctx, ReadMode::Incremental).await;
    let saved = sim.with_tenant(|t| std::mem::take(&mut t.semesters));

    let reports = sync::run_pass(&ctx, &[Endpoint::Semesters], &ReadMode::Incremental)
        .await
        .unwrap();

    let semesters = report(&reports, Endpoint::Semesters);
    assert_eq!(semesters.status, RunStatus::Failed);
    assert!(
        semesters
            .error
            .as_deref()
            .unwrap()
            .contains("refusing to retire"),
        "{:?}",
        semesters.error
    );
    sim.with_tenant(|t| t.semesters = saved);
    assert_tables_match(&pool, &sim).await;
}
