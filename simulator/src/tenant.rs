//! The data model of the simulated tenant: what the fake Feishu holds and serves.

use super::people::{ContactRange, Department, Person};

/// How big a synthetic tenant to generate; deterministic for a given seed.
///
/// Besides the per-user counts below, the first user is a "heavy" approver: on top of
/// their share they get `approval_tasks_per_user * 20 + 1` approvals in topic `"2"` (at most
/// 999, the most the API lists for one user and topic), so
/// that one (user, topic) partition needs more than one page at the maximum page size.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    /// Seed of the random generator; equal seeds give equal content.
    pub seed: u64,
    /// Number of users (open ids `ou_` + 32 hex characters).
    pub users: usize,
    /// Number of performance semesters.
    pub semesters: usize,
    /// Number of activities in each semester.
    pub activities_per_semester: usize,
    /// Stages per semester; every user gets one stage task per stage of every semester.
    pub stage_tasks_per_user: usize,
    /// Approval tasks per user, spread over the topics `1`, `2`, `3`, `17` and `18`.
    pub approval_tasks_per_user: usize,
    /// Number of task-v1 tasks.
    pub tasks: usize,
}

/// A text in Chinese and English.
#[derive(Debug, Clone, PartialEq)]
pub struct I18n {
    /// Chinese text (`zh-CN` / `zh_cn` on the wire).
    pub zh: String,
    /// English text (`en-US` / `en_us` on the wire).
    pub en: String,
}

impl I18n {
    /// Builds an [`I18n`] from two string slices.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        I18n {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Everything the fake tenant holds; tests mutate it through `SimHandle::with_tenant`.
///
/// All `*_ms` fields are epoch milliseconds and all `*_s` fields epoch seconds; the wire
/// format sends them as decimal strings, as the documents do.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Open ids of every user.
    pub users: Vec<String>,
    /// Performance semesters.
    pub semesters: Vec<Semester>,
    /// Performance activities.
    pub activities: Vec<Activity>,
    /// Stage tasks of every user in every semester.
    pub stage_tasks: Vec<StageTask>,
    /// Approval tasks of every user.
    pub approval_tasks: Vec<ApprovalTask>,
    /// Task-v1 tasks.
    pub tasks: Vec<Task>,
    /// The directory's departments.
    pub departments: Vec<Department>,
    /// One profile per user in `users`, same order; resigned people stay here.
    pub people: Vec<Person>,
    /// `None`: the app may read the whole directory. `Some`: only this, and department
    /// `"0"` is refused.
    pub contact_range: Option<ContactRange>,
    /// Who is reviewed in which semester.
    pub reviewees: Vec<Reviewee>,
    /// Stage results of the reviewees (self, manager, final).
    pub reviews: Vec<StageResult>,
    /// Metrics of the reviewees.
    pub metrics: Vec<Metric>,
    /// Review indicators with their levels.
    pub indicators: Vec<Indicator>,
    /// Metric fields (target, actual, ...).
    pub metric_fields: Vec<MetricField>,
}

/// A performance semester (`GET /performance/v1/semesters`).
#[derive(Debug, Clone, PartialEq)]
pub struct Semester {
    /// 19-digit id.
    pub id: String,
    /// Year of the semester.
    pub year: i32,
    /// `Annual`, `Semi-annual`, `Quarter`, `Bimonth`, `Month` or `Non-standard`.
    pub type_group: String,
    /// `Annual`, `H1`, `Q3`, `March-April`, `May`, `Custom`, ...
    pub r#type: String,
    /// Display name.
    pub name: I18n,
    /// `initiating` or `enabled`.
    pub progress: String,
    /// Start, epoch ms.
    pub start_time_ms: i64,
    /// End, epoch ms.
    pub end_time_ms: i64,
    /// Creation, epoch ms.
    pub create_time_ms: i64,
    /// Last modification, epoch ms.
    pub modify_time_ms: i64,
    /// Creator's open id.
    pub create_user_id: String,
    /// Last modifier's open id.
    pub modify_user_id: String,
}

/// A performance activity (`POST /performance/v2/activity/query`).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// 19-digit id.
    pub id: String,
    /// Id of the semester it belongs to.
    pub semester_id: String,
    /// Display name.
    pub name: I18n,
    /// Description.
    pub description: I18n,
    /// `metric_development`, `performance_review` or both joined by `_and_`.
    pub mode: String,
    /// `configurable`, `unable`, `initiating`, `enabled` or `finished`.
    pub progress: String,
    /// Creation, epoch ms.
    pub create_time_ms: i64,
    /// Last modification, epoch ms.
    pub modify_time_ms: i64,
    /// Creator's open id.
    pub create_user_id: String,
    /// Last modifier's open id.
    pub modify_user_id: String,
}

/// One user's task in one stage of a semester (`stage_tasks/find_by_page`).
#[derive(Debug, Clone, PartialEq)]
pub struct StageTask {
    /// Semester id.
    pub semester_id: String,
    /// The user's open id.
    pub user_id: String,
    /// 19-digit stage id, shared by every user of the semester.
    pub stage_id: String,
    /// Stage name.
    pub name: I18n,
    /// Deadline, epoch ms.
    pub deadline_ms: i64,
    /// How many items are still to do.
    pub need_todo_count: i32,
    /// Link to the page where the task is handled.
    pub jump_url: String,
    /// `need_todo`, `overdue`, `all_done` or `stage_pause`.
    pub stage_task_status: String,
    /// 1 to do, 2 done, 3 overdue.
    pub task_option_id: i32,
}

