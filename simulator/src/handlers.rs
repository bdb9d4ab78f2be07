//! The performance, approval and task list endpoints: parameter checks, filtering, paging
//! and the answer bodies. The directory's are in `contact`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::contact;
use super::generate::TOPICS;
use super::params::{
    ApiError, Query, bad_page_token, check_user_id_type, corrupted, opt_int, page_size, param,
    param_error, put_paging, success,
};
use super::state::{Shared, lock};
use super::tenant::{ApprovalTask, StageTask, Task};
use super::{paging, results_handlers, wire};
use feishu_endpoints::Endpoint;

/// Answers a request that passed faults, auth and the rate limit.
pub(crate) fn handle(
    shared: &Shared,
    endpoint: Endpoint,
    query: &Query,
    body: Option<&Value>,
) -> Result<Value, ApiError> {
    let body = body.unwrap_or(&Value::Null);
    match endpoint {
        Endpoint::Semesters => semesters(shared, query),
        Endpoint::Activities => activities(shared, query, body),
        Endpoint::StageTasks => stage_tasks(shared, query, body),
        Endpoint::ApprovalTasks => approval_tasks(shared, query),
        Endpoint::Tasks => tasks(shared, query),
        Endpoint::Users => contact::find_by_department(shared, query),
        Endpoint::Reviewees => results_handlers::reviewees(shared, query, body),
        Endpoint::ReviewData => results_handlers::review_data(shared, query, body),
        Endpoint::MetricDetails => results_handlers::metric_details(shared, query, body),
        Endpoint::Indicators => results_handlers::indicators(shared, query, body),
        Endpoint::MetricFields => results_handlers::metric_fields(shared, body),
        // Its path carries the department: routed to `contact::children` directly.
        Endpoint::Departments => Err(param_error(Some(endpoint))),
    }
}

fn perf_error() -> ApiError {
    param_error(Some(Endpoint::Semesters))
}

fn semesters(shared: &Shared, query: &Query) -> Result<Value, ApiError> {
    check_user_id_type(query, &["open_id", "union_id", "user_id"], perf_error)?;
    let int = |k| opt_int(param(query, k)).map_err(|()| perf_error());
    let (start, end, year) = (int("start_time")?, int("end_time")?, int("year")?);
    if year.is_some_and(|y| !(0..=9999).contains(&y)) {
        return Err(perf_error());
    }
    let (group, kind) = (param(query, "type_group"), param(query, "type"));
    let tenant = lock(&shared.tenant);
    let items: Vec<Value> = tenant
        .semesters
        .iter()
        .filter(|s| start.is_none_or(|t| s.start_time_ms >= t))
        .filter(|s| end.is_none_or(|t| s.end_time_ms <= t))
        .filter(|s| year.is_none_or(|y| i64::from(s.year) == y))
        .filter(|s| group.is_none_or(|g| s.type_group == g))
        .filter(|s| kind.is_none_or(|k| s.r#type == k))
        .map(wire::semester)
        .collect();
    Ok(success(json!({ "items": items })))
}

/// A list of strings in `body[key]`; empty when absent or null.
fn str_list(body: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(perf_error))
            .collect(),
        Some(_) => Err(perf_error()),
    }
}

fn activities(shared: &Shared, query: &Query, body: &Value) -> Result<Value, ApiError> {
    check_user_id_type(query, &["open_id", "union_id", "user_id"], perf_error)?;
    let semester_ids = str_list(body, "semester_ids")?;
    let activity_ids = str_list(body, "activity_ids")?;
    if semester_ids.len() > 10 || activity_ids.len() > 50 {
        return Err(perf_error());
    }
    let tenant = lock(&shared.tenant);
    let items: Vec<Value> = tenant
        .activities
        .iter()
        .filter(|a| {
            if activity_ids.is_empty() {
                semester_ids.contains(&a.semester_id)
            } else {
                activity_ids.contains(&a.id)
            }
        })
        .map(wire::activity)
        .collect();
    Ok(success(json!({ "activities": items })))
}

/// An integer in a JSON body, given as a number or a decimal string.
fn body_int(body: &Value, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(perf_error),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| perf_error()),
        Some(_) => Err(perf_error()),
    }
}

/// Filters of a stage-task request.
struct StageFilter {
    options: Vec<i32>,
    after: Option<i64>,
    before: Option<i64>,
}

