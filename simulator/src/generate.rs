//! Deterministic generation of a realistic synthetic tenant from a [`TenantSpec`].
//!
//! Content depends only on the seed; times are offsets from `Utc::now()` at generation.

use chrono::{Datelike, FixedOffset, TimeZone};
use rand::Rng;

use super::names;
use super::random::{DAY_MS, Gen};
use super::tenant::{
    ApprovalTask, I18n, Semester, StageTask, Task, TaskDue, TaskOrigin, Tenant, TenantSpec,
};

const DAY_S: i64 = 86_400;
/// Approval topics, in the document's order.
pub const TOPICS: [&str; 5] = ["1", "2", "3", "17", "18"];

impl TenantSpec {
    /// For tests: 60 users, 3 semesters of 4 stages, 12 approvals per user (plus a heavy
    /// user with 241 in topic `"2"`) and 250 tasks. At the documented maximum page sizes
    /// task v1 needs 3 pages, stage tasks 2 pages per semester and the heavy user's
    /// approvals 2 pages.
    pub fn small() -> Self {
        TenantSpec {
            seed: 42,
            users: 60,
            semesters: 3,
            activities_per_semester: 2,
            stage_tasks_per_user: 4,
            approval_tasks_per_user: 12,
            tasks: 250,
        }
    }

    /// A somewhat larger tenant for `feishu-sync demo`.
    pub fn demo() -> Self {
        TenantSpec {
            seed: 2024,
            users: 200,
            semesters: 6,
            activities_per_semester: 3,
            stage_tasks_per_user: 6,
            approval_tasks_per_user: 20,
            tasks: 1200,
        }
    }
}

impl Tenant {
    /// Generates a tenant; equal specs give equal content except for now-relative times.
    pub fn generate(spec: &TenantSpec) -> Tenant {
        Tenant::generate_with(spec, Gen::new(spec.seed))
    }

    /// Generates a tenant whose now-relative times (deadlines, join times, updates) count
    /// from `now_ms` (epoch ms): equal specs and anchors give identical tenants, so a
    /// second sync of a re-generated tenant has nothing to write.
    pub fn generate_at(spec: &TenantSpec, now_ms: i64) -> Tenant {
        Tenant::generate_with(spec, Gen::at(spec.seed, now_ms))
    }

    fn generate_with(spec: &TenantSpec, mut g: Gen) -> Tenant {
        let users: Vec<String> = (0..spec.users).map(|_| g.open_id()).collect();
        let mut tenant = Tenant {
            users,
            ..Tenant::default()
        };
        tenant.semesters = (0..spec.semesters)
            .map(|i| g.semester(i, spec.semesters, &tenant.users))
            .collect();
        for semester in tenant.semesters.clone() {
            for k in 0..spec.activities_per_semester {
                let activity = names::activity(&mut g, &semester, k, &tenant.users);
                tenant.activities.push(activity);
            }
            let stages = g.stage_tasks(&semester, spec.stage_tasks_per_user, &tenant.users);
            tenant.stage_tasks.extend(stages);
        }
        tenant.approval_tasks = g.approvals(spec.approval_tasks_per_user, &tenant.users);
        tenant.tasks = (0..spec.tasks).map(|i| g.task(i, &tenant.users)).collect();
        let mut departments = g.departments((spec.users / 25).max(3));
        tenant.people = g.people(&tenant.users, &mut departments);
        tenant.departments = departments;
        // Last, so the content generated before it does not depend on it.
        tenant.generate_results(&mut g);
        tenant
    }
}

impl Gen {
    fn semester(&mut self, i: usize, count: usize, users: &[String]) -> Semester {
        // Semester i covers a point in the i-th slice of the last two years.
        let offset_days = 730 * i as i64 / count.max(1) as i64 + 15;
        let anchor_ms = self.now_ms - (730 - offset_days) * DAY_MS;
        let group = names::SEMESTER_GROUPS[i % names::SEMESTER_GROUPS.len()];
        let tz = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        let anchor = tz
            .timestamp_millis_opt(anchor_ms)
            .single()
            .expect("valid time");
        let p = names::period(group, anchor.month());
        let start_ms = month_start_ms(&tz, anchor.year(), p.first_month);
        let end_ms = month_start_ms(&tz, anchor.year(), p.first_month + p.months) - 1;
        let create_time_ms = start_ms - self.rng.random_range(3..30) * DAY_MS;
        let modify_time_ms = create_time_ms + self.rng.random_range(0..20 * DAY_MS);
        let progress = if i + 1 == count && self.chance(0.5) {
            "initiating"
        } else {
            "enabled"
        };
        Semester {
            id: self.numeric_id(),
            year: anchor.year(),
            type_group: group.to_string(),
            r#type: p.type_name.clone(),
            name: I18n::new(
                format!("{} 年{}绩效周期", anchor.year(), p.zh),
                format!("{} {} performance review", anchor.year(), p.en),
            ),
            progress: progress.to_string(),
            start_time_ms: start_ms,
            end_time_ms: end_ms,
            create_time_ms,
            modify_time_ms,
            create_user_id: self.user(users).1,
            modify_user_id: self.user(users).1,
        }
    }

