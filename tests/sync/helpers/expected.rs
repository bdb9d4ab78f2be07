//! The simulator's tenant rendered as the rows feishu-sync must hold, next to the SQL
//! that renders the database's current rows the same way.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use feishu_sim::Tenant;

/// A table's name, the SQL rendering its current rows, and the expected rows (sorted).
pub type TableCheck = (&'static str, &'static str, Vec<Value>);

const SEMESTERS_SQL: &str =
    "SELECT jsonb_build_object('id', id, 'year', year, 'type_group', type_group,
    'type', type, 'name_zh', name_zh, 'name_en', name_en, 'progress', progress,
    'start_time', (extract(epoch FROM start_time) * 1000)::bigint,
    'end_time', (extract(epoch FROM end_time) * 1000)::bigint,
    'create_time', (extract(epoch FROM create_time) * 1000)::bigint,
    'modify_time', (extract(epoch FROM modify_time) * 1000)::bigint,
    'create_user_id', create_user_id, 'modify_user_id', modify_user_id)
    FROM feishu.semesters WHERE deleted_at IS NULL";

const ACTIVITIES_SQL: &str = "SELECT jsonb_build_object('id', id, 'semester_id', semester_id,
    'name_zh', name_zh, 'name_en', name_en, 'description_zh', description_zh,
    'description_en', description_en, 'mode', mode, 'progress', progress,
    'create_time', (extract(epoch FROM create_time) * 1000)::bigint,
    'modify_time', (extract(epoch FROM modify_time) * 1000)::bigint,
    'create_user_id', create_user_id, 'modify_user_id', modify_user_id)
    FROM feishu.activities WHERE deleted_at IS NULL";

const STAGE_TASKS_SQL: &str =
    "SELECT jsonb_build_object('semester_id', semester_id, 'user_id', user_id,
    'stage_id', stage_id, 'name_zh', name_zh, 'name_en', name_en,
    'deadline', (extract(epoch FROM deadline) * 1000)::bigint, 'need_todo_count', need_todo_count,
    'jump_url', jump_url, 'stage_task_status', stage_task_status, 'task_option_id', task_option_id)
    FROM feishu.stage_tasks WHERE deleted_at IS NULL";

/// Counts are refreshed by whole-semester reads only, so they are checked apart.
pub const STAGE_TASK_COUNTS_SQL: &str = "SELECT jsonb_build_object('semester_id', semester_id,
    'user_id', user_id, 'task_option_id', task_option_id, 'stage_num', stage_num)
    FROM feishu.stage_task_counts WHERE deleted_at IS NULL";

const APPROVAL_TASKS_SQL: &str = "SELECT jsonb_build_object('user_id', user_id, 'topic', topic,
    'task_id', task_id, 'title', title, 'url_helpdesk', url_helpdesk, 'url_mobile', url_mobile,
    'url_pc', url_pc, 'process_external_id', process_external_id, 'task_external_id', task_external_id,
    'status', status, 'process_status', process_status, 'definition_code', definition_code,
    'initiators', to_jsonb(initiators), 'initiator_names', to_jsonb(initiator_names),
    'process_id', process_id, 'process_code', process_code, 'definition_group_id', definition_group_id,
    'definition_group_name', definition_group_name, 'definition_id', definition_id,
    'definition_name', definition_name)
    FROM feishu.approval_tasks WHERE deleted_at IS NULL";

const TASKS_SQL: &str = "SELECT jsonb_build_object('id', id, 'summary', summary,
    'description', description, 'creator_id', creator_id,
    'create_time', extract(epoch FROM create_time)::bigint,
    'update_time', extract(epoch FROM update_time)::bigint,
    'complete_time', extract(epoch FROM complete_time)::bigint,
    'due_time', extract(epoch FROM due_time)::bigint, 'due_timezone', due_timezone,
    'due_is_all_day', due_is_all_day, 'can_edit', can_edit, 'source', source,
    'repeat_rule', repeat_rule, 'extra', extra, 'custom', custom,
    'origin_platform_zh', origin_platform_zh, 'origin_platform_en', origin_platform_en,
    'origin_href_title', origin_href_title, 'origin_href_url', origin_href_url,
    'collaborators', (SELECT coalesce(jsonb_agg(user_id ORDER BY user_id), '[]')
                        FROM feishu.task_collaborators c WHERE c.task_id = t.id),
    'followers', (SELECT coalesce(jsonb_agg(user_id ORDER BY user_id), '[]')
                    FROM feishu.task_followers f WHERE f.task_id = t.id))
    FROM feishu.tasks t WHERE deleted_at IS NULL";

