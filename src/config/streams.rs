//! The `[streams]` section: each stream's switch, schedule and settings, their defaults,
//! and the sweeps `run` schedules besides the incremental runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::feishu::Endpoint;

/// Every approval topic the API knows: to-do, done, initiated, unread CC, read CC.
pub const APPROVAL_TOPICS: [&str; 5] = ["1", "2", "3", "17", "18"];

/// Per-stream switches and settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StreamsConfig {
    pub semesters: StreamToggle,
    pub activities: StreamToggle,
    pub stage_tasks: StageTasksConfig,
    pub approval_tasks: ApprovalTasksConfig,
    pub tasks: TasksConfig,
    pub departments: StreamToggle,
    pub users: StreamToggle,
    pub reviewees: StreamToggle,
    pub review_data: ReviewDataConfig,
    pub metric_details: StreamToggle,
    pub indicators: StreamToggle,
    pub metric_fields: StreamToggle,
}

/// Review data: which stage types to read and how far an incremental read looks back.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
pub struct ReviewDataConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// `stage_types` sent with every request: without one the API returns no stage data.
    /// Default: every type the document lists.
    pub stage_types: Vec<String>,
    /// An incremental pass asks for stages submitted after the oldest watermark of its
    /// semesters minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every stage whole (no `updated_later_than`), the only read that
    /// may retire stages and items: 6-field cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

/// A stream with nothing to set but whether and when it runs.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StreamToggle {
    pub enabled: bool,
    /// 6-field cron (with seconds), UTC; `None` means the stream's default.
    pub schedule: Option<String>,
}

/// Stage tasks: how far back a deadline may lie and the task still change.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct StageTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass re-reads every task whose deadline is later than the previous
    /// pass's start minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every semester whole, to see what the deadline filter cannot
    /// (late completions of older tasks, tasks added with earlier deadlines, deletions):
    /// 6-field cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

/// Approval tasks are listed per user and topic: of the users named here, or, when none
/// are, of every current user of `feishu.users` (the directory).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct ApprovalTasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// Ids of `feishu.user_id_type` whose approval tasks are copied; empty: everyone in
    /// `feishu.users` with `deleted_at IS NULL`.
    pub user_ids: Vec<String>,
    /// Topics to copy; default all five.
    pub topics: Vec<String>,
}

/// Task v1: how late a task may show up after its create time.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
#[schemars(deny_unknown_fields)]
pub struct TasksConfig {
    pub enabled: bool,
    pub schedule: Option<String>,
    /// An incremental pass asks for tasks created after the newest create time seen
    /// minus this many hours.
    pub lookback_hours: u32,
    /// When `run` reads every open task (`task_completed=false`), whatever its create
    /// time, so edits of older open tasks arrive: cron, UTC, or `off`.
    pub open_sweep_schedule: String,
    /// When `run` reads every task, completing what the create-time filter cannot see
    /// (completions of older tasks) and retiring deleted ones: cron, UTC, or `off`.
    pub reconcile_schedule: String,
}

impl Default for StreamToggle {
    fn default() -> Self {
        StreamToggle {
            enabled: true,
            schedule: None,
        }
    }
}

impl Default for StageTasksConfig {
    fn default() -> Self {
        StageTasksConfig {
            enabled: true,
            schedule: None,
            lookback_hours: 30 * 24,
            reconcile_schedule: "0 25 19 * * *".into(),
        }
    }
}

