//! The registry of entity tables: every table a stream fills, with the properties the
//! rest of the code used to keep in lists of its own (history, user-keyed, retirement,
//! owner), and which streams each stream reads its partitions from. A test checks the
//! registry against `information_schema`.

use crate::config::StreamsConfig;
use crate::feishu::Endpoint;

/// One table a stream fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTable {
    /// The table's name in schema `feishu`.
    pub name: &'static str,
    /// The one stream that writes it.
    pub stream: Endpoint,
    /// Whether `<name>_history` keeps its versions.
    pub has_history: bool,
    /// Whether its key holds user ids, so a change of `feishu.user_id_type` must clear it.
    pub user_keyed: bool,
    /// Whether rows a complete pass no longer sees get `deleted_at` (else rows are
    /// replaced with their parent's, or only counted).
    pub retires: bool,
}

const fn table(
    name: &'static str,
    stream: Endpoint,
    has_history: bool,
    user_keyed: bool,
    retires: bool,
) -> EntityTable {
    EntityTable {
        name,
        stream,
        has_history,
        user_keyed,
        retires,
    }
}

/// Every entity table, in the order summaries list them. A new stream adds its tables here.
pub const ENTITY_TABLES: [EntityTable; 20] = [
    table("semesters", Endpoint::Semesters, true, false, true),
    table("activities", Endpoint::Activities, true, false, true),
    table("stage_tasks", Endpoint::StageTasks, true, true, true),
    table("stage_task_counts", Endpoint::StageTasks, false, true, true),
    table("approval_tasks", Endpoint::ApprovalTasks, true, true, true),
    table(
        "approval_task_counts",
        Endpoint::ApprovalTasks,
        false,
        true,
        false,
    ),
    table("tasks", Endpoint::Tasks, true, false, true),
    table("task_collaborators", Endpoint::Tasks, false, true, false),
    table("task_followers", Endpoint::Tasks, false, true, false),
    table("departments", Endpoint::Departments, true, false, true),
    table("users", Endpoint::Users, true, true, true),
    table("user_departments", Endpoint::Users, false, true, false),
    table("reviewees", Endpoint::Reviewees, true, true, true),
    table("review_stages", Endpoint::ReviewData, true, true, true),
    table("review_items", Endpoint::ReviewData, true, true, true),
    table("metric_details", Endpoint::MetricDetails, true, true, true),
    table(
        "metric_detail_fields",
        Endpoint::MetricDetails,
        true,
        true,
        true,
    ),
    table("indicators", Endpoint::Indicators, true, false, true),
    table("indicator_options", Endpoint::Indicators, true, false, true),
    table("metric_fields", Endpoint::MetricFields, true, false, true),
];

/// feishu-sync's own tables, which no stream fills.
pub const BOOKKEEPING_TABLES: [&str; 7] = [
    "sync_state",
    "sync_runs",
    "sync_errors",
    "sync_settings",
    "events",
    "event_subscriptions",
    "event_connections",
];

/// The streams whose rows decide which partitions `stream` reads. A child retires only
/// when each of them completed a clean pass since the child's last complete one (see
/// `sync::retirement`). Approvals depend on the directory only when they are read for
/// everyone in it. A new child stream adds its arm here.
pub fn parents(stream: Endpoint, streams: &StreamsConfig) -> Vec<Endpoint> {
    match stream {
        Endpoint::Activities | Endpoint::StageTasks | Endpoint::Reviewees => {
            vec![Endpoint::Semesters]
        }
        Endpoint::ReviewData | Endpoint::MetricDetails => {
            vec![Endpoint::Semesters, Endpoint::Reviewees]
        }
        Endpoint::Users => vec![Endpoint::Departments],
        Endpoint::ApprovalTasks if streams.approval_tasks.user_ids.is_empty() => {
            vec![Endpoint::Users]
        }
        Endpoint::Semesters
        | Endpoint::ApprovalTasks
        | Endpoint::Tasks
        | Endpoint::Departments
        | Endpoint::Indicators
        | Endpoint::MetricFields => Vec::new(),
    }
}

/// The history tables, one per entity table that keeps versions.
pub fn history_tables() -> impl Iterator<Item = String> {
    ENTITY_TABLES
        .iter()
        .filter(|t| t.has_history)
        .map(|t| format!("{}_history", t.name))
}

/// The entity tables keyed by user ids.
pub fn user_keyed_tables() -> impl Iterator<Item = &'static EntityTable> {
    ENTITY_TABLES.iter().filter(|t| t.user_keyed)
}
