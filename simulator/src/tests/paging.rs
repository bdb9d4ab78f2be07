//! Paging over real HTTP: task tokens walk every row once, survive edits and refuse what is
//! not theirs; stage tasks page by user, approvals per user and topic.

use super::*;

/// Ids of `data[list]`.
fn ids(a: &Answer, list: &str, key: &str) -> Vec<String> {
    let items = a.body["data"][list].as_array().expect("list");
    items
        .iter()
        .map(|x| x[key].as_str().expect("id").to_string())
        .collect()
}

fn sorted_task_ids(t: &Tenant) -> Vec<String> {
    let mut v: Vec<_> = t
        .tasks
        .iter()
        .map(|x| (x.create_time_s, x.id.clone()))
        .collect();
    v.sort();
    v.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn task_tokens_walk_every_row_once() {
    let sim = Sim::start(SimConfig::default()).await;
    let (ids, pages) = sim.walk_tasks("100").await;
    assert_eq!(pages, 3);
    assert_eq!(ids, sim.handle.with_tenant(|t| sorted_task_ids(t)));
    let (ids, pages) = sim.walk_tasks("7").await;
    assert_eq!((ids.len(), pages), (250, 36));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn task_tokens_survive_edits_between_pages() {
    let sim = Sim::start(SimConfig::default()).await;
    let first = sim.get(Endpoint::Tasks, &[("page_size", "100")]).await;
    let token = first.body["data"]["page_token"].as_str().expect("token");
    let mut expected = sim.handle.with_tenant(|t| sorted_task_ids(t));
    assert_eq!(ids(&first, "items", "id"), expected[..100]);
    // Delete the first row of page 2 and insert a row in the middle of page 2.
    let removed = expected.remove(100);
    let inserted = sim.handle.with_tenant(|t| {
        let original = t.tasks.iter().find(|x| x.id == expected[150]).expect("row");
        let mut copy = original.clone();
        copy.id = format!("{}z", copy.id);
        t.tasks.retain(|x| x.id != removed);
        t.tasks.push(copy.clone());
        copy.id
    });
    let second = sim
        .get(
            Endpoint::Tasks,
            &[("page_size", "100"), ("page_token", token)],
        )
        .await;
    let got = ids(&second, "items", "id");
    assert_eq!(got[0], expected[100], "no skip after a delete");
    assert!(got.contains(&inserted), "inserted row served");
    assert_eq!(got.len(), 100);
}

#[tokio::test]
async fn task_tokens_reject_garbage_and_other_filters() {
    let sim = Sim::start(SimConfig::default()).await;
    let first = sim.get(Endpoint::Tasks, &[("page_size", "50")]).await;
    let token = first.body["data"]["page_token"].as_str().expect("token");
    let truncated = &token[..token.len() - 4];
    for garbage in ["not-a-token", "W10=", "MTYzMTg3ODUxNQ==", truncated] {
        let a = sim.get(Endpoint::Tasks, &[("page_token", garbage)]).await;
        assert_eq!((a.status, a.code()), (400, 1470422), "{garbage}");
    }
    let other_filter = [("page_token", token), ("task_completed", "true")];
    let a = sim.get(Endpoint::Tasks, &other_filter).await;
    assert_eq!((a.status, a.code()), (400, 1470422));
    let a = sim
        .get(
            Endpoint::Tasks,
            &[("page_token", token), ("end_create_time", "false")],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (200, 0),
        "non-integer bounds are ignored"
    );
    let a = sim.get(Endpoint::Tasks, &[("page_size", "101")]).await;
    assert_eq!((a.status, a.code()), (400, 1470421));
}

#[tokio::test]
async fn stage_tasks_page_by_user_beside_data() {
    let sim = Sim::start(SimConfig::default()).await;
    let (semester, users) = sim
        .handle
        .with_tenant(|t| (t.semesters[0].id.clone(), t.users.len()));
    let body = json!({ "semester_id": semester, "page_size": 50 });
    let first = sim.call(Endpoint::StageTasks, &[], body).await;
    assert_eq!(ids(&first, "items", "user_id").len(), 50);
    assert_eq!(
        first.body["has_more"], true,
        "paging beside data by default"
    );
    assert_eq!(first.body["data"]["base"]["semester_id"], semester);
    let token = first.body["page_token"].as_str().expect("token");
    let body = json!({ "semester_id": semester, "page_size": 50, "page_token": token });
    let second = sim.call(Endpoint::StageTasks, &[], body).await;
    assert_eq!(ids(&second, "items", "user_id").len(), users - 50);
    assert_eq!(second.body["has_more"], false);
    assert!(second.body.get("page_token").is_none());
    let item = &second.body["data"]["items"][0];
    assert_eq!(item["stage_num_lists"].as_array().expect("nums").len(), 3);
    assert_eq!(
        item["stage_task_info_lists"]
            .as_array()
            .expect("infos")
            .len(),
        4
    );
    let wrong = json!({ "semester_id": "1", "page_token": token });
    let a = sim.call(Endpoint::StageTasks, &[], wrong).await;
    assert_eq!((a.status, a.code()), (400, 1580102));
    let too_big = json!({ "semester_id": semester, "page_size": 51 });
    assert_eq!(
        sim.call(Endpoint::StageTasks, &[], too_big).await.code(),
        1580102
    );
}

#[tokio::test]
async fn approvals_page_per_user_and_topic() {
    let sim = Sim::start(SimConfig::default()).await;
    let users = sim.handle.with_tenant(|t| t.users.clone());
    let heavy = [
        ("user_id", users[0].as_str()),
        ("topic", "2"),
        ("page_size", "200"),
    ];
    let a = sim.get(Endpoint::ApprovalTasks, &heavy).await;
    assert_eq!(ids(&a, "tasks", "task_id").len(), 200);
    assert!(a.body["data"]["count"]["total"].as_u64().expect("total") > 200);
    let token = a.body["data"]["page_token"].as_str().expect("token");
    let mut next = heavy.to_vec();
    next.push(("page_token", token));
    let b = sim.get(Endpoint::ApprovalTasks, &next).await;
    assert_eq!(b.body["data"]["has_more"], false);
    assert!(
        b.body["data"].get("count").is_none(),
        "count only on the first page"
    );
    next[0].1 = users[1].as_str();
    let c = sim.get(Endpoint::ApprovalTasks, &next).await;
    assert_eq!(
        (c.status, c.code()),
        (400, 1390001),
        "token of another partition"
    );
    let bad_topic = [("user_id", users[0].as_str()), ("topic", "4")];
    let d = sim.get(Endpoint::ApprovalTasks, &bad_topic).await;
    assert_eq!((d.status, d.code()), (400, 1390001));
}
