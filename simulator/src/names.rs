//! Word lists and small builders that make the generated tenant look realistic.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

use super::people::person_name;
use super::random::{DAY_MS, Gen};
use super::tenant::{Activity, ApprovalTask, I18n, Semester};

/// Semester type groups, in the order generated semesters cycle through them.
pub(crate) const SEMESTER_GROUPS: [&str; 6] = [
    "Quarter",
    "Semi-annual",
    "Quarter",
    "Annual",
    "Bimonth",
    "Month",
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const STAGES: [(&str, &str); 8] = [
    ("目标制定", "goal_setting"),
    ("自评", "self_review"),
    ("360° 确认", "confirm_invitation"),
    ("360° 评估", "peer_review"),
    ("上级评估", "manager_review"),
    ("绩效校准", "calibration"),
    ("结果确认", "result_confirmation"),
    ("绩效面谈", "one_on_one"),
];

/// Repeat rules some tasks carry.
pub(crate) const REPEAT_RULES: &[&str] = &[
    "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=DAILY;INTERVAL=1",
    "FREQ=MONTHLY;INTERVAL=1",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
];

/// Origin platforms of tasks: Chinese name, English name, link host.
pub(crate) const ORIGIN_PLATFORMS: &[(&str, &str, &str)] = &[
    ("IT 工作台", "IT Workspace", "support.feishu.com/internal"),
    ("客户服务台", "Customer Helpdesk", "helpdesk.example.cn"),
    ("项目管理", "Project Hub", "pm.example.cn"),
];

const TASK_SUMMARIES: [&str; 10] = [
    "整理周报",
    "准备季度复盘材料",
    "跟进客户反馈",
    "更新项目排期",
    "审核合同草稿",
    "安排团队分享",
    "修复线上告警",
    "提交报销单",
    "完成安全培训",
    "评审设计方案",
];

const TASK_DESCRIPTIONS: [&str; 4] = [
    "多吃水果，多运动，健康生活，快乐工作。",
    "请在截止时间前完成，并在群里同步进展。",
    "相关文档见知识库。",
    "",
];

/// Type, Chinese label and English label of a semester period.
pub(crate) struct Period {
    pub(crate) first_month: u32,
    pub(crate) months: u32,
    pub(crate) type_name: String,
    pub(crate) zh: String,
    pub(crate) en: String,
}

/// The period of type group `group` that contains `month` (1-based).
pub(crate) fn period(group: &str, month: u32) -> Period {
    let p = |first_month, months, type_name: &str, zh: String, en: &str| Period {
        first_month,
        months,
        type_name: type_name.to_string(),
        zh,
        en: en.to_string(),
    };
    match group {
        "Annual" => p(1, 12, "Annual", "全年".into(), "full year"),
        "Semi-annual" if month <= 6 => p(1, 6, "H1", "上半年".into(), "H1"),
        "Semi-annual" => p(7, 6, "H2", "下半年".into(), "H2"),
        "Quarter" => {
            let q = (month - 1) / 3;
            let t = format!("Q{}", q + 1);
            let zh = format!("第{}季度", ["一", "二", "三", "四"][q as usize]);
            p(q * 3 + 1, 3, &t, zh, &t)
        }
        "Bimonth" => {
            let first = (month - 1) / 2 * 2 + 1;
            let t = format!("{}-{}", MONTHS[first as usize - 1], MONTHS[first as usize]);
            p(first, 2, &t, format!("{}-{} 双月", first, first + 1), &t)
        }
        _ => {
            let name = MONTHS[month as usize - 1];
            p(month, 1, name, format!("{month}月份"), name)
        }
    }
}

/// Name of the `s`-th stage of a semester.
pub(crate) fn stage_name(s: usize) -> I18n {
    let (zh, en) = STAGES[s % STAGES.len()];
    match s / STAGES.len() {
        0 => I18n::new(zh, en),
        round => I18n::new(
            format!("{zh}（第{}轮）", round + 1),
            format!("{en}_{}", round + 1),
        ),
    }
}

/// The `k`-th activity of `semester`.
pub(crate) fn activity(g: &mut Gen, semester: &Semester, k: usize, users: &[String]) -> Activity {
    const MODES: [&str; 3] = [
        "performance_review",
        "metric_development",
        "metric_development_and_performance_review",
    ];
    let progress = if semester.end_time_ms < g.now_ms {
        "finished"
    } else {
        *g.pick(&["enabled", "enabled", "configurable", "initiating", "unable"])
    };
    let create_time_ms = semester.create_time_ms + g.rng.random_range(0..10 * DAY_MS);
    Activity {
        id: g.numeric_id(),
        semester_id: semester.id.clone(),
        name: I18n::new(
            format!("{} · 项目{}", semester.name.zh, k + 1),
            format!("{} · activity {}", semester.name.en, k + 1),
        ),
        description: I18n::new("绩效评估与目标制定", "Performance review and goal setting"),
        mode: MODES[k % MODES.len()].to_string(),
        progress: progress.to_string(),
        create_time_ms,
        modify_time_ms: create_time_ms + g.rng.random_range(0..30 * DAY_MS),
        create_user_id: g.user(users).1,
        modify_user_id: g.user(users).1,
    }
}

/// An approval process definition.
pub(crate) struct Definition {
    code: String,
    id: String,
    name: &'static str,
    group_id: String,
    group_name: &'static str,
}

/// The tenant's approval definitions.
pub(crate) fn definitions(g: &mut Gen) -> Vec<Definition> {
    const DEFS: [(&str, &str); 6] = [
        ("请假", "假勤"),
        ("出差", "假勤"),
        ("加班", "假勤"),
        ("费用报销", "财务"),
        ("采购申请", "行政"),
        ("用印申请", "行政"),
    ];
    let groups: Vec<(&str, String)> = ["假勤", "财务", "行政"]
        .iter()
        .map(|n| (*n, g.numeric_id()))
        .collect();
    DEFS.iter()
        .map(|(name, group_name)| Definition {
            code: g.uuid().to_uppercase(),
            id: g.numeric_id(),
            name,
            group_id: groups
                .iter()
                .find(|(n, _)| n == group_name)
                .expect("group")
                .1
                .clone(),
            group_name,
        })
        .collect()
}

/// One approval task of `user` (index, open id) in `topic`.
pub(crate) fn approval(
    g: &mut Gen,
    defs: &[Definition],
    user: (usize, &String),
    topic: &str,
    users: &[String],
) -> ApprovalTask {
    let def = g.pick(defs);
    let (ii, initiator) = if topic == "3" {
        (user.0, user.1.clone())
    } else {
        g.user(users)
    };
    let name = person_name(ii);
    let (task_id, process_id) = (g.numeric_id(), g.numeric_id());
    let (status, process_status) = approval_status(g, topic);
    let external = g.chance(0.1);
    let applink = "https://applink.feishu.cn/client/mini_program/open?appId=cli_9cb844403dbb9108";
    ApprovalTask {
        user_id: user.1.clone(),
        topic: topic.to_string(),
        title: format!("{name}提交的{}", def.name),
        url_helpdesk: format!("https://applink.feishu.cn/client/helpdesk/open?id={task_id}"),
        url_mobile: format!("{applink}&path=pages/detail/index?instanceId={process_id}"),
        url_pc: format!(
            "{applink}&mode=appCenter&path=pc/pages/detail/index?instanceId={process_id}"
        ),
        process_external_id: if external {
            format!("ext-{process_id}")
        } else {
            String::new()
        },
        task_external_id: if external {
            format!("ext-{task_id}")
        } else {
            String::new()
        },
        status: status.to_string(),
        process_status: process_status.to_string(),
        definition_code: def.code.clone(),
        initiators: vec![initiator],
        initiator_names: vec![name],
        process_code: g.uuid(),
        task_id,
        process_id,
        definition_group_id: def.group_id.clone(),
        definition_group_name: def.group_name.to_string(),
        definition_id: def.id.clone(),
        definition_name: def.name.to_string(),
    }
}

/// Task status and process status fitting `topic`.
fn approval_status(g: &mut Gen, topic: &str) -> (&'static str, &'static str) {
    let status = match topic {
        "1" => "1",
        "17" => "17",
        "18" => "18",
        _ => *g.pick(&["2", "2", "2", "33", "34"]),
    };
    let process = if topic == "1" {
        "1"
    } else {
        *g.pick(&["1", "2", "2", "2", "3", "4", "5"])
    };
    (status, process)
}

/// Summary and description of the `i`-th task.
pub(crate) fn task_text(g: &mut Gen, i: usize) -> (String, String) {
    let summary = format!("{} #{}", g.pick(&TASK_SUMMARIES), i + 1);
    (summary, g.pick(&TASK_DESCRIPTIONS).to_string())
}

/// The base64 `extra` of the `i`-th task: set on about a third of them.
pub(crate) fn task_extra(g: &mut Gen, i: usize) -> String {
    if g.chance(0.3) {
        STANDARD.encode(format!(r#"{{"source":"feishu-sim","seq":{i}}}"#))
    } else {
        String::new()
    }
}
