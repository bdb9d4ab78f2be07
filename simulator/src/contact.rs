//! The directory endpoints (contact v3): child departments, a department's direct members,
//! the app's contact range, one department, one user. A partial contact range refuses the
//! root department `"0"` and everything outside it, as the platform does (40004 for a
//! department, 41050 for a user).

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::contact_tree::{below, department_in_range, user_in_range};
use super::paging;
use super::params::{
    ApiError, Query, check_user_id_type, corrupted, opt_int, page_size, param, param_error,
    put_paging, success,
};
use super::people::{Department, Person};
use super::state::{Shared, lock};
use super::tenant::Tenant;
use super::wire;
use feishu_endpoints::Endpoint;

const NO_DEPT_AUTHORITY: (u16, i64, &str) = (403, 40004, "no dept authority error");
const NO_USER_AUTHORITY: (u16, i64, &str) = (400, 41050, "no user authority error");

fn refused((status, code, msg): (u16, i64, &'static str)) -> ApiError {
    ApiError::new(status, code, msg)
}

/// `GET /contact/v3/departments/{department_id}/children`.
pub(crate) fn children(shared: &Shared, parent: &str, query: &Query) -> Result<Value, ApiError> {
    check_ids(query, bad_departments)?;
    let size = list_page_size(query, Endpoint::Departments)?;
    let recursive = param(query, "fetch_child") == Some("true");
    let tenant = lock(&shared.tenant);
    if !department_in_range(&tenant, parent) {
        return Err(refused(NO_DEPT_AUTHORITY));
    }
    let mut found: Vec<&Department> = below(&tenant, parent, recursive);
    if recursive
        && shared
            .config
            .recursion_limit
            .is_some_and(|limit| found.len() > limit)
    {
        return Err(ApiError::new(400, 43010, "big dept forbid recursion"));
    }
    found.sort_by(|a, b| a.open_id.cmp(&b.open_id));
    let scope = paging::fingerprint(&[parent, if recursive { "r" } else { "" }]);
    let after = resume(query, Endpoint::Departments, &scope)?;
    let page = paging::page(
        found,
        |d| d.open_id.clone(),
        after,
        size,
        |d| d.open_id.clone(),
    );
    let ids = IdKinds::of(&tenant, query);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|d| department_json(&tenant, d, &ids))
        .collect();
    let mut data = json!({ "items": items });
    put_paging(&mut data, Endpoint::Departments, &scope, page.next_after);
    Ok(success(data))
}

/// `GET /contact/v3/users/find_by_department`: direct members, resigned people excluded.
pub(crate) fn find_by_department(shared: &Shared, query: &Query) -> Result<Value, ApiError> {
    check_ids(query, bad_users)?;
    let size = list_page_size(query, Endpoint::Users)?;
    let department = param(query, "department_id").ok_or_else(bad_users)?;
    let tenant = lock(&shared.tenant);
    if !department_in_range(&tenant, department) {
        return Err(refused(NO_DEPT_AUTHORITY));
    }
    let mut members: Vec<&Person> = tenant
        .people
        .iter()
        .filter(|p| !p.is_resigned && p.departments.iter().any(|d| d == department))
        .collect();
    members.sort_by(|a, b| a.open_id.cmp(&b.open_id));
    let scope = paging::fingerprint(&[department]);
    let after = resume(query, Endpoint::Users, &scope)?;
    let page = paging::page(
        members,
        |p| p.open_id.clone(),
        after,
        size,
        |p| p.open_id.clone(),
    );
    let ids = IdKinds::of(&tenant, query);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|p| {
            corrupted(
                shared,
                Endpoint::Users,
                &p.open_id,
                scoped_user_json(shared, p, &ids),
            )
        })
        .collect();
    let mut data = json!({ "items": items });
    put_paging(&mut data, Endpoint::Users, &scope, page.next_after);
    Ok(success(data))
}