impl Default for ApprovalTasksConfig {
    fn default() -> Self {
        ApprovalTasksConfig {
            enabled: true,
            schedule: None,
            user_ids: Vec::new(),
            topics: APPROVAL_TOPICS.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Default for ReviewDataConfig {
    fn default() -> Self {
        ReviewDataConfig {
            enabled: true,
            schedule: None,
            stage_types: feishu_endpoints::REVIEW_STAGE_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            lookback_hours: 24,
            reconcile_schedule: "0 15 20 * * *".into(),
        }
    }
}

impl Default for TasksConfig {
    fn default() -> Self {
        TasksConfig {
            enabled: true,
            schedule: None,
            lookback_hours: 24,
            open_sweep_schedule: "0 35 * * * *".into(),
            reconcile_schedule: "0 5 19 * * *".into(),
        }
    }
}

impl StreamsConfig {
    /// When a stream runs under `run`: its `schedule`, or the stream's default.
    pub fn schedule(&self, endpoint: Endpoint) -> String {
        let configured = match endpoint {
            Endpoint::Semesters => &self.semesters.schedule,
            Endpoint::Activities => &self.activities.schedule,
            Endpoint::StageTasks => &self.stage_tasks.schedule,
            Endpoint::ApprovalTasks => &self.approval_tasks.schedule,
            Endpoint::Tasks => &self.tasks.schedule,
            Endpoint::Departments => &self.departments.schedule,
            Endpoint::Users => &self.users.schedule,
            Endpoint::Reviewees => &self.reviewees.schedule,
            Endpoint::ReviewData => &self.review_data.schedule,
            Endpoint::MetricDetails => &self.metric_details.schedule,
            Endpoint::Indicators => &self.indicators.schedule,
            Endpoint::MetricFields => &self.metric_fields.schedule,
        };
        configured
            .clone()
            .unwrap_or_else(|| default_schedule(endpoint).to_string())
    }

    /// The sweeps `run` schedules besides the incremental runs: `(stream, sweep,
    /// config key, schedule)`, `off` ones included.
    pub fn sweeps(&self) -> Vec<(Endpoint, Sweep, &'static str, &str)> {
        vec![
            (
                Endpoint::StageTasks,
                Sweep::Reconcile,
                "streams.stage_tasks.reconcile_schedule",
                &self.stage_tasks.reconcile_schedule,
            ),
            (
                Endpoint::Tasks,
                Sweep::OpenTasks,
                "streams.tasks.open_sweep_schedule",
                &self.tasks.open_sweep_schedule,
            ),
            (
                Endpoint::Tasks,
                Sweep::Reconcile,
                "streams.tasks.reconcile_schedule",
                &self.tasks.reconcile_schedule,
            ),
            (
                Endpoint::ReviewData,
                Sweep::Reconcile,
                "streams.review_data.reconcile_schedule",
                &self.review_data.reconcile_schedule,
            ),
        ]
    }

    /// Whether a stream is switched on.
    pub fn enabled(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::Semesters => self.semesters.enabled,
            Endpoint::Activities => self.activities.enabled,
            Endpoint::StageTasks => self.stage_tasks.enabled,
            Endpoint::ApprovalTasks => self.approval_tasks.enabled,
            Endpoint::Tasks => self.tasks.enabled,
            Endpoint::Departments => self.departments.enabled,
            Endpoint::Users => self.users.enabled,
            Endpoint::Reviewees => self.reviewees.enabled,
            Endpoint::ReviewData => self.review_data.enabled,
            Endpoint::MetricDetails => self.metric_details.enabled,
            Endpoint::Indicators => self.indicators.enabled,
            Endpoint::MetricFields => self.metric_fields.enabled,
        }
    }
}

/// Default schedules (UTC, with seconds): the performance configuration, the directory,
/// reviewees, review data and the two dictionaries hourly, metric details nightly (they
/// have no time filter), stage tasks every half hour, approvals every 15 minutes, tasks every 10
/// minutes. Staggered so streams that share nothing do not all start in the same second;
/// users follow departments, whose runs take seconds.
pub fn default_schedule(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Semesters => "0 0 * * * *",
        Endpoint::Activities => "0 5 * * * *",
        Endpoint::StageTasks => "0 10/30 * * * *",
        Endpoint::ApprovalTasks => "0 2/15 * * * *",
        Endpoint::Tasks => "0 */10 * * * *",
        Endpoint::Departments => "0 50 * * * *",
        Endpoint::Users => "0 55 * * * *",
        Endpoint::Reviewees => "0 15 * * * *",
        Endpoint::ReviewData => "0 20 * * * *",
        Endpoint::MetricDetails => "0 45 19 * * *",
        Endpoint::Indicators => "0 40 * * * *",
        Endpoint::MetricFields => "0 42 * * * *",
    }
}

/// A read besides the incremental one, for what a time filter cannot see: the subset of
/// `sync::ReadMode` that `run` schedules (see [`StreamsConfig::sweeps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Every partition read whole: retires what is gone, refreshes what changed outside
    /// the window, moves no watermark backwards.
    Reconcile,
    /// Task v1 only: every open task, whatever its create time.
    OpenTasks,
}

impl Sweep {
    /// The name in `sync_runs.sweep` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Sweep::Reconcile => "reconcile",
            Sweep::OpenTasks => "open_tasks",
        }
    }
}

/// Parses a 6-field cron expression (seconds first) exactly as the scheduler does.
pub fn parse_schedule(text: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(text)
        .map_err(|e| format!("{e}"))
}