impl StageFilter {
    fn parse(body: &Value) -> Result<Self, ApiError> {
        let options: Vec<i32> = match body.get("task_option_lists") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_i64().filter(|o| (1..=3).contains(o)).map(|o| o as i32))
                .collect::<Option<_>>()
                .ok_or_else(perf_error)?,
            Some(_) => return Err(perf_error()),
        };
        if options.len() > 3 {
            return Err(perf_error());
        }
        let (after, before) = (
            body_int(body, "after_time")?,
            body_int(body, "before_time")?,
        );
        Ok(StageFilter {
            options,
            after,
            before,
        })
    }

    fn matches(&self, t: &StageTask) -> bool {
        (self.options.is_empty() || self.options.contains(&t.task_option_id))
            && self.after.is_none_or(|a| t.deadline_ms >= a)
            && self.before.is_none_or(|b| t.deadline_ms <= b)
    }

    fn scope(&self, semester_id: &str) -> String {
        let options = format!("{:?}", self.options);
        let (after, before) = (format!("{:?}", self.after), format!("{:?}", self.before));
        let filter = paging::fingerprint(&[&options, &after, &before]);
        format!("{semester_id}/{filter}")
    }
}

fn stage_tasks(shared: &Shared, query: &Query, body: &Value) -> Result<Value, ApiError> {
    let allowed = ["open_id", "union_id", "user_id", "people_admin_id"];
    check_user_id_type(query, &allowed, perf_error)?;
    let semester_id = body
        .get("semester_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let semester_id = semester_id.ok_or_else(perf_error)?;
    let filter = StageFilter::parse(body)?;
    let size = page_size(body_int(body, "page_size")?, 20, 50).map_err(|_| perf_error())?;
    let scope = filter.scope(semester_id);
    let token = body.get("page_token").and_then(Value::as_str);
    let after = resume_after(Endpoint::StageTasks, &scope, token, perf_error)?;
    let tenant = lock(&shared.tenant);
    let users = stage_groups(&tenant.stage_tasks, semester_id, &filter);
    let page = paging::page(
        users,
        |(u, _)| u.to_string(),
        after,
        size,
        |(u, _)| u.to_string(),
    );
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|(user, tasks)| wire::stage_user(user, &tasks))
        .map(|mut item| {
            // `user_id` needs a field scope when user ids are asked for.
            if !shared.config.grants_user_id_scope
                && param(query, "user_id_type") == Some("user_id")
            {
                item.as_object_mut().map(|o| o.remove("user_id"));
            }
            item
        })
        .collect();
    let mut data = json!({ "items": items });
    if let Some(s) = tenant.semesters.iter().find(|s| s.id == semester_id) {
        data["base"] = wire::semester_base(s);
    }
    let mut answer = success(data);
    let target = if shared.config.stage_tasks_paging_beside_data {
        &mut answer
    } else {
        &mut answer["data"]
    };
    put_paging(target, Endpoint::StageTasks, &scope, page.next_after);
    Ok(answer)
}

/// The matching tasks of a semester grouped by user (sorted), each sorted by stage id.
fn stage_groups<'a>(
    tasks: &'a [StageTask],
    semester_id: &str,
    filter: &StageFilter,
) -> Vec<(&'a str, Vec<&'a StageTask>)> {
    let mut by_user: BTreeMap<&str, Vec<&StageTask>> = BTreeMap::new();
    let matching = tasks.iter().filter(|t| t.semester_id == semester_id);
    for t in matching.filter(|t| filter.matches(t)) {
        by_user.entry(t.user_id.as_str()).or_default().push(t);
    }
    for tasks in by_user.values_mut() {
        tasks.sort_by(|a, b| a.stage_id.cmp(&b.stage_id));
    }
    by_user.into_iter().collect()
}

/// The key a request's page token resumes after; `err` when the token is bad.
fn resume_after(
    endpoint: Endpoint,
    scope: &str,
    token: Option<&str>,
    err: fn() -> ApiError,
) -> Result<Option<String>, ApiError> {
    match token.filter(|t| !t.is_empty()) {
        Some(t) => paging::decode(endpoint, scope, t).map(Some).ok_or_else(err),
        None => Ok(None),
    }
}

fn approval_error() -> ApiError {
    param_error(Some(Endpoint::ApprovalTasks))
}

