//! The Feishu endpoints feishu-sync reads, with the facts their documents give (method,
//! path, page-size limit, rate limit, scopes). Shared by the client and the simulator so
//! the two can never disagree on a path.

use std::fmt;

/// Path of the token endpoint (`POST`, JSON `{app_id, app_secret}`).
pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

/// One upstream list endpoint. Each stream reads exactly one endpoint, so the endpoint's
/// name is also the stream's name and its key under `feishu.rate_limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /open-apis/performance/v1/semesters`: every semester, one response.
    Semesters,
    /// `POST /open-apis/performance/v2/activity/query`: activities of up to 10 semesters.
    Activities,
    /// `POST /open-apis/performance/v1/stage_tasks/find_by_page`: stage tasks of one semester.
    StageTasks,
    /// `GET /open-apis/approval/v4/tasks/query`: one user's approval tasks of one topic.
    ApprovalTasks,
    /// `GET /open-apis/task/v1/tasks`: task-v1 tasks the app created.
    Tasks,
    /// `GET /open-apis/contact/v3/departments/{department_id}/children`: the departments
    /// below one department (all levels with `fetch_child=true`).
    Departments,
    /// `GET /open-apis/contact/v3/users/find_by_department`: one department's direct members.
    Users,
    /// `POST /open-apis/performance/v2/reviewees/query`: the reviewees of one semester
    /// (paging in the query string).
    Reviewees,
    /// `POST /open-apis/performance/v2/review_datas/query`: the stage results of up to 10
    /// reviewees in up to 10 semesters; no paging.
    ReviewData,
    /// `POST /open-apis/performance/v2/metric_details/query`: the metrics of up to 50
    /// reviewees of one semester; no paging.
    MetricDetails,
    /// `POST /open-apis/performance/v2/indicators/query`: every review indicator with its
    /// level options (paging in the query string).
    Indicators,
    /// `POST /open-apis/performance/v2/metric_fields/query`: every metric field (target,
    /// actual, ...); no paging.
    MetricFields,
}

/// The documented caps of the performance-result requests: `semester_ids` and
/// `reviewee_user_ids` of one review-data request, reviewees of one metric-detail request.
pub const REVIEW_DATA_MAX_SEMESTERS: usize = 10;
/// See [`REVIEW_DATA_MAX_SEMESTERS`].
pub const REVIEW_DATA_MAX_REVIEWEES: usize = 10;
/// See [`REVIEW_DATA_MAX_SEMESTERS`].
pub const METRIC_DETAILS_MAX_REVIEWEES: usize = 50;

/// Every stage type the review-data document lists for `stage_types`.
pub const REVIEW_STAGE_TYPES: [&str; 6] = [
    "summarize_key_outputs",
    "review",
    "communication_and_open_result",
    "view_result",
    "reconsideration",
    "leader_review",
];

/// `GET`: the app's contact range (departments, users, groups). Read by the directory
/// streams when the root department is refused; billed to their budgets.
pub const CONTACT_SCOPES_PATH: &str = "/open-apis/contact/v3/scopes";

/// `GET`: one department's own record (`data.department`), for the departments of a
/// partial contact range, whose children listing does not include them.
pub const DEPARTMENT_PATH: &str = "/open-apis/contact/v3/departments/{department_id}";

/// `GET`: one user (`data.user`), for users granted to the app one by one.
pub const USER_PATH: &str = "/open-apis/contact/v3/users/{user_id}";

/// `GET`: the members of a user group (`data.memberlist[]`, paged), for the groups the
/// app's contact range grants. Billed to the users budget.
pub const GROUP_MEMBERS_PATH: &str = "/open-apis/contact/v3/group/{group_id}/member/simplelist";
/// `GET`: one task v1 task (`data.task`), re-read when a task event arrives; billed to
/// the tasks budget.
pub const TASK_PATH: &str = "/open-apis/task/v1/tasks/{task_id}";

/// `GET`: one approval instance (its initiator), for an `approval_instance` event; billed
/// to the approval budget.
pub const APPROVAL_INSTANCE_PATH: &str = "/open-apis/approval/v4/instances/{instance_id}";

/// `POST`: subscribes the app to one approval definition's events; billed to the approval
/// budget.
pub const APPROVAL_SUBSCRIBE_PATH: &str =
    "/open-apis/approval/v4/approvals/{approval_code}/subscribe";

