//! Unit tests of the pager: where paging fields are read, and each way a read ends (complete,
//! truncated by a token or by content, the page cap, endpoints without paging).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::feishu::{ClientSettings, Endpoint};

fn client() -> FeishuClient {
    let settings = ClientSettings {
        base_url: "http://127.0.0.1:9".into(),
        app_id: "a".into(),
        app_secret: "s".to_string().into(),
        user_id_type: crate::feishu::UserIdType::OpenId,
        rate_limits: HashMap::new(),
        rate_window: Duration::from_secs(60),
        timeout: Duration::from_secs(1),
        retry: backon::ExponentialBuilder::default(),
        max_rate_limit_waits: 1,
        max_pages: 4,
        max_body_bytes: 1024,
    };
    FeishuClient::new(settings).unwrap()
}

fn reply(data: Value, beside: Value) -> ApiReply {
    ApiReply {
        data,
        beside_data: beside.as_object().cloned().unwrap_or_default(),
        log_id: LogId(None),
        replaced: 0,
    }
}

fn pager(client: &FeishuClient, endpoint: Endpoint) -> Pager<'_> {
    Pager::new(
        client,
        ApiRequest {
            path: None,
            endpoint,
            query: Vec::new(),
            body: None,
        },
    )
}

#[test]
fn paging_fields_are_read_inside_data_then_beside_it() {
    let client = client();
    let mut inside = pager(&client, Endpoint::Tasks);
    let mut beside = pager(&client, Endpoint::StageTasks);

    inside.advance(&reply(
        json!({"has_more": true, "page_token": "a"}),
        json!({}),
    ));
    beside.advance(&reply(
        json!({"items": []}),
        json!({"has_more": true, "page_token": "b"}),
    ));

    assert_eq!(
        (inside.end(), inside.next_token.as_deref()),
        (PagingEnd::Open, Some("a"))
    );
    assert_eq!(
        (beside.end(), beside.next_token.as_deref()),
        (PagingEnd::Open, Some("b"))
    );
    assert_eq!(beside.paged_request().body.unwrap()["page_token"], "b");
    assert_eq!(beside.paged_request().body.unwrap()["page_size"], 50);
    let query = inside.paged_request().query;
    assert!(query.contains(&("page_token".to_string(), "a".to_string())));
    assert!(query.contains(&("page_size".to_string(), "100".to_string())));
}

#[test]
fn paging_stops_complete_on_has_more_false() {
    let client = client();
    let mut p = pager(&client, Endpoint::ApprovalTasks);

    p.advance(&reply(
        json!({"has_more": false, "page_token": "x"}),
        json!({}),
    ));

    assert_eq!(p.end(), PagingEnd::Complete);
}

#[test]
fn an_empty_or_repeated_token_stops_paging_as_truncated() {
    let client = client();
    let mut empty = pager(&client, Endpoint::Tasks);
    let mut repeated = pager(&client, Endpoint::Tasks);

    empty.advance(&reply(
        json!({"has_more": true, "page_token": ""}),
        json!({}),
    ));
    repeated.advance(&reply(
        json!({"has_more": true, "page_token": "t1"}),
        json!({}),
    ));
    let after_first = repeated.end();
    repeated.advance(&reply(
        json!({"has_more": true, "page_token": "t1"}),
        json!({}),
    ));

    assert_eq!(empty.end(), PagingEnd::Truncated);
    assert_eq!(after_first, PagingEnd::Open);
    assert_eq!(repeated.end(), PagingEnd::Truncated);
}

#[test]
fn fresh_tokens_over_repeated_content_stop_paging_as_truncated() {
    let client = client();
    let mut p = pager(&client, Endpoint::Tasks);
    let page = |token: &str| {
        reply(
            json!({"items": [{"id": "1"}], "has_more": true, "page_token": token}),
            json!({}),
        )
    };

    p.advance(&page("t1"));
    let after_first = p.end();
    p.advance(&page("t2"));

    assert_eq!(after_first, PagingEnd::Open);
    assert_eq!(p.end(), PagingEnd::Truncated);
    assert!(p.truncated_because().unwrap().contains("repeating"));
}

#[test]
fn a_few_empty_pages_may_repeat_but_not_for_ever() {
    let client = client();
    let mut p = pager(&client, Endpoint::Tasks);
    p.pages = 0;
    let mut ends = Vec::new();
    for n in 0..=MAX_EMPTY_REPEATS + 1 {
        p.pages = 0; // below the cap
        p.advance(&reply(
            json!({"items": [], "has_more": true, "page_token": format!("t{n}")}),
            json!({}),
        ));
        ends.push(p.end());
    }

    assert!(
        ends[..=MAX_EMPTY_REPEATS as usize]
            .iter()
            .all(|e| *e == PagingEnd::Open)
    );
    assert_eq!(ends.last(), Some(&PagingEnd::Truncated));
}

#[test]
fn paging_stops_at_the_page_cap() {
    let client = client(); // max_pages: 4
    let mut p = pager(&client, Endpoint::Tasks);
    let mut ends = Vec::new();
    for n in 1..=5u32 {
        p.pages = n;
        p.advance(&reply(
            json!({"items": [{"id": n}], "has_more": true, "page_token": format!("t{n}")}),
            json!({}),
        ));
        ends.push(p.end());
    }

    assert_eq!(&ends[..3], [PagingEnd::Open; 3]);
    assert_eq!(
        ends[3],
        PagingEnd::Truncated,
        "the fourth page is the last read"
    );
    assert!(
        p.truncated_because()
            .unwrap()
            .contains("max_pages_per_partition")
    );
}

#[test]
fn endpoints_without_paging_complete_after_one_page() {
    let client = client();
    let mut p = pager(&client, Endpoint::Semesters);

    p.advance(&reply(json!({"items": []}), json!({})));

    assert_eq!(p.end(), PagingEnd::Complete);
    assert!(
        p.paged_request().query.is_empty(),
        "no page_size for an unpaged endpoint"
    );
}

proptest::proptest! {
    /// Any envelope gives paging fields, never a panic.
    #[test]
    fn any_envelope_gives_paging_fields(envelope in crate::property_test_json::json()) {
        let map = envelope.as_object().cloned().unwrap_or_default();
        let reply = ApiReply::from_envelope(map.clone(), LogId(None));
        let (has_more, _) = reply.paging();
        let inside = map.get("data").and_then(|d| d.get("has_more")).filter(|v| !v.is_null());
        let expected = inside.or(map.get("has_more")).and_then(Value::as_bool).unwrap_or(false);
        proptest::prop_assert_eq!(has_more, expected, "inside data first, then beside it");
    }
}
