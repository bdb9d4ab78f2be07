//! The performance results: reviewees, review data, metric details and their
//! dictionaries, against the simulator's tenant: first sync, increments, retirement under
//! the parents' rule and the documented batch caps (the views: `performance_views`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use sqlx::PgPool;

use crate::helpers::*;
use feishu_sim::SimHandle;
use feishu_sync::db::RunStatus;
use feishu_sync::feishu::Endpoint;
use feishu_sync::sync::{self, ReadMode};

/// The results streams with their parent: a child retires only after its parents
/// completed a clean pass since its own last one.
const RESULTS: [Endpoint; 4] = [
    Endpoint::Semesters,
    Endpoint::Reviewees,
    Endpoint::ReviewData,
    Endpoint::MetricDetails,
];

pub(crate) async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// `(semester, reviewee, stage) -> score` of the simulator's stage results.
fn expected_scores(sim: &SimHandle) -> BTreeMap<(String, String, String), f64> {
    sim.with_tenant(|t| {
        t.reviews
            .iter()
            .map(|r| {
                (
                    (r.semester_id.clone(), r.user_id.clone(), r.stage_id.clone()),
                    r.score,
                )
            })
            .collect()
    })
}

async fn stored_scores(pool: &PgPool) -> BTreeMap<(String, String, String), f64> {
    let rows: Vec<(String, String, String, f64)> = sqlx::query_as(
        "SELECT semester_id, reviewee_user_id, stage_id, score FROM feishu.review_items
          WHERE deleted_at IS NULL AND is_principal_review_item",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(a, b, c, s)| ((a, b, c), s))
        .collect()
}

#[sqlx::test]
async fn first_sync_copies_reviewees_results_metrics_and_dictionaries(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);

    let reports = sync_all(&ctx, ReadMode::Incremental).await;

    assert_all_succeeded(&reports);
    let t = sim.with_tenant(|t| t.clone());
    assert!(!t.reviews.is_empty() && !t.metrics.is_empty());
    let current =
        |table: &str| format!("SELECT count(*) FROM feishu.{table} WHERE deleted_at IS NULL");
    assert_eq!(
        count(&pool, &current("reviewees")).await,
        t.reviewees.len() as i64
    );
    assert_eq!(
        count(&pool, &current("review_stages")).await,
        t.reviews.len() as i64
    );
    assert_eq!(
        count(&pool, &current("review_items")).await,
        2 * t.reviews.len() as i64
    );
    assert_eq!(
        count(&pool, &current("metric_details")).await,
        t.metrics.len() as i64
    );
    assert_eq!(
        count(&pool, &current("metric_detail_fields")).await,
        2 * t.metrics.len() as i64
    );
    assert_eq!(count(&pool, &current("indicator_options")).await, 5);
    assert_eq!(count(&pool, &current("metric_fields")).await, 3);
    assert_eq!(stored_scores(&pool).await, expected_scores(&sim));
    let roles: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT s.stage_type, s.review_stage_role, (i.reviewer_user_id = s.reviewee_user_id)::text
           FROM feishu.review_stages s JOIN feishu.review_items i USING (semester_id, reviewee_user_id, stage_id)
          ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        roles,
        [
            (
                "leader_review".into(),
                "solid_line_leader".into(),
                "false".into()
            ),
            ("review".into(), "reviewee".into(), "true".into()),
            ("review".into(), "solid_line_leader".into(), "false".into()),
        ],
        "self reviews are by the reviewee, the others by the manager"
    );
    let targets: Vec<(f64, f64)> =
        sqlx::query_as("SELECT target, actual FROM feishu.metric_attainment ORDER BY metric_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut expected: Vec<_> = t
        .metrics
        .iter()
        .map(|m| (m.metric_id.clone(), m.target, m.actual))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        targets,
        expected
            .into_iter()
            .map(|(_, t, a)| (t, a))
            .collect::<Vec<_>>()
    );
}

#[sqlx::test]
async fn an_incremental_run_reads_only_the_stages_submitted_since(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let changed = sim.with_tenant(|t| t.resubmit_reviews(5, Utc::now().timestamp_millis()));
    assert_eq!(changed.len(), 5);
    sim.clear_requests();

    // With its parents, which must complete for a child's run to count as clean.
    let reports = sync::run_pass(
        &ctx,
        &[
            Endpoint::Semesters,
            Endpoint::Reviewees,
            Endpoint::ReviewData,
        ],
        &ReadMode::Incremental,
    )
    .await
    .unwrap();

    assert_all_succeeded(&reports);
    let review = report(&reports, Endpoint::ReviewData);
    // Five stages and their two items each, nothing else.
    assert_eq!(review.counts.rows_written, 15, "{review:?}");
    assert_eq!(
        review.counts.rows_retired, 0,
        "an incremental answer retires nothing"
    );
    let requests: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::ReviewData)
        .collect();
    assert!(!requests.is_empty());
    for r in &requests {
        let since = r
            .body
            .as_ref()
            .and_then(|b| b["updated_later_than"].as_str())
            .expect("incremental");
        let since: i64 = since.parse().expect("milliseconds");
        assert!(
            since > Utc::now().timestamp_millis() - 3 * 86_400_000,
            "watermark minus one day"
        );
    }
    assert_eq!(stored_scores(&pool).await, expected_scores(&sim));
    let versions: i64 = count(
        &pool,
        "SELECT count(*) FROM feishu.review_items_history WHERE valid_to IS NOT NULL",
    )
    .await;
    assert_eq!(versions, 10, "the changed items closed one version each");
}

