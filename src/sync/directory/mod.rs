//! The organisation directory (contact v3): the `departments` stream, then the `users`
//! stream, which reads the members of every department the first one stored.
//!
//! Both try the whole directory first (department `"0"`). An app whose contact range is
//! partial is refused there (40004, one request and a log line); both then start from
//! `/contact/v3/scopes`: its departments with everything below them, and its users granted
//! one by one. Rows a complete pass no longer returns get `deleted_at`, under the one rule
//! of [`crate::sync::retirement`]: a pass that was refused anywhere, cut short or resumed,
//! or whose parent stream did not complete, retires nothing.

pub mod departments;
pub mod events;
mod user_rows;
pub mod users;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use super::context::SyncContext;
use super::outcome::StreamOutcome;
use crate::feishu::{ApiError, ApiRequest, Endpoint, Pager};
use feishu_endpoints::{CONTACT_SCOPES_PATH, GROUP_MEMBERS_PATH, fill_path};

/// The root department, which only an app with the whole directory in range may read.
pub const ROOT: &str = "0";

/// What the app's contact range grants when it is not the whole directory.
#[derive(Debug, Default, PartialEq)]
pub struct ContactRange {
    /// `open_department_id`s, each with everything below it.
    pub departments: Vec<String>,
    /// Users granted one by one, in `feishu.user_id_type`.
    pub users: Vec<String>,
    /// User groups granted: their members count as users granted one by one.
    pub groups: Vec<String>,
}

/// `data` of `/contact/v3/scopes`.
#[derive(Debug, Deserialize)]
struct ScopesPage {
    #[serde(default)]
    department_ids: Vec<String>,
    #[serde(default)]
    user_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
}

impl ContactRange {
    /// Adds one page of `/contact/v3/scopes`.
    fn add(&mut self, page: ScopesPage) {
        self.departments.extend(page.department_ids);
        self.users.extend(page.user_ids);
        self.groups.extend(page.group_ids);
    }
}

/// `data` of a group member list page.
#[derive(Debug, Deserialize)]
pub(super) struct GroupMemberPage {
    #[serde(default)]
    pub(super) memberlist: Vec<GroupMember>,
}

/// One member of a user group.
#[derive(Debug, Deserialize)]
pub(super) struct GroupMember {
    pub(super) member_id: String,
    pub(super) member_type: Option<String>,
}

/// The user members of `group`, every page, in `feishu.user_id_type`, on the users budget.
pub async fn group_members(ctx: &SyncContext, group: &str) -> anyhow::Result<Vec<String>> {
    let mut request = ApiRequest::new(Endpoint::Users);
    request.path = Some(fill_path(GROUP_MEMBERS_PATH, group));
    request.query = vec![
        (
            "member_id_type".into(),
            ctx.client.user_id_type().as_str().to_string(),
        ),
        ("member_type".into(), "user".into()),
    ];
    let mut pager = Pager::new(&ctx.client, request);
    let mut members = Vec::new();
    while let Some(page) = pager.next_page::<GroupMemberPage>().await? {
        let users = page.data.memberlist.into_iter();
        members.extend(
            users
                .filter(|m| m.member_type.as_deref().is_none_or(|t| t == "user"))
                .map(|m| m.member_id),
        );
    }
    Ok(members)
}

/// The scopes `/contact/v3/scopes` needs (any one of them).
pub const CONTACT_SCOPES_SCOPES: [&str; 3] = [
    "contact:contact.base:readonly",
    "contact:contact:readonly_as_app",
    "contact:contact:access_as_app",
];

/// Reads `/contact/v3/scopes`, every page, on `endpoint`'s budget. Refused for a missing
/// scope, it fails the stream with one message naming the scopes it needs.
pub async fn contact_range(ctx: &SyncContext, endpoint: Endpoint) -> anyhow::Result<ContactRange> {
    let mut request = ApiRequest::new(endpoint);
    request.path = Some(CONTACT_SCOPES_PATH.to_string());
    request.query = department_id_type();
    let mut pager = Pager::new(&ctx.client, request);
    let mut range = ContactRange::default();
    loop {
        let page = match pager.next_page::<ScopesPage>().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error @ ApiError::Forbidden { .. }) => {
                return Err(anyhow::Error::new(error)).context(format!(
                    "the app's contact range is partial (department 0 is refused), and {CONTACT_SCOPES_PATH}, \
                     which lists what it grants, refuses the app: grant one of {} (developer console > \
                     Permissions & Scopes), or widen the contact range to the whole directory",
                    CONTACT_SCOPES_SCOPES.join(", ")
                ));
            }
            Err(error) => return Err(error.into()),
        };
        range.add(page.data);
    }
    tracing::info!(
        departments = range.departments.len(),
        users = range.users.len(),
        groups = range.groups.len(),
        "read the app's contact range"
    );
    Ok(range)
}

/// Every directory request names departments by `open_department_id`, the id that never
/// changes and is unique in the tenant.
fn department_id_type() -> Vec<(String, String)> {
    vec![("department_id_type".into(), "open_department_id".into())]
}

/// The records (`data.<field>`) of resources granted one by one, read each on
/// `endpoint`'s budget, and the ids the app may no longer read (skipped with a log line).
async fn read_granted(
    ctx: &SyncContext,
    endpoint: Endpoint,
    template: &str,
    ids: &[String],
    field: &str,
) -> anyhow::Result<(Vec<Value>, Vec<String>)> {
    let (mut records, mut refused) = (Vec::new(), Vec::new());
    for id in ids {
        let mut request = ApiRequest::new(endpoint);
        request.path = Some(fill_path(template, id));
        request.query = department_id_type();
        match ctx.client.call(&request).await {
            Ok(reply) => records.extend(reply.data.get(field).cloned()),
            Err(error) if error.is_out_of_contact_range() => {
                tracing::warn!(id, error = %error, "outside the app's contact range; skipped");
                refused.push(id.clone());
            }
            Err(error) => {
                return Err(anyhow::Error::new(error)).with_context(|| format!("reading {id}"));
            }
        }
    }
    Ok((records, refused))
}

/// What one pass has seen, shared by the sinks of its partitions.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    /// `(user, department)` pairs, for the users stream, each with whether it is the
    /// user's primary department (`None`: the record did not say).
    memberships: HashMap<(String, String), Option<bool>>,
    /// Field scopes already reported missing in this pass (each is warned about once).
    warned: HashSet<&'static str>,
}

/// A cheap handle on a pass's [`Seen`].
#[derive(Debug, Default, Clone)]
struct SharedSeen(Arc<Mutex<Seen>>);

impl SharedSeen {
    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ids the pass saw, sorted.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().ids.iter().cloned().collect();
        ids.sort();
        ids
    }
}

/// Takes the root's refusal out of `outcome`: a partial contact range is expected, and
/// the caller reads the range instead. Returns whether the root was refused.
fn root_refused(outcome: &mut StreamOutcome) -> bool {
    let refused = outcome.refused.iter().any(|k| k == ROOT);
    if refused {
        outcome.refused.retain(|k| k != ROOT);
        tracing::info!(
            "department 0 is refused: the app's contact range is partial; reading /contact/v3/scopes"
        );
    }
    refused
}
