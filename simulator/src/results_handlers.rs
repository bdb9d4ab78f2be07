//! The performance-result endpoints: reviewees (paged in the query string), review data
//! (10 semesters and 10 reviewees at most, `stage_types` required for any stage,
//! `updated_later_than` in milliseconds), metric details (one semester, 50 reviewees at
//! most), indicators (paged in the query string) and metric fields. A request over a cap
//! answers the performance API's "param is invalid".

use serde_json::{Value, json};

use super::paging;
use super::params::{
    ApiError, Query, check_user_id_type, corrupted, opt_int, page_size, param, param_error,
    put_paging, success,
};
use super::state::{Shared, lock};
use super::tenant::{I18n, Metric, StageResult, Tenant};
use feishu_endpoints::{
    Endpoint, METRIC_DETAILS_MAX_REVIEWEES, REVIEW_DATA_MAX_REVIEWEES, REVIEW_DATA_MAX_SEMESTERS,
};

fn perf_error() -> ApiError {
    param_error(Some(Endpoint::Reviewees))
}

const USER_ID_TYPES: [&str; 4] = ["open_id", "union_id", "user_id", "people_admin_id"];

fn i18n(t: &I18n) -> Value {
    json!({ "zh_cn": t.zh, "en_us": t.en })
}

/// A person as the performance v2 answers carry one.
fn person(id: &str) -> Value {
    json!({ "open_id": id, "user_id": id })
}

/// The strings of `body[key]` (empty when absent); `Err` when not a list of strings.
fn strings(body: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(perf_error))
            .collect(),
        Some(_) => Err(perf_error()),
    }
}

/// The page size and resume key of a request paged in the query string.
fn query_paging(
    query: &Query,
    endpoint: Endpoint,
    scope: &str,
) -> Result<(usize, Option<String>), ApiError> {
    let size = opt_int(param(query, "page_size")).map_err(|()| perf_error())?;
    let size = page_size(size, 20, 50).map_err(|_| perf_error())?;
    let after = match param(query, "page_token") {
        Some(t) => Some(paging::decode(endpoint, scope, t).ok_or_else(perf_error)?),
        None => None,
    };
    Ok((size, after))
}

pub(crate) fn reviewees(shared: &Shared, query: &Query, body: &Value) -> Result<Value, ApiError> {
    check_user_id_type(query, &USER_ID_TYPES, perf_error)?;
    let semester_id = body
        .get("semester_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let semester_id = semester_id.ok_or_else(perf_error)?;
    let activity_ids = strings(body, "activity_ids")?;
    let scope = format!(
        "{semester_id}/{}",
        paging::fingerprint(&[&activity_ids.join(",")])
    );
    let (size, after) = query_paging(query, Endpoint::Reviewees, &scope)?;
    let tenant = lock(&shared.tenant);
    let mut matching: Vec<_> = tenant
        .reviewees
        .iter()
        .filter(|r| r.semester_id == semester_id)
        .filter(|r| {
            activity_ids.is_empty() || r.activity_ids.iter().any(|a| activity_ids.contains(a))
        })
        .collect();
    matching.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let page = paging::page(
        matching,
        |r| r.user_id.clone(),
        after,
        size,
        |r| r.user_id.clone(),
    );
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|r| {
            let record = json!({
                "reviewee_user_id": person(&r.user_id),
                "activity_ids": r.activity_ids,
                "reviewprofile_url": format!("https://performance.feishu.cn/perf/profile/{}/{}", r.semester_id, r.user_id),
            });
            corrupted(shared, Endpoint::Reviewees, &r.user_id, record)
        })
        .collect();
    let mut data = json!({ "semester_id": semester_id, "reviewees": items });
    put_paging(&mut data, Endpoint::Reviewees, &scope, page.next_after);
    Ok(success(data))
}

pub(crate) fn review_data(shared: &Shared, query: &Query, body: &Value) -> Result<Value, ApiError> {
    check_user_id_type(query, &USER_ID_TYPES, perf_error)?;
    let semesters = strings(body, "semester_ids")?;
    let users = strings(body, "reviewee_user_ids")?;
    let counts_ok = |list: &[String], cap| !list.is_empty() && list.len() <= cap;
    if !counts_ok(&semesters, REVIEW_DATA_MAX_SEMESTERS)
        || !counts_ok(&users, REVIEW_DATA_MAX_REVIEWEES)
    {
        return Err(perf_error());
    }
    let stage_types = strings(body, "stage_types")?;
    let roles = strings(body, "review_stage_roles")?;
    let later_than = match body.get("updated_later_than") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().parse::<i64>().map_err(|_| perf_error())?),
        Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(perf_error)?),
        Some(_) => return Err(perf_error()),
    };
    let tenant = lock(&shared.tenant);
    let mut datas = Vec::new();
    for semester in &semesters {
        for user in &users {
            if !tenant
                .reviewees
                .iter()
                .any(|r| &r.semester_id == semester && &r.user_id == user)
            {
                continue;
            }
            let results: Vec<&StageResult> = tenant
                .reviews
                .iter()
                .filter(|r| &r.semester_id == semester && &r.user_id == user)
                .filter(|r| stage_types.contains(&r.stage_type))
                .filter(|r| roles.is_empty() || r.stage_type != "review" || roles.contains(&r.role))
                .filter(|r| later_than.is_none_or(|t| r.submit_time_ms > t))
                .collect();
            if later_than.is_some() && results.is_empty() {
                continue;
            }
            datas.push(profile(&tenant, semester, user, &results));
        }
    }
    Ok(success(json!({ "datas": datas })))
}

