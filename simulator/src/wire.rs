//! The wire format: model types rendered as the documents' JSON (times as decimal
//! strings, i18n keys per endpoint).

use serde_json::{Value, json};

use super::people::Person;
use super::tenant::{Activity, ApprovalTask, I18n, Semester, StageTask, Task};

/// `{"zh-CN":..,"en-US":..}`, used by semesters and stage tasks.
pub(crate) fn i18n_dash(t: &I18n) -> Value {
    json!({ "zh-CN": t.zh, "en-US": t.en })
}

/// `{"zh_cn":..,"en_us":..}`, used by activities.
pub(crate) fn i18n_snake(t: &I18n) -> Value {
    json!({ "zh_cn": t.zh, "en_us": t.en })
}

pub(crate) fn semester(s: &Semester) -> Value {
    json!({
        "id": s.id,
        "year": s.year,
        "type_group": s.type_group,
        "type": s.r#type,
        "name": i18n_dash(&s.name),
        "progress": s.progress,
        "start_time": s.start_time_ms.to_string(),
        "end_time": s.end_time_ms.to_string(),
        "create_time": s.create_time_ms.to_string(),
        "modify_time": s.modify_time_ms.to_string(),
        "create_user_id": s.create_user_id,
        "modify_user_id": s.modify_user_id,
    })
}

/// The `base` block of a stage-task answer.
pub(crate) fn semester_base(s: &Semester) -> Value {
    json!({
        "semester_id": s.id,
        "semester_name": i18n_dash(&s.name),
        "start_time": s.start_time_ms.to_string(),
        "end_time": s.end_time_ms.to_string(),
    })
}

pub(crate) fn activity(a: &Activity) -> Value {
    json!({
        "id": a.id,
        "name": i18n_snake(&a.name),
        "description": i18n_snake(&a.description),
        "semester_id": a.semester_id,
        "mode": a.mode,
        "progress": a.progress,
        "create_time": a.create_time_ms.to_string(),
        "modify_time": a.modify_time_ms.to_string(),
        "create_user_id": a.create_user_id,
        "modify_user_id": a.modify_user_id,
    })
}

/// One user's item of a stage-task answer, from that user's matching tasks.
pub(crate) fn stage_user(user_id: &str, tasks: &[&StageTask]) -> Value {
    let nums: Vec<Value> = (1..=3)
        .map(|option| {
            let n = tasks.iter().filter(|t| t.task_option_id == option).count();
            json!({ "task_option_id": option, "stage_num": n })
        })
        .collect();
    let infos: Vec<Value> = tasks
        .iter()
        .map(|t| {
            json!({
                "stage_id": t.stage_id,
                "name": i18n_dash(&t.name),
                "deadline": t.deadline_ms.to_string(),
                "need_todo_count": t.need_todo_count,
                "jump_url": t.jump_url,
                "stage_task_status": t.stage_task_status,
                "task_option_id": t.task_option_id,
            })
        })
        .collect();
    json!({ "user_id": user_id, "stage_num_lists": nums, "stage_task_info_lists": infos })
}

pub(crate) fn approval(t: &ApprovalTask) -> Value {
    json!({
        "topic": t.topic,
        "user_id": t.user_id,
        "title": t.title,
        "urls": { "helpdesk": t.url_helpdesk, "mobile": t.url_mobile, "pc": t.url_pc },
        "process_external_id": t.process_external_id,
        "task_external_id": t.task_external_id,
        "status": t.status,
        "process_status": t.process_status,
        "definition_code": t.definition_code,
        "initiators": t.initiators,
        "initiator_names": t.initiator_names,
        "task_id": t.task_id,
        "process_id": t.process_id,
        "process_code": t.process_code,
        "definition_group_id": t.definition_group_id,
        "definition_group_name": t.definition_group_name,
        "definition_id": t.definition_id,
        "definition_name": t.definition_name,
    })
}

pub fn task(t: &Task) -> Value {
    let due = match &t.due {
        Some(d) => json!({
            "time": d.time_s.to_string(),
            "timezone": d.timezone,
            "is_all_day": d.is_all_day,
        }),
        None => json!({ "time": "0", "timezone": "" }),
    };
    let origin = match &t.origin {
        Some(o) => json!({
            "href": { "title": o.href_title, "url": o.href_url },
            "platform_i18n_name": i18n_snake(&o.platform).to_string(),
        }),
        None => json!({ "href": {}, "platform_i18n_name": "null" }),
    };
    let ids = |v: &[String]| -> Vec<Value> { v.iter().map(|id| json!({ "id": id })).collect() };
    let mut v = json!({
        "id": t.id,
        "summary": t.summary,
        "description": t.description,
        "complete_time": t.complete_time_s.to_string(),
        "create_time": t.create_time_s.to_string(),
        "update_time": t.update_time_s.to_string(),
        "creator_id": t.creator_id,
        "extra": t.extra,
        "custom": t.custom,
        "can_edit": t.can_edit,
        "source": t.source,
        "due": due,
        "origin": origin,
        "collaborators": ids(&t.collaborators),
        "followers": ids(&t.followers),
    });
    if let Some(rule) = &t.repeat_rule {
        v["repeat_rule"] = json!(rule);
    }
    v
}

/// A user as the contact v3 endpoints send it, its leader already in the request's
/// `user_id_type`; the long connection's user events carry the same object.
pub(crate) fn user(p: &Person, leader: Option<String>) -> Value {
    let orders: Vec<Value> = p
        .departments
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({ "department_id": d, "user_order": 100, "department_order": 100, "is_primary_dept": i == 0 })
        })
        .collect();
    json!({
        "union_id": p.union_id,
        "user_id": p.user_id,
        "open_id": p.open_id,
        "name": p.name,
        "en_name": p.en_name,
        "nickname": "",
        "email": p.email,
        "gender": 0,
        "avatar": { "avatar_72": "", "avatar_240": "", "avatar_640": "", "avatar_origin": "" },
        "status": {
            "is_frozen": p.is_frozen,
            "is_resigned": p.is_resigned,
            "is_activated": p.is_activated,
            "is_exited": p.is_exited,
            "is_unjoin": p.is_unjoin,
        },
        "department_ids": p.departments,
        "leader_user_id": leader,
        "city": p.city,
        "country": p.country,
        "work_station": "",
        "join_time": p.join_time_s,
        "is_tenant_manager": p.is_tenant_manager,
        "employee_no": p.employee_no,
        "employee_type": p.employee_type,
        "orders": orders,
        "enterprise_email": p.enterprise_email,
        "job_title": p.job_title,
        "is_frozen": p.is_frozen,
    })
}
