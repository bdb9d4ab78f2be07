//! HTTP plumbing: the router, the per-request pipeline (fault queue, auth, rate limit,
//! parameters), the token endpoint and the `X-Tt-Logid` header; the answers it sends for
//! faults, limits and missing scopes are built in `replies.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Value, json};

use super::config::Fault;
use super::params::{self, ApiError};
use super::replies::{
    QUOTA_EXHAUSTED, RATE_LIMITED, Reply, TOKEN_INVALID, fault_reply, missing_scope, rate_limited,
};
use super::state::{RecordedRequest, Shared, lock};
use super::{contact, event_api, handlers, ws};
use feishu_endpoints::{
    APPROVAL_INSTANCE_PATH, APPROVAL_SUBSCRIBE_PATH, CONTACT_SCOPES_PATH, DEPARTMENT_PATH,
    Endpoint, GROUP_MEMBERS_PATH, Method, TASK_PATH, TOKEN_PATH, USER_PATH, WS_ENDPOINT_PATH,
};

/// What a data request asks for: one of the list endpoints, or a directory resource with
/// its path parameter. Each counts against one endpoint's limits and statistics.
#[derive(Debug, Clone)]
pub(crate) enum Resource {
    List(Endpoint),
    Children(String),
    ContactScopes,
    Department(String),
    User(String),
    GroupMembers(String),
    /// One task v1 task, for a task event.
    Task(String),
    /// One approval instance, for an instance event.
    Instance(String),
    /// An approval definition's event subscription.
    Subscribe(String),
}

impl Resource {
    /// The endpoint whose rate limit, faults and statistics the request counts against.
    fn endpoint(&self) -> Endpoint {
        match self {
            Resource::List(endpoint) => *endpoint,
            Resource::Children(_) | Resource::ContactScopes | Resource::Department(_) => {
                Endpoint::Departments
            }
            Resource::User(_) | Resource::GroupMembers(_) => Endpoint::Users,
            Resource::Task(_) => Endpoint::Tasks,
            Resource::Instance(_) | Resource::Subscribe(_) => Endpoint::ApprovalTasks,
        }
    }
}

/// The simulator's router: the token endpoint plus every [`Endpoint`].
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new().route(TOKEN_PATH, post(token));
    for endpoint in Endpoint::ALL
        .into_iter()
        .filter(|e| *e != Endpoint::Departments)
    {
        let handler = move |State(shared): State<Arc<Shared>>,
                            headers: HeaderMap,
                            RawQuery(query): RawQuery,
                            body: Bytes| {
            data_request(shared, Resource::List(endpoint), headers, query, body)
        };
        let route = match endpoint.method() {
            Method::Get => get(handler),
            Method::Post => post(handler),
        };
        router = router.route(endpoint.path(), route);
    }
    let with_param = |resource: fn(String) -> Resource| {
        get(
            move |State(shared): State<Arc<Shared>>,
                  Path(id): Path<String>,
                  headers: HeaderMap,
                  RawQuery(query): RawQuery| {
                data_request(shared, resource(id), headers, query, Bytes::new())
            },
        )
    };
    let scopes =
        |State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery| {
            data_request(
                shared,
                Resource::ContactScopes,
                headers,
                query,
                Bytes::new(),
            )
        };
    router
        .route(Endpoint::Departments.path(), with_param(Resource::Children))
        .route(DEPARTMENT_PATH, with_param(Resource::Department))
        .route(USER_PATH, with_param(Resource::User))
        .route(GROUP_MEMBERS_PATH, with_param(Resource::GroupMembers))
        .route(CONTACT_SCOPES_PATH, get(scopes))
        .route(TASK_PATH, with_param(Resource::Task))
        .route(APPROVAL_INSTANCE_PATH, with_param(Resource::Instance))
        .route(
            APPROVAL_SUBSCRIBE_PATH,
            post(
                |State(shared): State<Arc<Shared>>,
                 Path(code): Path<String>,
                 headers: HeaderMap| {
                    data_request(
                        shared,
                        Resource::Subscribe(code),
                        headers,
                        None,
                        Bytes::new(),
                    )
                },
            ),
        )
        .route(WS_ENDPOINT_PATH, post(ws::endpoint))
        .route(ws::SOCKET_PATH, get(ws::socket))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found") })
        .layer(middleware::from_fn(add_logid))
        .with_state(shared)
}

/// Adds a unique `X-Tt-Logid` to every response.
async fn add_logid(request: Request, next: Next) -> Response {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut response = next.run(request).await;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff;
    let random: u64 = rand::rng().random::<u64>() & 0xffff_ffff_ffff;
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let logid = format!("{stamp}{seq:08X}{random:012X}");
    if let Ok(value) = HeaderValue::from_str(&logid) {
        response.headers_mut().insert("x-tt-logid", value);
    }
    response
}

async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.token_requests.fetch_add(1, Ordering::SeqCst);
    let fault = lock(&shared.faults).pop(None);
    let mut expire_override = None;
    match fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::TokenExpire(expire)) => expire_override = Some(expire),
        Some(fault) => return fault_reply(&shared, None, &fault).into_response(),
        None => {}
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let reply = match (field("app_id"), field("app_secret")) {
        (Some(id), Some(secret)) => {
            if id == shared.config.app_id && secret == shared.config.app_secret {
                let config = &shared.config;
                let (token, remaining) =
                    lock(&shared.tokens).current_or_new(config.token_ttl, config.token_reuse_above);
                let mut body = json!({
                    "code": 0,
                    "msg": "ok",
                    "tenant_access_token": token,
                    "expire": remaining.as_secs(),
                });
                match expire_override {
                    Some(Value::Null) => drop(body.as_object_mut().map(|b| b.remove("expire"))),
                    Some(expire) => body["expire"] = expire,
                    None => {}
                }
                Reply::json(200, body)
            } else {
                ApiError::new(400, 10014, "app secret invalid").into()
            }
        }
        _ => ApiError::new(400, 10003, "invalid param").into(),
    };
    reply.into_response()
}