/// `GET /contact/v3/scopes`: users first, then departments. With the whole directory in
/// range: the top-level departments and the people directly at the root.
pub(crate) fn scopes(shared: &Shared, query: &Query) -> Result<Value, ApiError> {
    let bad = bad_departments;
    check_ids(query, bad)?;
    let size = opt_int(param(query, "page_size")).map_err(|()| bad())?;
    let size =
        page_size(size, 50, 100).map_err(|_| ApiError::new(400, 40011, "page size is invalid"))?;
    let tenant = lock(&shared.tenant);
    let ids = IdKinds::of(&tenant, query);
    let (users, departments, groups): (Vec<String>, Vec<String>, Vec<String>) =
        match &tenant.contact_range {
            Some(range) => (
                range.users.clone(),
                range.departments.clone(),
                range.groups.iter().map(|g| g.id.clone()).collect(),
            ),
            None => (
                tenant
                    .people
                    .iter()
                    .filter(|p| !p.is_resigned && p.departments.iter().any(|d| d == "0"))
                    .map(|p| p.open_id.clone())
                    .collect(),
                below(&tenant, "0", false)
                    .iter()
                    .map(|d| d.open_id.clone())
                    .collect(),
                Vec::new(),
            ),
        };
    // Users, then departments, then groups, paged as one list.
    let entries: Vec<(usize, u8, String)> = users
        .into_iter()
        .map(|u| (0, ids.user(&u)))
        .chain(departments.into_iter().map(|d| (1, d)))
        .chain(groups.into_iter().map(|g| (2, g)))
        .enumerate()
        .map(|(i, (kind, id))| (i, kind, id))
        .collect();
    let scope = paging::fingerprint(&["scopes"]);
    let after = resume(query, Endpoint::Departments, &scope)?
        .map(|k| k.parse::<usize>().map_err(|_| bad()))
        .transpose()?;
    let page = paging::page(entries, |e| e.0, after, size, |e| e.0.to_string());
    let pick = |kind: u8| -> Vec<&str> {
        page.items
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| e.2.as_str())
            .collect()
    };
    let mut data = json!({
        "user_ids": pick(0),
        "department_ids": pick(1),
        "group_ids": pick(2),
    });
    put_paging(
        &mut data,
        Endpoint::Departments,
        &scope,
        page.next_after.clone(),
    );
    Ok(success(data))
}

/// `GET /contact/v3/departments/{department_id}`.
pub(crate) fn department(shared: &Shared, id: &str, query: &Query) -> Result<Value, ApiError> {
    check_ids(query, bad_departments)?;
    let tenant = lock(&shared.tenant);
    let found = tenant.departments.iter().find(|d| d.open_id == id);
    match found {
        Some(d) if department_in_range(&tenant, id) => {
            let ids = IdKinds::of(&tenant, query);
            Ok(success(
                json!({ "department": department_json(&tenant, d, &ids) }),
            ))
        }
        _ => Err(refused(NO_DEPT_AUTHORITY)),
    }
}

/// `GET /contact/v3/users/{user_id}`, the id in the request's `user_id_type`.
pub(crate) fn user(shared: &Shared, id: &str, query: &Query) -> Result<Value, ApiError> {
    check_ids(query, bad_users)?;
    let tenant = lock(&shared.tenant);
    let ids = IdKinds::of(&tenant, query);
    let person = tenant.people.iter().find(|p| ids.user(&p.open_id) == id);
    let Some(person) = person.filter(|p| user_in_range(&tenant, p)) else {
        return Err(refused(NO_USER_AUTHORITY));
    };
    let user = corrupted(
        shared,
        Endpoint::Users,
        &person.open_id,
        scoped_user_json(shared, person, &ids),
    );
    Ok(success(json!({ "user": user })))
}

/// `GET /contact/v3/group/{group_id}/member/simplelist`: a granted group's user members,
/// in `member_id_type`, 50 a page by default and at most 100. Only user members are
/// simulated; a group outside the range is refused.
pub(crate) fn group_members(shared: &Shared, id: &str, query: &Query) -> Result<Value, ApiError> {
    let bad = || ApiError::new(400, 99992402, "field validation failed");
    if param(query, "member_type").is_some_and(|t| t != "user") {
        return Err(bad());
    }
    let size = opt_int(param(query, "page_size")).map_err(|()| bad())?;
    let size = page_size(size, 50, 100).map_err(|_| bad())?;
    let tenant = lock(&shared.tenant);
    let group = tenant
        .contact_range
        .as_ref()
        .and_then(|r| r.groups.iter().find(|g| g.id == id && !g.refused))
        .ok_or_else(bad)?;
    let mut kinds = query.to_vec();
    kinds.retain(|(k, _)| k != "user_id_type");
    if let Some(kind) = param(query, "member_id_type") {
        kinds.push(("user_id_type".to_string(), kind.to_string()));
    }
    let ids = IdKinds::of(&tenant, &kinds);
    let mut members: Vec<String> = group.members.iter().map(|m| ids.user(m)).collect();
    members.sort();
    let scope = paging::fingerprint(&["group", id]);
    let after = resume(query, Endpoint::Users, &scope)?;
    let page = paging::page(members, Clone::clone, after, size, Clone::clone);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|m| json!({ "member_id": m, "member_type": "user" }))
        .collect();
    let mut data = json!({ "memberlist": items });
    put_paging(&mut data, Endpoint::Users, &scope, page.next_after);
    Ok(success(data))
}