/// `POST` `{"AppID","AppSecret"}` (not under `/open-apis`, no token): the long
/// connection's WebSocket URL and client configuration.
pub const WS_ENDPOINT_PATH: &str = "/callback/ws/endpoint";

/// `template` with its one `{name}` segment replaced by `value`, percent-encoded: an id
/// holding `/`, `?`, `#` or `..` stays one path segment and cannot reach another path.
pub fn fill_path(template: &str, value: &str) -> String {
    match (template.find('{'), template.find('}')) {
        (Some(open), Some(close)) if open < close => {
            let segment = encode_segment(value);
            format!("{}{segment}{}", &template[..open], &template[close + 1..])
        }
        _ => template.to_string(),
    }
}

/// `value` with every byte but RFC 3986's unreserved characters percent-encoded; `.` and
/// `..` (the dot segments) are encoded too.
fn encode_segment(value: &str) -> String {
    if value == "." || value == ".." {
        return value.replace('.', "%2E");
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Endpoint {
    /// Every endpoint, in the order streams run (parents first).
    pub const ALL: [Endpoint; 12] = [
        Endpoint::Semesters,
        Endpoint::Activities,
        Endpoint::StageTasks,
        Endpoint::Departments,
        Endpoint::Users,
        Endpoint::ApprovalTasks,
        Endpoint::Tasks,
        Endpoint::Reviewees,
        Endpoint::ReviewData,
        Endpoint::MetricDetails,
        Endpoint::Indicators,
        Endpoint::MetricFields,
    ];

    /// The stream / config name, e.g. `stage_tasks`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Semesters => "semesters",
            Endpoint::Activities => "activities",
            Endpoint::StageTasks => "stage_tasks",
            Endpoint::ApprovalTasks => "approval_tasks",
            Endpoint::Tasks => "tasks",
            Endpoint::Departments => "departments",
            Endpoint::Users => "users",
            Endpoint::Reviewees => "reviewees",
            Endpoint::ReviewData => "review_data",
            Endpoint::MetricDetails => "metric_details",
            Endpoint::Indicators => "indicators",
            Endpoint::MetricFields => "metric_fields",
        }
    }

    /// Parses a stream / config name.
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Path below the base URL; `{department_id}` in the departments' path is a path
    /// parameter ([`fill_path`]).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Semesters => "/open-apis/performance/v1/semesters",
            Endpoint::Activities => "/open-apis/performance/v2/activity/query",
            Endpoint::StageTasks => "/open-apis/performance/v1/stage_tasks/find_by_page",
            Endpoint::ApprovalTasks => "/open-apis/approval/v4/tasks/query",
            Endpoint::Tasks => "/open-apis/task/v1/tasks",
            Endpoint::Departments => "/open-apis/contact/v3/departments/{department_id}/children",
            Endpoint::Users => "/open-apis/contact/v3/users/find_by_department",
            Endpoint::Reviewees => "/open-apis/performance/v2/reviewees/query",
            Endpoint::ReviewData => "/open-apis/performance/v2/review_datas/query",
            Endpoint::MetricDetails => "/open-apis/performance/v2/metric_details/query",
            Endpoint::Indicators => "/open-apis/performance/v2/indicators/query",
            Endpoint::MetricFields => "/open-apis/performance/v2/metric_fields/query",
        }
    }

    /// HTTP method.
    pub fn method(self) -> Method {
        match self {
            Endpoint::Semesters
            | Endpoint::ApprovalTasks
            | Endpoint::Tasks
            | Endpoint::Departments
            | Endpoint::Users => Method::Get,
            Endpoint::Activities
            | Endpoint::StageTasks
            | Endpoint::Reviewees
            | Endpoint::ReviewData
            | Endpoint::MetricDetails
            | Endpoint::Indicators
            | Endpoint::MetricFields => Method::Post,
        }
    }

    /// Whether `page_size`/`page_token` go in the query string even though the request
    /// is a `POST` (the performance v2 queries), instead of in the body.
    pub fn pages_in_query(self) -> bool {
        matches!(self, Endpoint::Reviewees | Endpoint::Indicators) || self.method() == Method::Get
    }

    /// Largest `page_size` the document allows; `None` for endpoints without paging.
    pub fn max_page_size(self) -> Option<u32> {
        match self {
            Endpoint::StageTasks => Some(50),
            Endpoint::ApprovalTasks => Some(200),
            Endpoint::Tasks => Some(100),
            Endpoint::Departments | Endpoint::Users => Some(50),
            Endpoint::Reviewees | Endpoint::Indicators => Some(50),
            Endpoint::Semesters
            | Endpoint::Activities
            | Endpoint::ReviewData
            | Endpoint::MetricDetails
            | Endpoint::MetricFields => None,
        }
    }

    /// Default requests per minute: the documented limit where the document gives one
    /// (10 / 10 / 20; the performance v2 queries 20, indicators 10; the contact endpoints 1000 a minute and 50 a second, of which a
    /// budget spaced evenly never exceeds the second's), and a conservative value for
    /// approval and task v1, whose documents give none.
    pub fn default_rate_per_minute(self) -> u32 {
        match self {
            Endpoint::Semesters | Endpoint::Activities | Endpoint::Indicators => 10,
            Endpoint::StageTasks
            | Endpoint::Reviewees
            | Endpoint::ReviewData
            | Endpoint::MetricDetails
            | Endpoint::MetricFields => 20,
            Endpoint::ApprovalTasks | Endpoint::Tasks => 100,
            Endpoint::Departments | Endpoint::Users => 1000,
        }
    }
}

