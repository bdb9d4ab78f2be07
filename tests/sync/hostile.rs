//! Answers that must never wedge a stream or exhaust the process: text PostgreSQL cannot
//! store, times it cannot hold, pages that never end, bodies too large to hold, absurd
//! token lifetimes, cursors that can never succeed.

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, RunOptions};

async fn run_tasks(ctx: &feishu_sync::sync::SyncContext) -> sync::StreamReport {
    let mut reports = sync::sync(ctx, &[Endpoint::Tasks], &RunOptions::default())
        .await
        .expect("pass runs");
    reports.remove(0)
}

#[sqlx::test]
async fn nul_and_lone_surrogates_are_stored_as_replacement_characters(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    let (with_nul, with_surrogate, total) = sim.with_tenant(|t| {
        (
            t.tasks[3].id.clone(),
            t.tasks[150].id.clone(),
            t.tasks.len(),
        )
    });
    sim.corrupt(
        Endpoint::Tasks,
        &with_nul,
        json!({"summary": "before\u{0}after"}),
    );
    sim.corrupt(
        Endpoint::Tasks,
        &with_surrogate,
        json!({"summary": "LONE-SURROGATE-HERE"}),
    );
    sim.rewrite_answers("LONE-SURROGATE-HERE", "x\\ud800y");

    let report = run_tasks(&ctx).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, summary, raw->>'summary' FROM feishu.tasks WHERE id = ANY($1) ORDER BY id = $2 DESC",
    )
    .bind(vec![with_nul.clone(), with_surrogate.clone()])
    .bind(&with_nul)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                with_nul,
                "before\u{fffd}after".into(),
                "before\u{fffd}after".into()
            ),
            (with_surrogate, "x\u{fffd}y".into(), "x\u{fffd}y".into()),
        ]
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM feishu.tasks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, total, "the rest of the page landed");
    assert_eq!(ctx.client.replaced_count(Endpoint::Tasks), 2);
    assert!(
        ctx.metrics
            .encode()
            .contains(r#"feishu_sync_replaced_code_points_total{endpoint="tasks"} 2"#),
        "counted in the metric"
    );
}
