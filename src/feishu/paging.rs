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
mod tests;
