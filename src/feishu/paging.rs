//! Page-token pagination shared by every paged endpoint: maximum page size, `has_more` and
//! `page_token` read inside `data` (as the SDKs do) or beside it (as the stage-task
//! document's example shows), and a stop on an empty or repeated token.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::feishu::answer::ApiReply;
use crate::feishu::client::{ApiRequest, FeishuClient};
use crate::feishu::error::{ApiError, LogId};

/// How a paged read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingEnd {
    /// Still reading.
    Open,
    /// `has_more` was false: the partition was read completely.
    Complete,
    /// The server said `has_more` but gave no new token (empty or already seen); the read
    /// stopped there and must not be treated as complete.
    Truncated,
}

/// Walks the pages of one request.
pub struct Pager<'a> {
    client: &'a FeishuClient,
    request: ApiRequest,
    next_token: Option<String>,
    seen_tokens: HashSet<String>,
    /// Fingerprints of the pages' content (paging fields left out), and how many pages
    /// without records repeated one.
    seen_content: HashSet<u64>,
    empty_repeats: u32,
    end: PagingEnd,
    /// Why the read was truncated, once it was.
    truncated_because: Option<&'static str>,
    pages: u32,
}

/// How many pages without any record may repeat one another before the read stops: a
/// server may pass over filtered-out records with an empty page, but not for ever.
const MAX_EMPTY_REPEATS: u32 = 10;

/// One page, typed.
#[derive(Debug)]
pub struct Page<T> {
    pub data: T,
    /// The `data` object as received, for `raw` columns.
    pub raw: Value,
    pub log_id: LogId,
    /// True when this is the last page of a complete read.
    pub last: bool,
    /// The token of the following page, if one follows: what a resumed read starts from.
    pub next_token: Option<String>,
}

impl<'a> Pager<'a> {
    /// A pager over `request`, which must not carry paging parameters itself.
    pub fn new(client: &'a FeishuClient, request: ApiRequest) -> Self {
        Pager {
            client,
            request,
            next_token: None,
            seen_tokens: HashSet::new(),
            seen_content: HashSet::new(),
            empty_repeats: 0,
            end: PagingEnd::Open,
            truncated_because: None,
            pages: 0,
        }
    }

    /// A pager that continues an earlier read of the same `request` at the page
    /// `page_token` names. A token the server no longer honours fails with an
    /// [`ApiError`] for which `is_bad_page_token` holds.
    pub fn resume(client: &'a FeishuClient, request: ApiRequest, page_token: String) -> Self {
        let mut pager = Pager::new(client, request);
        pager.seen_tokens.insert(page_token.clone());
        pager.next_token = Some(page_token);
        pager
    }

    /// How the read ended (or `Open`).
    pub fn end(&self) -> PagingEnd {
        self.end
    }

    /// Why the read stopped early, if it was truncated.
    pub fn truncated_because(&self) -> Option<&'static str> {
        self.truncated_because
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Whether the next request carries a page token (a later page, or a resumed read).
    pub fn sends_token(&self) -> bool {
        self.next_token.is_some()
    }

    /// The next page, or `None` once the read has ended.
    pub async fn next_page<T: DeserializeOwned>(&mut self) -> Result<Option<Page<T>>, ApiError> {
        if self.end != PagingEnd::Open {
            return Ok(None);
        }
        let request = self.paged_request();
        let reply = self.client.call(&request).await?;
        self.pages += 1;
        self.advance(&reply);
        let endpoint = self.request.endpoint;
        let data = T::deserialize(&reply.data).map_err(|e| ApiError::Shape {
            endpoint,
            reason: e.to_string(),
            log_id: reply.log_id.clone(),
        })?;
        Ok(Some(Page {
            data,
            raw: reply.data,
            log_id: reply.log_id,
            last: self.end == PagingEnd::Complete,
            next_token: match self.end {
                PagingEnd::Open => self.next_token.clone(),
                _ => None,
            },
        }))
    }

    fn paged_request(&self) -> ApiRequest {
        let mut request = self.request.clone();
        let endpoint = request.endpoint;
        let Some(size) = endpoint.max_page_size() else {
            return request;
        };
        // The performance v2 queries are POSTs that page in the query string.
        match endpoint.pages_in_query() {
            true => {
                request.query.push(("page_size".into(), size.to_string()));
                if let Some(token) = &self.next_token {
                    request.query.push(("page_token".into(), token.clone()));
                }
            }
            false => {
                let body = request
                    .body
                    .get_or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(map) = body {
                    map.insert("page_size".into(), size.into());
                    if let Some(token) = &self.next_token {
                        map.insert("page_token".into(), token.clone().into());
                    }
                }
            }
        }
        request
    }

    /// Reads `has_more`/`page_token` and decides whether another page follows. It stops
    /// (truncated) on an empty or repeated token, on content that repeats an earlier
    /// page, and at the page cap: a server that pages for ever must not spend the
    /// tenant's monthly quota.
    fn advance(&mut self, reply: &ApiReply) {
        if self.request.endpoint.max_page_size().is_none() {
            self.end = PagingEnd::Complete;
            return;
        }
        let (has_more, token) = reply.paging();
        let repeated_content = has_more && self.repeats_content(&reply.data);
        let reason = match (has_more, token) {
            (false, _) => {
                self.end = PagingEnd::Complete;
                return;
            }
            (true, "") => "has_more without a page_token",
            (true, token) if self.seen_tokens.contains(token) => "a page_token seen before",
            _ if repeated_content => "a page repeating an earlier one under a new page_token",
            _ if self.pages >= self.client.max_pages() => {
                "the page cap (feishu.max_pages_per_partition)"
            }
            (true, token) => {
                self.seen_tokens.insert(token.to_string());
                self.next_token = Some(token.to_string());
                self.end = PagingEnd::Open;
                return;
            }
        };
        self.end = PagingEnd::Truncated;
        self.truncated_because = Some(reason);
        tracing::warn!(endpoint = %self.request.endpoint, log_id = reply.log_id.as_str(), reason,
            pages = self.pages, "stopping this read as incomplete");
    }

    /// Whether `data` without its paging fields repeats an earlier page's. Pages without
    /// records may repeat up to [`MAX_EMPTY_REPEATS`] times.
    fn repeats_content(&mut self, data: &Value) -> bool {
        use std::hash::{Hash, Hasher};
        let mut content = data.clone();
        if let Value::Object(map) = &mut content {
            map.remove("page_token");
            map.remove("has_more");
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        content.to_string().hash(&mut hasher);
        if self.seen_content.insert(hasher.finish()) {
            return false;
        }
        let empty = match &content {
            Value::Object(map) => map.values().all(|v| v.as_array().is_none_or(Vec::is_empty)),
            _ => true,
        };
        self.empty_repeats += u32::from(empty);
        !empty || self.empty_repeats > MAX_EMPTY_REPEATS
    }
}

#[cfg(test)]
mod tests {
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
}
