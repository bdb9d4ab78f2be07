//! End-to-end tests of the simulator over real HTTP: the harness (`Sim`), tokens, rate
//! windows, faults, auth and performance results; paging in `tests/paging.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use feishu_endpoints::{Endpoint, Method, TOKEN_PATH};

mod paging;

#[tokio::test]
async fn the_token_endpoint_hands_back_the_same_token_while_enough_of_it_remains() {
    let sim = Sim::start(SimConfig {
        token_ttl: Duration::from_secs(7200),
        token_reuse_above: Duration::from_secs(7199),
        ..SimConfig::default()
    })
    .await;
    let again = sim.fetch_token().await;
    assert_eq!(again, sim.token, "more than 7199 s remain: the same token");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = sim.fetch_token().await;
    assert_ne!(fresh, sim.token, "less remains: a new token");
    let a = sim.call(Endpoint::Semesters, &[], Value::Null).await;
    assert_eq!(a.code(), 0, "the older token stays valid: {}", a.body);
}

struct Sim {
    handle: SimHandle,
    client: reqwest::Client,
    token: String,
}

/// A JSON answer: HTTP status, headers and body (`Null` when not JSON).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }
}

impl Sim {
    async fn start(config: SimConfig) -> Sim {
        let tenant = Tenant::generate(&TenantSpec::small());
        let handle = Simulator::start(tenant, config).await.expect("start");
        let client = reqwest::Client::new();
        let mut sim = Sim {
            handle,
            client,
            token: String::new(),
        };
        sim.token = sim.fetch_token().await;
        sim
    }