/// Only open department ids are simulated; user ids of every kind.
fn check_ids(query: &Query, bad: fn() -> ApiError) -> Result<(), ApiError> {
    if param(query, "department_id_type").is_some_and(|t| t != "open_department_id") {
        return Err(bad());
    }
    check_user_id_type(query, &["open_id", "union_id", "user_id"], bad)
}

fn bad_departments() -> ApiError {
    param_error(Some(Endpoint::Departments))
}

fn bad_users() -> ApiError {
    param_error(Some(Endpoint::Users))
}

/// A list's page size: 10 by default, at most 50 (40011 above).
fn list_page_size(query: &Query, endpoint: Endpoint) -> Result<usize, ApiError> {
    let size = opt_int(param(query, "page_size")).map_err(|()| param_error(Some(endpoint)))?;
    page_size(size, 10, 50).map_err(|_| ApiError::new(400, 40011, "page size is invalid"))
}

/// The key a request's page token resumes after (40012 for a bad token).
fn resume(query: &Query, endpoint: Endpoint, scope: &str) -> Result<Option<String>, ApiError> {
    match param(query, "page_token") {
        None => Ok(None),
        Some(token) => paging::decode(endpoint, scope, token)
            .map(Some)
            .ok_or_else(|| ApiError::new(400, 40012, "page token is invalid error")),
    }
}

/// Renders open ids in the request's `user_id_type`.
struct IdKinds {
    kind: String,
    by_open_id: HashMap<String, (String, String)>,
}

impl IdKinds {
    fn of(tenant: &Tenant, query: &Query) -> Self {
        IdKinds {
            kind: param(query, "user_id_type")
                .unwrap_or("open_id")
                .to_string(),
            by_open_id: tenant
                .people
                .iter()
                .map(|p| (p.open_id.clone(), (p.union_id.clone(), p.user_id.clone())))
                .collect(),
        }
    }

    fn user(&self, open_id: &str) -> String {
        match (self.kind.as_str(), self.by_open_id.get(open_id)) {
            ("union_id", Some((union_id, _))) => union_id.clone(),
            ("user_id", Some((_, user_id))) => user_id.clone(),
            _ => open_id.to_string(),
        }
    }
}

fn department_json(tenant: &Tenant, d: &Department, ids: &IdKinds) -> Value {
    let mut inside: HashSet<&str> = below(tenant, &d.open_id, true)
        .iter()
        .map(|d| d.open_id.as_str())
        .collect();
    inside.insert(&d.open_id);
    let member_count = tenant
        .people
        .iter()
        .filter(|p| !p.is_resigned && p.departments.iter().any(|m| inside.contains(m.as_str())))
        .count();
    // People whose primary department (their first) is here or below.
    let primary_member_count = tenant
        .people
        .iter()
        .filter(|p| {
            !p.is_resigned
                && p.departments
                    .first()
                    .is_some_and(|m| inside.contains(m.as_str()))
        })
        .count();
    let leader = d.leader.as_deref().map(|l| ids.user(l));
    json!({
        "name": d.name,
        "i18n_name": { "zh_cn": d.name, "ja_jp": "", "en_us": d.en_name },
        "parent_department_id": d.parent,
        "department_id": d.custom_id,
        "open_department_id": d.open_id,
        "leader_user_id": leader,
        "chat_id": "",
        "order": "100",
        "unit_ids": [],
        "member_count": member_count,
        "primary_member_count": primary_member_count,
        "status": { "is_deleted": false },
        "leaders": leader.iter().map(|l| json!({ "leaderType": 1, "leaderID": l })).collect::<Vec<_>>(),
    })
}

/// A user record without the fields the app has no field scope for.
fn scoped_user_json(shared: &Shared, p: &Person, ids: &IdKinds) -> Value {
    let mut user = user_json(p, ids);
    if let Some(fields) = user.as_object_mut() {
        for field in &shared.config.withheld_user_fields {
            fields.remove(*field);
        }
    }
    user
}

fn user_json(p: &Person, ids: &IdKinds) -> Value {
    wire::user(p, p.leader.as_deref().map(|l| ids.user(l)))
}