    /// A stage deadline: ~40% within the last week and the next month, the rest between
    /// a year ago and two months ahead.
    fn stage_deadline(&mut self) -> i64 {
        let (from, to) = if self.chance(0.4) {
            (-7, 30)
        } else {
            (-365, 60)
        };
        self.now_ms + self.rng.random_range(from * DAY_MS..to * DAY_MS)
    }

    fn stage_tasks(
        &mut self,
        semester: &Semester,
        stages: usize,
        users: &[String],
    ) -> Vec<StageTask> {
        let mut out = Vec::with_capacity(stages * users.len());
        for s in 0..stages {
            let stage_id = self.numeric_id();
            let name = names::stage_name(s);
            let deadline = self.stage_deadline();
            for user in users {
                let deadline_ms = deadline + self.rng.random_range(0..36 * 3_600_000);
                let (status, option) = self.stage_status(deadline_ms);
                let need_todo_count = if option == 2 {
                    0
                } else {
                    self.rng.random_range(1..=12)
                };
                out.push(StageTask {
                    semester_id: semester.id.clone(),
                    user_id: user.clone(),
                    stage_id: stage_id.clone(),
                    name: name.clone(),
                    deadline_ms,
                    need_todo_count,
                    jump_url: format!(
                        "https://performance.feishu.cn/perf/review/{}/{}/members",
                        semester.id, stage_id
                    ),
                    stage_task_status: status.to_string(),
                    task_option_id: option,
                });
            }
        }
        out
    }

    fn stage_status(&mut self, deadline_ms: i64) -> (&'static str, i32) {
        if deadline_ms > self.now_ms {
            if self.chance(0.08) {
                ("stage_pause", 1)
            } else if self.chance(0.6) {
                ("need_todo", 1)
            } else {
                ("all_done", 2)
            }
        } else if self.chance(0.7) {
            ("all_done", 2)
        } else if self.chance(0.6) {
            ("overdue", 3)
        } else {
            ("need_todo", 1)
        }
    }

    fn approvals(&mut self, per_user: usize, users: &[String]) -> Vec<ApprovalTask> {
        let defs = names::definitions(self);
        let mut out = Vec::new();
        for (ui, user) in users.iter().enumerate() {
            for j in 0..per_user {
                let topic = TOPICS[(ui + j) % TOPICS.len()];
                out.push(names::approval(self, &defs, (ui, user), topic, users));
            }
            if ui == 0 && per_user > 0 {
                for _ in 0..(per_user * 20 + 1).min(999 - per_user.min(999)) {
                    out.push(names::approval(self, &defs, (ui, user), "2", users));
                }
            }
        }
        out
    }

    /// Create time: ~5% within the last 24 hours, the rest over the last year.
    fn task_create_time(&mut self) -> i64 {
        let now_s = self.now_ms / 1000;
        if self.chance(0.05) {
            now_s - self.rng.random_range(0..DAY_S)
        } else {
            now_s - self.rng.random_range(DAY_S..365 * DAY_S)
        }
    }

    fn task(&mut self, i: usize, users: &[String]) -> Task {
        let now_s = self.now_ms / 1000;
        let create_time_s = self.task_create_time();
        let complete_time_s = if self.chance(0.35) {
            self.rng.random_range(create_time_s..=now_s)
        } else {
            0
        };
        let update_time_s = complete_time_s.max(self.rng.random_range(create_time_s..=now_s));
        let (summary, description) = names::task_text(self, i);
        Task {
            id: self.uuid(),
            summary,
            description,
            complete_time_s,
            create_time_s,
            update_time_s,
            creator_id: self.user(users).1,
            extra: names::task_extra(self, i),
            custom: if self.chance(0.05) {
                r#"{"priority":"high"}"#.to_string()
            } else {
                String::new()
            },
            can_edit: self.chance(0.9),
            source: self.rng.random_range(1..=6),
            repeat_rule: self
                .chance(0.06)
                .then(|| self.pick(names::REPEAT_RULES).to_string()),
            due: self.chance(0.6).then(|| self.task_due(create_time_s)),
            origin: self.chance(0.25).then(|| self.task_origin()),
            collaborators: (0..self.rng.random_range(1..=3))
                .map(|_| self.user(users).1)
                .collect(),
            followers: (0..self.rng.random_range(0..=2))
                .map(|_| self.user(users).1)
                .collect(),
        }
    }

    fn task_due(&mut self, create_time_s: i64) -> TaskDue {
        TaskDue {
            time_s: create_time_s + self.rng.random_range(DAY_S..30 * DAY_S),
            timezone: "Asia/Shanghai".to_string(),
            is_all_day: self.chance(0.2),
        }
    }

    fn task_origin(&mut self) -> TaskOrigin {
        let (zh, en, host) = *self.pick(names::ORIGIN_PLATFORMS);
        let n = self.rng.random_range(1000..99999);
        TaskOrigin {
            platform: I18n::new(zh, en),
            href_title: format!("{zh}：工单 #{n}"),
            href_url: format!("https://{host}/tickets/{n}"),
        }
    }
}

/// Epoch ms of the first instant of `month` (1-based, may exceed 12) of `year` in `tz`.
fn month_start_ms(tz: &FixedOffset, year: i32, month: u32) -> i64 {
    let (y, m) = (year + ((month - 1) / 12) as i32, (month - 1) % 12 + 1);
    tz.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .expect("valid month start")
        .timestamp_millis()
}