    async fn fetch_token(&self) -> String {
        let body = json!({ "app_id": "cli_sim_app", "app_secret": "sim-secret" });
        let a = self.post_token(body).await;
        assert_eq!((a.status, a.code()), (200, 0), "{}", a.body);
        let expire = a.body["expire"].as_u64().expect("expire");
        assert!(
            (7190..=7200).contains(&expire),
            "remaining lifetime {expire}"
        );
        a.body["tenant_access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    async fn post_token(&self, body: Value) -> Answer {
        let url = format!("{}{TOKEN_PATH}", self.handle.base_url());
        let response = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("send");
        Self::read(response).await
    }

    async fn call(&self, endpoint: Endpoint, query: &[(&str, &str)], body: Value) -> Answer {
        let url = format!("{}{}", self.handle.base_url(), endpoint.path());
        let request = match endpoint.method() {
            Method::Get => self.client.get(url),
            Method::Post => self.client.post(url).json(&body),
        };
        let request = request.query(query).bearer_auth(&self.token);
        Self::read(request.send().await.expect("send")).await
    }

    async fn get(&self, endpoint: Endpoint, query: &[(&str, &str)]) -> Answer {
        self.call(endpoint, query, Value::Null).await
    }

    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(
            headers.contains_key("x-tt-logid"),
            "every answer has a logid"
        );
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Every task-v1 id, page by page at `size`; also returns the number of pages.
    async fn walk_tasks(&self, size: &str) -> (Vec<String>, usize) {
        let (mut ids, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let mut query = vec![("page_size", size)];
            if let Some(t) = token.as_deref() {
                query.push(("page_token", t));
            }
            let a = self.call(Endpoint::Tasks, &query, Value::Null).await;
            assert_eq!((a.status, a.code()), (200, 0), "{}", a.body);
            pages += 1;
            let items = a.body["data"]["items"].as_array().expect("items");
            ids.extend(
                items
                    .iter()
                    .map(|t| t["id"].as_str().expect("id").to_string()),
            );
            if !a.body["data"]["has_more"].as_bool().expect("has_more") {
                assert!(a.body["data"].get("page_token").is_none());
                return (ids, pages);
            }
            token = Some(a.body["data"]["page_token"].as_str().expect("token").into());
        }
    }
}

#[tokio::test]
async fn sliding_window_rejects_the_extra_request_then_recovers() {
    let mut config = SimConfig::default().with_window(Duration::from_secs(1));
    config.rate_limits.insert(
        Endpoint::Semesters,
        RateLimit {
            requests: 3,
            window: Duration::from_secs(1),
        },
    );
    let sim = Sim::start(config).await;
    for _ in 0..3 {
        assert_eq!(
            sim.call(Endpoint::Semesters, &[], Value::Null).await.code(),
            0
        );
    }
    let limited = sim.call(Endpoint::Semesters, &[], Value::Null).await;
    assert_eq!((limited.status, limited.code()), (429, 99991400));
    assert_eq!(limited.headers["x-ogw-ratelimit-limit"], "3");
    assert_eq!(limited.headers["x-ogw-ratelimit-reset"], "1");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let again = sim.call(Endpoint::Semesters, &[], Value::Null).await;
    assert_eq!((again.status, again.code()), (200, 0));
    let stats = sim.handle.stats(Endpoint::Semesters);
    assert_eq!(
        stats,
        EndpointStats {
            requests: 5,
            ok: 4,
            rate_limited: 1,
            faults: 0
        }
    );
    // The token endpoint is never limited.
    for _ in 0..5 {
        sim.fetch_token().await;
    }
    assert_eq!(sim.handle.token_requests(), 6);
}

#[tokio::test]
async fn faults_are_served_fifo_then_service_resumes() {
    let config = SimConfig {
        legacy_rate_limit_status: true,
        ..SimConfig::default()
    };
    let sim = Sim::start(config).await;
    sim.handle
        .inject(Some(Endpoint::Tasks), Fault::ServerErrorHtml, 1);
    sim.handle
        .inject(Some(Endpoint::Tasks), Fault::RateLimited, 2);
    sim.handle
        .inject(Some(Endpoint::Tasks), Fault::MalformedJson, 1);
    sim.handle
        .inject(Some(Endpoint::Tasks), Fault::BadPageToken, 1);
    sim.handle.inject(None, Fault::ServerErrorJson, 1);
    let mut seen = Vec::new();
    for _ in 0..6 {
        let a = sim.call(Endpoint::Tasks, &[], Value::Null).await;
        seen.push((a.status, a.code()));
    }
    let expected = [
        (502, -1),
        (400, 99991400),
        (400, 99991400),
        (200, -1),
        (400, 1470422),
        (200, 0),
    ];
    assert_eq!(seen, expected);
    let stats = sim.handle.stats(Endpoint::Tasks);
    assert_eq!((stats.faults, stats.rate_limited, stats.ok), (5, 2, 1));
    let recorded: Vec<u16> = sim.handle.requests().iter().map(|r| r.status).collect();
    assert_eq!(recorded, [502, 400, 400, 200, 400, 200]);

    let body = json!({ "app_id": "cli_sim_app", "app_secret": "sim-secret" });
    assert_eq!(sim.post_token(body.clone()).await.code(), 1580101);
    assert_eq!(sim.post_token(body).await.code(), 0);
    sim.handle.clear_requests();
    assert!(sim.handle.requests().is_empty());
}

#[tokio::test]
async fn auth_checks_secret_token_and_revocation() {
    let mut sim = Sim::start(SimConfig::default()).await;
    let wrong = sim
        .post_token(json!({ "app_id": "cli_sim_app", "app_secret": "nope" }))
        .await;
    assert_eq!((wrong.status, wrong.code()), (400, 10014));
    let missing = sim.post_token(json!({ "app_id": "cli_sim_app" })).await;
    assert_eq!((missing.status, missing.code()), (400, 10003));
    assert_eq!(
        sim.call(Endpoint::Semesters, &[], Value::Null).await.code(),
        0
    );
    sim.handle.revoke_tokens();
    let revoked = sim.call(Endpoint::Semesters, &[], Value::Null).await;
    assert_eq!((revoked.status, revoked.code()), (400, 99991663));
    sim.token = sim.fetch_token().await;
    sim.handle
        .inject(Some(Endpoint::Semesters), Fault::TokenInvalid, 1);
    assert_eq!(
        sim.call(Endpoint::Semesters, &[], Value::Null).await.code(),
        99991663
    );
    let a = sim
        .call(
            Endpoint::Semesters,
            &[("user_id_type", "open_id")],
            Value::Null,
        )
        .await;
    let items = a.body["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(items[0]["name"]["zh-CN"].is_string() && items[0]["start_time"].is_string());
    let acts = sim
        .call(
            Endpoint::Activities,
            &[],
            json!({ "semester_ids": [items[0]["id"]] }),
        )
        .await;
    assert_eq!(
        acts.body["data"]["activities"]
            .as_array()
            .expect("activities")
            .len(),
        2
    );
    assert!(acts.body["data"]["activities"][0]["name"]["zh_cn"].is_string());
}

#[tokio::test]
async fn performance_results_answer_within_their_caps_and_filter_by_submit_time() {
    let sim = Sim::start(SimConfig::default()).await;
    let (semester, users) = sim.handle.with_tenant(|t| {
        let semester = t.semesters[0].id.clone();
        let users: Vec<String> = t
            .reviewees
            .iter()
            .filter(|r| r.semester_id == semester)
            .map(|r| r.user_id.clone())
            .collect();
        (semester, users)
    });
    // Reviewees page in the query string.
    let first = sim
        .call(
            Endpoint::Reviewees,
            &[("page_size", "50")],
            json!({ "semester_id": semester }),
        )
        .await;
    assert_eq!(first.code(), 0, "{}", first.body);
    assert_eq!(
        first.body["data"]["reviewees"].as_array().unwrap().len(),
        50
    );
    let token = first.body["data"]["page_token"]
        .as_str()
        .expect("a second page");
    let second = sim
        .call(
            Endpoint::Reviewees,
            &[("page_token", token)],
            json!({ "semester_id": semester }),
        )
        .await;
    assert_eq!(
        second.body["data"]["reviewees"].as_array().unwrap().len(),
        users.len() - 50
    );
    let too_big = sim
        .call(
            Endpoint::Reviewees,
            &[("page_size", "51")],
            json!({ "semester_id": semester }),
        )
        .await;
    assert_eq!((too_big.status, too_big.code()), (400, 1580102));
    // Review data: at most 10 reviewees and 10 semesters; no stage without stage_types.
    let eleven: Vec<&String> = users.iter().take(11).collect();
    let over = json!({ "semester_ids": [semester], "reviewee_user_ids": eleven, "stage_types": ["review"] });
    assert_eq!(
        sim.call(Endpoint::ReviewData, &[], over).await.code(),
        1580102
    );
    let ten: Vec<&String> = users.iter().take(10).collect();
    let no_types = json!({ "semester_ids": [semester], "reviewee_user_ids": ten });
    let a = sim.call(Endpoint::ReviewData, &[], no_types).await;
    let datas = a.body["data"]["datas"].as_array().unwrap().clone();
    assert_eq!(datas.len(), 10);
    assert!(
        datas
            .iter()
            .all(|d| d["stages"].as_array().unwrap().is_empty())
    );
    // updated_later_than returns exactly the resubmitted stages.
    let now = chrono::Utc::now().timestamp_millis();
    let changed = sim.handle.with_tenant(|t| t.resubmit_reviews(3, now));
    let all_semesters: Vec<String> = sim
        .handle
        .with_tenant(|t| t.semesters.iter().map(|s| s.id.clone()).collect());
    let mut seen = Vec::new();
    for (s, user, _) in &changed {
        let body = json!({
            "semester_ids": [s], "reviewee_user_ids": [user],
            "stage_types": ["review", "leader_review"], "updated_later_than": (now - 1).to_string(),
        });
        let a = sim.call(Endpoint::ReviewData, &[], body).await;
        for d in a.body["data"]["datas"].as_array().unwrap() {
            for stage in d["stages"].as_array().unwrap() {
                seen.push((
                    s.clone(),
                    user.clone(),
                    stage["stage_id"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(seen, changed);
    assert!(all_semesters.len() <= 10);
    // Metric details: one semester, at most 50 reviewees; one entry per metric.
    let fifty_one: Vec<&String> = users.iter().cycle().take(51).collect();
    let over = json!({ "semester_id": semester, "reviewee_user_ids": fifty_one });
    assert_eq!(
        sim.call(Endpoint::MetricDetails, &[], over).await.code(),
        1580102
    );
    let one = json!({ "semester_id": semester, "reviewee_user_ids": [users[0]] });
    let a = sim.call(Endpoint::MetricDetails, &[], one).await;
    assert_eq!(
        a.body["data"]["reviewee_metrics"].as_array().unwrap().len(),
        2
    );
}