/// Parsed pieces of a data-endpoint request.
pub(crate) struct Incoming {
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
    bad_json: bool,
}

async fn data_request(
    shared: Arc<Shared>,
    resource: Resource,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let endpoint = resource.endpoint();
    let at = Instant::now();
    let query = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let parsed = (!body.iter().all(u8::is_ascii_whitespace)).then(|| serde_json::from_slice(&body));
    let incoming = Incoming {
        query,
        bad_json: matches!(parsed, Some(Err(_))) && endpoint.method() == Method::Post,
        body: parsed
            .and_then(Result::ok)
            .filter(|_| endpoint.method() == Method::Post),
    };
    let (reply, faulted) = answer(&shared, &resource, &headers, &incoming).await;
    let (status, code) = (reply.status, reply.code());
    {
        let mut stats = lock(&shared.stats);
        let s = stats.entry(endpoint).or_default();
        s.requests += 1;
        s.ok += u64::from(status == 200 && code == 0);
        s.rate_limited += u64::from(code == RATE_LIMITED.0);
        s.faults += u64::from(faulted);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    lock(&shared.requests).push(RecordedRequest {
        endpoint,
        content_type,
        resource: format!("{resource:?}"),
        query: incoming.query,
        body: incoming.body,
        status,
        code,
        at,
    });
    reply.rewritten(&lock(&shared.rewrites)).into_response()
}

/// Runs the checks in order: fault queue, auth, rate limit, parameters. Also says
/// whether a fault was consumed.
async fn answer(
    shared: &Shared,
    resource: &Resource,
    headers: &HeaderMap,
    req: &Incoming,
) -> (Reply, bool) {
    let endpoint = resource.endpoint();
    let fault = lock(&shared.faults).pop(Some(endpoint));
    let faulted = fault.is_some();
    let mut endless = false;
    match fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::EndlessPage) => endless = true,
        Some(fault) => return (fault_reply(shared, Some(endpoint), &fault), true),
        None => {}
    }
    if endless {
        return (endless_page(shared, resource, req), true);
    }
    if quota_used_up(shared) {
        return (
            ApiError::new(400, QUOTA_EXHAUSTED.0, QUOTA_EXHAUSTED.1).into(),
            faulted,
        );
    }
    if !authorized(shared, headers) || shared.config.tenant_token_refused.contains(&endpoint) {
        return (
            ApiError::new(400, TOKEN_INVALID.0, TOKEN_INVALID.1).into(),
            faulted,
        );
    }
    if shared.config.missing_scope.contains(&endpoint) {
        return (missing_scope(endpoint), faulted);
    }
    if let Some(limit) = shared.config.rate_limits.get(&endpoint) {
        let admitted = lock(&shared.windows).admit(endpoint, *limit, Instant::now());
        if let Err(reset) = admitted {
            return (rate_limited(shared, Some(endpoint), reset), faulted);
        }
    }
    if req.bad_json {
        return (params::param_error(Some(endpoint)).into(), faulted);
    }
    let query = &req.query;
    let answered = match resource {
        Resource::List(endpoint) => handlers::handle(shared, *endpoint, query, req.body.as_ref()),
        Resource::Children(id) => contact::children(shared, id, query),
        Resource::ContactScopes => contact::scopes(shared, query),
        Resource::Department(id) => contact::department(shared, id, query),
        Resource::User(id) => contact::user(shared, id, query),
        Resource::GroupMembers(id) => contact::group_members(shared, id, query),
        Resource::Task(id) => event_api::task(shared, id),
        Resource::Instance(code) => event_api::instance(shared, code, query),
        Resource::Subscribe(code) => event_api::subscribe(shared, code),
    };
    let reply = match answered {
        Ok(body) => Reply::json(200, body),
        Err(e) => e.into(),
    };
    (reply, faulted)
}

/// The request's first page (its paging parameters dropped), claiming another page
/// behind a fresh token: a server that pages for ever.
fn endless_page(shared: &Shared, resource: &Resource, req: &Incoming) -> Reply {
    let query: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "page_token")
        .cloned()
        .collect();
    let body = req.body.clone().map(|mut b| {
        if let Some(map) = b.as_object_mut() {
            map.remove("page_token");
        }
        b
    });
    let Resource::List(endpoint) = resource else {
        return ApiError::new(400, 99992402, "endless paging serves list endpoints").into();
    };
    let mut answer = match handlers::handle(shared, *endpoint, &query, body.as_ref()) {
        Ok(answer) => answer,
        Err(e) => return e.into(),
    };
    let fresh = format!("endless-{:016x}", rand::rng().random::<u64>());
    if let Some(data) = answer.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("has_more".into(), true.into());
        data.insert("page_token".into(), fresh.clone().into());
    }
    if let Some(map) = answer
        .as_object_mut()
        .filter(|m| m.contains_key("has_more"))
    {
        map.insert("has_more".into(), true.into());
        map.insert("page_token".into(), fresh.into());
    }
    Reply::json(200, answer)
}

/// Counts a data request against the monthly quota; true once it is used up.
fn quota_used_up(shared: &Shared) -> bool {
    match &mut *lock(&shared.quota_left) {
        None => false,
        Some(0) => true,
        Some(left) => {
            *left -= 1;
            false
        }
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    token.is_some_and(|t| lock(&shared.tokens).is_valid(t))
}