/// One reviewee's profile: a stage per result, one record with a level item and a
/// comment item.
fn profile(tenant: &Tenant, semester: &str, user: &str, results: &[&StageResult]) -> Value {
    let activity = tenant
        .reviewees
        .iter()
        .find(|r| r.semester_id == semester && r.user_id == user)
        .and_then(|r| r.activity_ids.first().cloned());
    let stages: Vec<Value> = results
        .iter()
        .map(|r| {
            let submit = r.submit_time_ms.to_string();
            json!({
                "stage_id": r.stage_id,
                "stage_type": r.stage_type,
                "review_stage_roles": [r.role],
                "review_stage_role": r.role,
                "template_id": "7300000000000000001",
                "records": [{
                    "record_id": r.record_id,
                    "progress": 3,
                    "units": [{
                        "unit_id": "7300000000000000101",
                        "is_unknown": false,
                        "data": [
                            {
                                "field_id": "7300000000000000201",
                                "reviewer_user_id": person(&r.reviewer),
                                "submit_time": submit,
                                "indicator_id": r.indicator_id,
                                "option_id": r.option_id,
                                "score": format!("{:.1}", r.score),
                                "is_principal_review_item": true
                            },
                            {
                                "field_id": "7300000000000000202",
                                "reviewer_user_id": person(&r.reviewer),
                                "submit_time": submit,
                                "text": r.comment,
                                "is_principal_review_item": false
                            }
                        ]
                    }]
                }]
            })
        })
        .collect();
    json!({
        "user_id": person(user),
        "semester_id": semester,
        "activity_id": activity,
        "review_template_id": "7300000000000000000",
        "stages": stages,
    })
}

pub(crate) fn metric_details(
    shared: &Shared,
    query: &Query,
    body: &Value,
) -> Result<Value, ApiError> {
    check_user_id_type(query, &USER_ID_TYPES, perf_error)?;
    let semester_id = body
        .get("semester_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let semester_id = semester_id.ok_or_else(perf_error)?;
    let users = strings(body, "reviewee_user_ids")?;
    if users.is_empty() || users.len() > METRIC_DETAILS_MAX_REVIEWEES {
        return Err(perf_error());
    }
    let tenant = lock(&shared.tenant);
    let (target, actual) = match tenant.metric_fields.as_slice() {
        [t, a, ..] => (t.field_id.clone(), a.field_id.clone()),
        _ => (String::new(), String::new()),
    };
    let entries: Vec<Value> = tenant
        .metrics
        .iter()
        .filter(|m| m.semester_id == semester_id && users.contains(&m.user_id))
        .map(|m| metric(m, &target, &actual))
        .collect();
    Ok(success(
        json!({ "semester_id": semester_id, "reviewee_metrics": entries }),
    ))
}

fn metric(m: &Metric, target: &str, actual: &str) -> Value {
    json!({
        "reviewee_user_id": person(&m.user_id),
        "metric_template_id": "7310000000000000000",
        "metric_details": {
            "metric_id": m.metric_id,
            "name": m.name,
            "fields": [
                { "field_id": target, "field_value": format!("{}", m.target) },
                { "field_id": actual, "field_value": format!("{}", m.actual) }
            ],
            "dimension_id": m.dimension_id,
            "dimension_name": i18n(&m.dimension_name),
            "dimension_weight": m.weight,
            "add_from": "admin",
            "is_from_library": true
        },
        "reviewee_stage_statuses": [
            { "stage_id": "7310000000000000100", "stage_type": "metric_development", "stage_status": 3 }
        ]
    })
}

pub(crate) fn indicators(shared: &Shared, query: &Query, body: &Value) -> Result<Value, ApiError> {
    let ids = strings(body, "indicator_ids")?;
    if ids.len() > 50 {
        return Err(perf_error());
    }
    let scope = paging::fingerprint(&[&ids.join(",")]);
    let (size, after) = query_paging(query, Endpoint::Indicators, &scope)?;
    let tenant = lock(&shared.tenant);
    let mut matching: Vec<_> = tenant
        .indicators
        .iter()
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .collect();
    matching.sort_by(|a, b| a.id.cmp(&b.id));
    let page = paging::page(matching, |i| i.id.clone(), after, size, |i| i.id.clone());
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|i| {
            let options: Vec<Value> = i
                .options
                .iter()
                .map(|(id, code, name)| json!({ "id": id, "name": i18n(name), "lable": code }))
                .collect();
            json!({ "id": i.id, "name": i18n(&i.name), "type": i.r#type, "options": options })
        })
        .collect();
    let mut data = json!({ "indicators": items });
    put_paging(&mut data, Endpoint::Indicators, &scope, page.next_after);
    Ok(success(data))
}

pub(crate) fn metric_fields(shared: &Shared, body: &Value) -> Result<Value, ApiError> {
    let ids = strings(body, "field_ids")?;
    if ids.len() > 50 {
        return Err(perf_error());
    }
    let tenant = lock(&shared.tenant);
    let items: Vec<Value> = tenant
        .metric_fields
        .iter()
        .filter(|f| ids.is_empty() || ids.contains(&f.field_id))
        .map(|f| json!({ "field_id": f.field_id, "name": i18n(&f.name), "type": f.r#type }))
        .collect();
    Ok(success(json!({ "items": items })))
}