#[sqlx::test]
async fn removed_reviewees_are_retired_with_their_results(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let (semester, user) = sim.with_tenant(|t| {
        let gone = t.reviewees[0].clone();
        t.reviewees.retain(|r| r != &gone);
        t.reviews.retain(|r| {
            (r.semester_id.as_str(), r.user_id.as_str()) != (&gone.semester_id, &gone.user_id)
        });
        t.metrics.retain(|m| {
            (m.semester_id.as_str(), m.user_id.as_str()) != (&gone.semester_id, &gone.user_id)
        });
        (gone.semester_id, gone.user_id)
    });

    let reports = sync::run_pass(&ctx, &RESULTS, &ReadMode::Incremental)
        .await
        .unwrap();

    assert_all_succeeded(&reports);
    for table in [
        "reviewees",
        "review_stages",
        "review_items",
        "metric_details",
        "metric_detail_fields",
    ] {
        let user_column = if table == "reviewees" {
            "user_id"
        } else {
            "reviewee_user_id"
        };
        let sql = format!(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL) FROM feishu.{table}
              WHERE semester_id = '{semester}' AND {user_column} = '{user}'"
        );
        assert_eq!(
            count(&pool, &sql).await,
            0,
            "{table} of the removed reviewee"
        );
    }
    assert_eq!(
        stored_scores(&pool).await,
        expected_scores(&sim),
        "the others stay"
    );
}

#[sqlx::test]
async fn a_child_retires_nothing_while_its_parent_did_not_complete(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let gone = sim.with_tenant(|t| t.reviews.remove(0));
    let reconcile = ReadMode::Reconcile;
    // A malformed reviewee makes the parent's run partial: not a clean pass.
    let other = sim.with_tenant(|t| t.reviewees[5].user_id.clone());
    sim.corrupt(
        Endpoint::Reviewees,
        &other,
        serde_json::json!({ "reviewee_user_id": 7 }),
    );

    let reports = sync::run_pass(
        &ctx,
        &[
            Endpoint::Semesters,
            Endpoint::Reviewees,
            Endpoint::ReviewData,
        ],
        &reconcile,
    )
    .await
    .unwrap();

    assert_eq!(
        report(&reports, Endpoint::Reviewees).status,
        RunStatus::Partial
    );
    assert_eq!(
        report(&reports, Endpoint::ReviewData).counts.rows_retired,
        0
    );
    let stage_current = format!(
        "SELECT count(*) FROM feishu.review_stages WHERE deleted_at IS NULL AND stage_id = '{}' AND reviewee_user_id = '{}'",
        gone.stage_id, gone.user_id
    );
    assert_eq!(
        count(&pool, &stage_current).await,
        1,
        "kept while the parent failed"
    );

    sim.repair(Endpoint::Reviewees, &other);
    let reports = sync::run_pass(
        &ctx,
        &[
            Endpoint::Semesters,
            Endpoint::Reviewees,
            Endpoint::ReviewData,
        ],
        &reconcile,
    )
    .await
    .unwrap();

    assert_all_succeeded(&reports);
    assert_eq!(
        count(&pool, &stage_current).await,
        0,
        "retired once the parent is clean"
    );
}

#[sqlx::test]
async fn no_request_exceeds_the_documented_caps(pool: PgPool) {
    let sim = simulator().await;
    let ctx = context(&pool, &sim);
    assert_all_succeeded(&sync_all(&ctx, ReadMode::Incremental).await);
    let requests = sim.requests();
    let body_list = |b: &serde_json::Value, k: &str| b[k].as_array().map_or(0, Vec::len);
    let review: Vec<_> = requests
        .iter()
        .filter(|r| r.endpoint == Endpoint::ReviewData)
        .collect();
    let distinct: BTreeSet<String> =
        sim.with_tenant(|t| t.reviewees.iter().map(|r| r.user_id.clone()).collect());
    assert_eq!(
        review.len(),
        distinct.len().div_ceil(10),
        "one request per 10 reviewees of the group"
    );
    for r in &review {
        let body = r.body.as_ref().unwrap();
        assert!((1..=10).contains(&body_list(body, "semester_ids")));
        assert!((1..=10).contains(&body_list(body, "reviewee_user_ids")));
        assert_eq!(
            body_list(body, "stage_types"),
            6,
            "every documented stage type"
        );
        assert_eq!(r.code, 0);
    }
    for r in requests
        .iter()
        .filter(|r| r.endpoint == Endpoint::MetricDetails)
    {
        let body = r.body.as_ref().unwrap();
        assert!((1..=50).contains(&body_list(body, "reviewee_user_ids")));
        assert!(body["semester_id"].is_string());
    }
    for r in requests
        .iter()
        .filter(|r| matches!(r.endpoint, Endpoint::Reviewees | Endpoint::Indicators))
    {
        assert!(
            r.query.iter().any(|(k, v)| k == "page_size" && v == "50"),
            "paging in the query"
        );
        assert!(r.body.as_ref().is_none_or(|b| b.get("page_size").is_none()));
    }
}