/// One approval task of one user (`GET /approval/v4/tasks/query`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalTask {
    /// The user's open id.
    pub user_id: String,
    /// `1`, `2`, `3`, `17` or `18`.
    pub topic: String,
    /// 19-digit task id, globally unique.
    pub task_id: String,
    /// Title.
    pub title: String,
    /// Help-desk URL.
    pub url_helpdesk: String,
    /// Mobile URL.
    pub url_mobile: String,
    /// Desktop URL.
    pub url_pc: String,
    /// Third-party process id (usually empty).
    pub process_external_id: String,
    /// Third-party task id (usually empty).
    pub task_external_id: String,
    /// Task status code (`1`, `2`, `17`, `18`, `33`, `34`).
    pub status: String,
    /// Process status code (`0` to `5`).
    pub process_status: String,
    /// Process definition code.
    pub definition_code: String,
    /// Initiators' open ids.
    pub initiators: Vec<String>,
    /// Initiators' names.
    pub initiator_names: Vec<String>,
    /// 19-digit process id.
    pub process_id: String,
    /// Process code (uuid-like).
    pub process_code: String,
    /// Definition group id.
    pub definition_group_id: String,
    /// Definition group name.
    pub definition_group_name: String,
    /// Definition id.
    pub definition_id: String,
    /// Definition name.
    pub definition_name: String,
}

/// A task-v1 task (`GET /task/v1/tasks`).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Uuid-like id.
    pub id: String,
    /// Title.
    pub summary: String,
    /// Description, often empty.
    pub description: String,
    /// Completion, epoch s; 0 when not completed (sent as `"0"`).
    pub complete_time_s: i64,
    /// Creation, epoch s.
    pub create_time_s: i64,
    /// Last update, epoch s.
    pub update_time_s: i64,
    /// Creator's open id.
    pub creator_id: String,
    /// Base64 extra data, often empty.
    pub extra: String,
    /// Custom JSON, usually empty.
    pub custom: String,
    /// Whether the task can be edited.
    pub can_edit: bool,
    /// Source code (1 to 6).
    pub source: i32,
    /// RRULE; omitted from JSON when `None`.
    pub repeat_rule: Option<String>,
    /// Due date; `None` is sent as `{"time":"0","timezone":""}`.
    pub due: Option<TaskDue>,
    /// Origin; `None` is sent as `{"href":{},"platform_i18n_name":"null"}`.
    pub origin: Option<TaskOrigin>,
    /// Collaborators' open ids.
    pub collaborators: Vec<String>,
    /// Followers' open ids.
    pub followers: Vec<String>,
}

/// Due date of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDue {
    /// Due time, epoch s.
    pub time_s: i64,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// Whether the task is due on a whole day.
    pub is_all_day: bool,
}

/// Where a task came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOrigin {
    /// Platform name; sent as a JSON *string* `{"en_us":..,"zh_cn":..}`.
    pub platform: I18n,
    /// Link title.
    pub href_title: String,
    /// Link URL.
    pub href_url: String,
}

/// Someone reviewed in a semester.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewee {
    /// Semester id.
    pub semester_id: String,
    /// The reviewee's open id.
    pub user_id: String,
    /// Activities of the semester they are reviewed in.
    pub activity_ids: Vec<String>,
}

/// One reviewer's principal answer in one stage of one reviewee, plus a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct StageResult {
    /// Semester id.
    pub semester_id: String,
    /// The reviewee's open id.
    pub user_id: String,
    /// Activity the review belongs to.
    pub activity_id: String,
    /// Stage id, shared by every reviewee of the semester.
    pub stage_id: String,
    /// `review` or `leader_review`.
    pub stage_type: String,
    /// `reviewee` (self review) or `solid_line_leader` (manager, final result).
    pub role: String,
    /// The reviewer's open id.
    pub reviewer: String,
    /// Record id (one per reviewer).
    pub record_id: String,
    /// The indicator rated.
    pub indicator_id: String,
    /// The level chosen (an option of the indicator).
    pub option_id: String,
    /// The score, 1 to 5 with one decimal.
    pub score: f64,
    /// The reviewer's comment.
    pub comment: String,
    /// When the stage content was submitted, epoch ms.
    pub submit_time_ms: i64,
}

/// One metric of one reviewee.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Semester id.
    pub semester_id: String,
    /// The reviewee's open id.
    pub user_id: String,
    /// Metric id.
    pub metric_id: String,
    /// Metric name.
    pub name: String,
    /// Dimension id and name.
    pub dimension_id: String,
    /// Dimension name.
    pub dimension_name: I18n,
    /// Dimension weight, e.g. `"60"`.
    pub weight: String,
    /// Target value.
    pub target: f64,
    /// Actual value.
    pub actual: f64,
}

/// A review indicator and its levels `(option id, code, name)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// Indicator id.
    pub id: String,
    /// Name.
    pub name: I18n,
    /// Type, e.g. `score_and_level`.
    pub r#type: String,
    /// Levels.
    pub options: Vec<(String, String, I18n)>,
}

/// A metric field.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricField {
    /// Field id.
    pub field_id: String,
    /// Name.
    pub name: I18n,
    /// `text`, `number`, `pencentage` or `person`.
    pub r#type: String,
}