fn approval_tasks(shared: &Shared, query: &Query) -> Result<Value, ApiError> {
    let user = param(query, "user_id").ok_or_else(approval_error)?;
    let topic = param(query, "topic")
        .filter(|t| TOPICS.contains(t))
        .ok_or_else(approval_error)?;
    let size = opt_int(param(query, "page_size")).map_err(|()| approval_error())?;
    let size = page_size(size, 100, 200).map_err(|_| approval_error())?;
    let scope = serde_json::to_string(&[user, topic]).expect("strings serialize");
    let token = param(query, "page_token");
    let after = resume_after(Endpoint::ApprovalTasks, &scope, token, approval_error)?;
    let tenant = lock(&shared.tenant);
    let mut tasks: Vec<&ApprovalTask> = tenant
        .approval_tasks
        .iter()
        .filter(|t| t.user_id == user && t.topic == topic)
        .collect();
    if !tenant.users.iter().any(|u| u == user) {
        return Err(approval_error()); // an unknown or departed user is a bad parameter
    }
    tasks.sort_by(|a, b| a.task_id.cmp(&b.task_id));
    // The API counts and lists at most `approval_list_cap` tasks of one user and topic.
    let cap = shared.config.approval_list_cap;
    let total = tasks.len();
    tasks.truncate(cap);
    let page = paging::page(
        tasks,
        |t| t.task_id.clone(),
        after,
        size,
        |t| t.task_id.clone(),
    );
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|t| {
            corrupted(
                shared,
                Endpoint::ApprovalTasks,
                &t.task_id,
                wire::approval(t),
            )
        })
        .collect();
    let mut data = json!({ "tasks": items });
    put_paging(&mut data, Endpoint::ApprovalTasks, &scope, page.next_after);
    if token.is_none() {
        data["count"] = json!({ "total": total.min(cap), "has_more": total > cap });
    }
    Ok(success(data))
}

fn tasks(shared: &Shared, query: &Query) -> Result<Value, ApiError> {
    let bad_size = || param_error(Some(Endpoint::Tasks));
    let size = opt_int(param(query, "page_size")).map_err(|()| bad_size())?;
    let size = page_size(size, 50, 100).map_err(|too_big| {
        if too_big {
            ApiError::new(400, 1470421, "page_size exceed 100")
        } else {
            bad_size()
        }
    })?;
    // Values that are not integers (the document's example sends "false") are ignored.
    let start = param(query, "start_create_time").and_then(|v| v.parse::<i64>().ok());
    let end = param(query, "end_create_time").and_then(|v| v.parse::<i64>().ok());
    let completed = match param(query, "task_completed") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let filter = [
        format!("{start:?}"),
        format!("{end:?}"),
        format!("{completed:?}"),
    ];
    let scope = paging::fingerprint(&filter.each_ref().map(String::as_str));
    let after = match param(query, "page_token") {
        Some(t) => Some(task_key(&scope, t).ok_or_else(|| bad_page_token(Some(Endpoint::Tasks)))?),
        None => None,
    };
    let mut tenant = lock(&shared.tenant);
    // Kept in page order, so a page costs its own size, not the tenant's (the benchmark's
    // tenants are large and their pages are asked for at 30 times Feishu's rate).
    let order = |a: &Task, b: &Task| (a.create_time_s, &a.id).cmp(&(b.create_time_s, &b.id));
    if !tenant.tasks.is_sorted_by(|a, b| order(a, b).is_le()) {
        tenant.tasks.sort_by(order);
    }
    let first = after.as_ref().map_or(0, |(time, id)| {
        tenant
            .tasks
            .partition_point(|t| (t.create_time_s, t.id.as_str()) <= (*time, id.as_str()))
    });
    let items: Vec<&Task> = tenant.tasks[first..]
        .iter()
        .filter(|t| start.is_none_or(|s| t.create_time_s >= s))
        .filter(|t| end.is_none_or(|e| t.create_time_s <= e))
        .filter(|t| completed.is_none_or(|c| (t.complete_time_s != 0) == c))
        .take(size + 1)
        .collect();
    let key = |t: &&Task| (t.create_time_s, t.id.clone());
    let render = |t: &&Task| format!("{}:{}", t.create_time_s, t.id);
    let page = paging::page(items, key, None, size, render);
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|t| corrupted(shared, Endpoint::Tasks, &t.id, wire::task(t)))
        .collect();
    let mut data = json!({ "items": items });
    put_paging(&mut data, Endpoint::Tasks, &scope, page.next_after);
    Ok(success(data))
}

/// The `(create_time_s, id)` key inside a task-v1 page token.
fn task_key(scope: &str, token: &str) -> Option<(i64, String)> {
    let key = paging::decode(Endpoint::Tasks, scope, token)?;
    let (time, id) = key.split_once(':')?;
    Some((time.parse().ok()?, id.to_string()))
}