/// Every table check for `tenant`, with approvals of `approval_users` only.
pub fn tables(tenant: &Tenant, approval_users: &[String]) -> Vec<TableCheck> {
    vec![
        ("semesters", SEMESTERS_SQL, sorted(semesters(tenant))),
        ("activities", ACTIVITIES_SQL, sorted(activities(tenant))),
        ("stage_tasks", STAGE_TASKS_SQL, sorted(stage_tasks(tenant))),
        (
            "approval_tasks",
            APPROVAL_TASKS_SQL,
            sorted(approval_tasks(tenant, approval_users)),
        ),
        ("tasks", TASKS_SQL, sorted(tasks(tenant))),
        ("departments", DEPARTMENTS_SQL, sorted(departments(tenant))),
        ("users", USERS_SQL, sorted(users(tenant))),
        (
            "user_departments",
            USER_DEPARTMENTS_SQL,
            sorted(user_departments(tenant)),
        ),
    ]
}

const DEPARTMENTS_SQL: &str = "SELECT jsonb_build_object('id', id, 'department_id', department_id,
    'parent_id', parent_id, 'name', name, 'name_en', name_en, 'leader_user_id', leader_user_id)
    FROM feishu.departments WHERE deleted_at IS NULL";

const USERS_SQL: &str = "SELECT jsonb_build_object('id', id, 'union_id', union_id, 'name', name,
    'email', email, 'employee_type', employee_type, 'leader_user_id', leader_user_id,
    'join_time', extract(epoch FROM join_time)::bigint, 'is_frozen', is_frozen)
    FROM feishu.users WHERE deleted_at IS NULL";

const USER_DEPARTMENTS_SQL: &str =
    "SELECT jsonb_build_object('user_id', user_id, 'department_id', department_id,
    'is_primary', is_primary)
    FROM feishu.user_departments";

/// The departments the app may read.
fn departments(t: &Tenant) -> Vec<Value> {
    t.departments
        .iter()
        .map(|d| {
            json!({"id": d.open_id, "department_id": d.custom_id, "parent_id": d.parent,
                "name": d.name, "name_en": d.en_name, "leader_user_id": d.leader})
        })
        .collect()
}

/// People who have not resigned.
fn users(t: &Tenant) -> Vec<Value> {
    t.people
        .iter()
        .filter(|p| !p.is_resigned)
        .map(|p| {
            json!({"id": p.open_id, "union_id": p.union_id, "name": p.name, "email": p.email,
                "employee_type": p.employee_type, "leader_user_id": p.leader,
                "join_time": p.join_time_s, "is_frozen": p.is_frozen})
        })
        .collect()
}

fn user_departments(t: &Tenant) -> Vec<Value> {
    t.people
        .iter()
        .filter(|p| !p.is_resigned)
        .flat_map(|p| {
            p.departments.iter().enumerate().map(
                |(i, d)| json!({"user_id": p.open_id, "department_id": d, "is_primary": i == 0}),
            )
        })
        .collect()
}

pub fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|v| v.to_string());
    rows
}

fn semesters(t: &Tenant) -> Vec<Value> {
    t.semesters
        .iter()
        .map(|s| {
            json!({"id": s.id, "year": s.year, "type_group": s.type_group, "type": s.r#type,
                "name_zh": s.name.zh, "name_en": s.name.en, "progress": s.progress,
                "start_time": s.start_time_ms, "end_time": s.end_time_ms,
                "create_time": s.create_time_ms, "modify_time": s.modify_time_ms,
                "create_user_id": s.create_user_id, "modify_user_id": s.modify_user_id})
        })
        .collect()
}