impl Endpoint {
    /// The scopes the endpoint's document lists: any one of them lets the app call it. A
    /// missing-scope answer (99991672) names these, so the fix is one click away.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Endpoint::Semesters => &[
                "performance:performance:readonly",
                "performance:performance",
                "performance:semester:read",
            ],
            Endpoint::Activities => &[
                "performance:performance:readonly",
                "performance:performance",
                "performance:semester_activity:read",
            ],
            Endpoint::StageTasks => &[
                "performance:performance:readonly",
                "performance:performance",
            ],
            Endpoint::ApprovalTasks => &["approval:approval:readonly"],
            Endpoint::Tasks => &["task:task:readonly", "task:task"],
            Endpoint::Departments => &[
                "contact:contact.base:readonly",
                "contact:department.organize:readonly",
                "contact:contact:readonly_as_app",
                "contact:contact:access_as_app",
                "contact:contact:readonly",
            ],
            Endpoint::Users => &[
                "contact:contact.base:readonly",
                "contact:department.organize:readonly",
                "contact:contact:readonly_as_app",
                "contact:contact:access_as_app",
                "contact:contact:readonly",
            ],
            Endpoint::Reviewees => &[
                "performance:performance:readonly",
                "performance:performance",
                "performance:semester_user:read",
            ],
            Endpoint::ReviewData => &[
                "performance:performance:readonly",
                "performance:performance",
            ],
            Endpoint::MetricDetails => &["performance:metric:read", "performance:metric:write"],
            Endpoint::Indicators => &[
                "performance:performance:readonly",
                "performance:performance",
                "performance:review_template:read",
            ],
            Endpoint::MetricFields => &[
                "performance:metric:read",
                "performance:metric:write",
                "performance:metric_lib:read",
            ],
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_filled() {
        assert_eq!(
            fill_path(Endpoint::Departments.path(), "od-1"),
            "/open-apis/contact/v3/departments/od-1/children"
        );
        assert_eq!(
            fill_path(USER_PATH, "ou_1"),
            "/open-apis/contact/v3/users/ou_1"
        );
        assert_eq!(fill_path(CONTACT_SCOPES_PATH, "x"), CONTACT_SCOPES_PATH);
        assert_eq!(
            fill_path(USER_PATH, "ou_1/../../../auth?x=1#f"),
            "/open-apis/contact/v3/users/ou_1%2F..%2F..%2F..%2Fauth%3Fx%3D1%23f",
            "an id stays one segment"
        );
        assert_eq!(
            fill_path(USER_PATH, ".."),
            "/open-apis/contact/v3/users/%2E%2E"
        );
        assert_eq!(
            fill_path(USER_PATH, "用户"),
            "/open-apis/contact/v3/users/%E7%94%A8%E6%88%B7"
        );
    }

    #[test]
    fn names_round_trip() {
        for endpoint in Endpoint::ALL {
            assert_eq!(Endpoint::from_name(endpoint.name()), Some(endpoint));
        }
        assert_eq!(Endpoint::from_name("nope"), None);
    }
}
