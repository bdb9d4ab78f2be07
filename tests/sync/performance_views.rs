//! The performance results' views (review_results, rating_distribution, review_gaps,
//! metric_attainment) after a first sync: the rows the simulator's tenant implies.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::helpers::*;
use crate::performance_results::count;
use feishu_sync::sync::ReadMode;

#[sqlx::test]
async fn the_views_answer_with_the_expected_rows(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let t = sim.with_tenant(|t| t.clone());

    assert_eq!(
        count(&pool, "SELECT count(*) FROM feishu.review_results").await,
        t.reviews.len() as i64
    );
    let finals = t
        .reviews
        .iter()
        .filter(|r| r.stage_type == "leader_review")
        .count() as i64;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM feishu.review_results WHERE is_final"
        )
        .await,
        finals
    );
    assert_eq!(
        count(
            &pool,
            "SELECT sum(reviewees)::int8 FROM feishu.rating_distribution"
        )
        .await,
        finals
    );
    let shares_off = count(
        &pool,
        "SELECT count(*) FROM (SELECT semester_id, department_id, sum(share) AS s FROM feishu.rating_distribution
                                GROUP BY 1, 2) x WHERE abs(s - 1) > 1e-9",
    )
    .await;
    assert_eq!(
        shares_off, 0,
        "shares add up to 1 per semester and department"
    );
    let named = count(&pool, "SELECT count(*) FROM feishu.review_results WHERE level_code IS NULL OR reviewee_name IS NULL").await;
    assert_eq!(
        named, 0,
        "every result has its level code and the reviewee's name"
    );
    let mut gaps = BTreeMap::new();
    for r in t.reviews.iter().filter(|r| r.stage_type == "review") {
        let entry = gaps
            .entry((r.semester_id.clone(), r.user_id.clone()))
            .or_insert((0.0, 0.0));
        if r.role == "reviewee" {
            entry.0 = r.score
        } else {
            entry.1 = r.score
        }
    }
    let rows: Vec<(String, String, f64)> =
        sqlx::query_as("SELECT semester_id, reviewee_user_id, gap FROM feishu.review_gaps")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), gaps.len());
    for (semester, user, gap) in rows {
        let (own, manager) = gaps[&(semester, user)];
        assert!((gap - (manager - own)).abs() < 1e-9);
    }
    let attainment_off = count(
        &pool,
        "SELECT count(*) FROM feishu.metric_attainment WHERE abs(attainment - actual / target) > 1e-9",
    )
    .await;
    assert_eq!(attainment_off, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM feishu.metric_attainment").await,
        t.metrics.len() as i64
    );
}