fn activities(t: &Tenant) -> Vec<Value> {
    t.activities
        .iter()
        .map(|a| {
            json!({"id": a.id, "semester_id": a.semester_id, "name_zh": a.name.zh, "name_en": a.name.en,
                "description_zh": a.description.zh, "description_en": a.description.en,
                "mode": a.mode, "progress": a.progress, "create_time": a.create_time_ms,
                "modify_time": a.modify_time_ms, "create_user_id": a.create_user_id,
                "modify_user_id": a.modify_user_id})
        })
        .collect()
}

fn stage_tasks(t: &Tenant) -> Vec<Value> {
    t.stage_tasks
        .iter()
        .map(|s| {
            json!({"semester_id": s.semester_id, "user_id": s.user_id, "stage_id": s.stage_id,
                "name_zh": s.name.zh, "name_en": s.name.en, "deadline": s.deadline_ms,
                "need_todo_count": s.need_todo_count, "jump_url": s.jump_url,
                "stage_task_status": s.stage_task_status, "task_option_id": s.task_option_id})
        })
        .collect()
}

/// Per semester and user with at least one task: how many tasks each category holds.
pub fn stage_task_counts(t: &Tenant) -> Vec<Value> {
    let users: BTreeSet<(&str, &str)> = t
        .stage_tasks
        .iter()
        .map(|s| (s.semester_id.as_str(), s.user_id.as_str()))
        .collect();
    let mut rows = Vec::new();
    for (semester_id, user_id) in users {
        for option in 1..=3 {
            let n = t
                .stage_tasks
                .iter()
                .filter(|s| {
                    s.semester_id == semester_id
                        && s.user_id == user_id
                        && s.task_option_id == option
                })
                .count();
            rows.push(json!({"semester_id": semester_id, "user_id": user_id,
                "task_option_id": option, "stage_num": n}));
        }
    }
    rows
}

fn approval_tasks(t: &Tenant, users: &[String]) -> Vec<Value> {
    t.approval_tasks
        .iter()
        .filter(|a| users.contains(&a.user_id))
        .map(|a| {
            json!({"user_id": a.user_id, "topic": a.topic, "task_id": a.task_id, "title": a.title,
                "url_helpdesk": a.url_helpdesk, "url_mobile": a.url_mobile, "url_pc": a.url_pc,
                "process_external_id": a.process_external_id, "task_external_id": a.task_external_id,
                "status": a.status, "process_status": a.process_status,
                "definition_code": a.definition_code, "initiators": a.initiators,
                "initiator_names": a.initiator_names, "process_id": a.process_id,
                "process_code": a.process_code, "definition_group_id": a.definition_group_id,
                "definition_group_name": a.definition_group_name, "definition_id": a.definition_id,
                "definition_name": a.definition_name})
        })
        .collect()
}

fn tasks(t: &Tenant) -> Vec<Value> {
    let set = |ids: &[String]| {
        ids.iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    t.tasks
        .iter()
        .map(|k| {
            let due = k.due.as_ref();
            let origin = k.origin.as_ref();
            json!({"id": k.id, "summary": k.summary, "description": k.description,
                "creator_id": k.creator_id, "create_time": k.create_time_s, "update_time": k.update_time_s,
                "complete_time": (k.complete_time_s != 0).then_some(k.complete_time_s),
                "due_time": due.map(|d| d.time_s), "due_timezone": due.map(|d| &d.timezone),
                "due_is_all_day": due.map(|d| d.is_all_day), "can_edit": k.can_edit, "source": k.source,
                "repeat_rule": k.repeat_rule, "extra": k.extra, "custom": k.custom,
                "origin_platform_zh": origin.map(|o| &o.platform.zh),
                "origin_platform_en": origin.map(|o| &o.platform.en),
                "origin_href_title": origin.map(|o| &o.href_title),
                "origin_href_url": origin.map(|o| &o.href_url),
                "collaborators": set(&k.collaborators), "followers": set(&k.followers)})
        })
        .collect()
}
