//! The `users` stream: the direct members of the root and of every current department in
//! `feishu.departments`, or, for a partial contact range, of the granted departments (the
//! root is refused) plus the users granted one by one. A complete pass retires users it no
//! longer saw (or saw resigned) and makes `feishu.user_departments` exactly its memberships.

use anyhow::Context;
use serde_json::Value;
use sqlx::PgConnection;

use super::user_rows::{Columns, UserPage, id_field};
use super::{
    ROOT, SharedSeen, contact_range, department_id_type, group_members, read_granted, root_refused,
};
use crate::db::RunCounts;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync::context::SyncContext;
use crate::sync::outcome::StreamOutcome;
use crate::sync::partition::StreamPass;
use crate::sync::read_mode::ReadMode;
use crate::sync::scopes::missing_user_id_scope;
use crate::sync::sink::{Completion, PageWrite, Partition, PartitionSink, PassSink};
use crate::sync_state::Pass;
use feishu_endpoints::USER_PATH;

/// User fields that arrive only with a field scope, and the scopes that return them.
const SCOPED_FIELDS: [(&str, &str); 2] = [
    (
        "status",
        "contact:user.employee:readonly (or contact:contact:readonly_as_app, \
         contact:contact:access_as_app, contact:contact:readonly)",
    ),
    ("department_ids", "contact:user.department:readonly"),
];

/// When not one of a page's records carries a field of [`SCOPED_FIELDS`], the app lacks
/// its field scope: warns once per pass, naming the scope. The fields stay NULL (never
/// `false`), and retirement by absence goes on working.
pub(super) fn warn_missing_field_scopes(records: &[Value], seen: &SharedSeen) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if records.is_empty() {
        return missing;
    }
    for (field, scope) in SCOPED_FIELDS {
        if records.iter().all(|r| r.get(field).is_none()) && seen.lock().warned.insert(field) {
            tracing::warn!(
                field,
                scope,
                "user records arrive without {field}: the app lacks the field scope {scope}; \
                 the columns it fills stay NULL until the scope is granted"
            );
            missing.push(field);
        }
    }
    missing
}

/// Writes one department's direct members.
struct UserSink {
    department: String,
    user_id_type: UserIdType,
    seen: SharedSeen,
}

impl PartitionSink for UserSink {
    type Data = UserPage;

    async fn write_page(
        &mut self,
        tx: &mut PgConnection,
        data: UserPage,
    ) -> anyhow::Result<PageWrite> {
        if let Some(error) =
            missing_user_id_scope(Endpoint::Users, self.user_id_type, &data.items, "user_id")
        {
            return Err(error.into());
        }
        warn_missing_field_scopes(&data.items, &self.seen);
        let (columns, rejected) = Columns::build(data.items, id_field(self.user_id_type));
        columns.note(&self.seen, Some(&self.department));
        let written = columns.upsert(tx).await?;
        Ok(PageWrite { written, rejected })
    }

    async fn complete(
        &mut self,
        _tx: &mut PgConnection,
        _pass: &Pass,
    ) -> anyhow::Result<Completion> {
        Ok(Completion::default())
    }

    /// The stream retires once, at the end of the whole pass (see [`Unseen`]).
    async fn retire(&mut self, _tx: &mut PgConnection) -> anyhow::Result<u64> {
        Ok(0)
    }

    fn listed(&self) -> usize {
        0
    }
}

fn members_of(
    department: &str,
    user_id_type: UserIdType,
    seen: &SharedSeen,
) -> Partition<UserSink> {
    let mut request = ApiRequest::new(Endpoint::Users);
    request.query = department_id_type();
    request
        .query
        .push(("department_id".into(), department.to_string()));
    Partition {
        key: department.to_string(),
        request,
        sink: UserSink {
            department: department.to_string(),
            user_id_type,
            seen: seen.clone(),
        },
    }
}

/// Current departments, as the departments stream left them.
async fn current_departments(ctx: &SyncContext) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT id FROM feishu.departments WHERE deleted_at IS NULL ORDER BY id")
        .fetch_all(&ctx.pool)
        .await
        .context("listing the current departments")
}

/// Reads every user the app may see; the reader's end of a complete pass retires the
/// others and rewrites the memberships.
pub async fn read(ctx: &SyncContext, mode: &ReadMode) -> anyhow::Result<StreamOutcome> {
    let user_id_type = ctx.client.user_id_type();
    let seen = SharedSeen::default();
    let departments = current_departments(ctx).await?;
    let partitions: Vec<_> = std::iter::once(ROOT)
        .chain(departments.iter().map(String::as_str))
        .map(|d| members_of(d, user_id_type, &seen))
        .collect();
    let mut pass = StreamPass::begin(ctx, mode, Endpoint::Users);
    pass.read(partitions, 2).await;
    let outcome = &mut pass.outcome;
    if root_refused(outcome) {
        let range = contact_range(ctx, Endpoint::Users).await?;
        let mut granted = range.users.clone();
        for group in &range.groups {
            // Members already read are not read again; a group that cannot be read makes
            // the pass incomplete, so nothing is retired.
            match group_members(ctx, group).await {
                Ok(members) => granted.extend(
                    members
                        .into_iter()
                        .filter(|m| !range.users.contains(m) && !seen.lock().ids.contains(m)),
                ),
                Err(error) => {
                    tracing::error!(
                        group,
                        error = format!("{error:#}"),
                        "a granted group's members cannot be read"
                    );
                    outcome
                        .failed_partitions
                        .push(format!("group {group}: {error:#}"));
                }
            }
        }
        granted.sort();
        granted.dedup();
        let (counts, refused) = granted_users(ctx, &granted, user_id_type, &seen).await?;
        outcome.counts.add(counts);
        outcome.refused.extend(refused);
    }
    let unseen = Unseen {
        ids: seen.ids(),
        seen,
    };
    pass.end(unseen).await
}

/// The users granted one by one, read each on its own, and those the app may no longer read.
async fn granted_users(
    ctx: &SyncContext,
    granted: &[String],
    user_id_type: UserIdType,
    seen: &SharedSeen,
) -> anyhow::Result<(RunCounts, Vec<String>)> {
    let (records, refused) = read_granted(ctx, Endpoint::Users, USER_PATH, granted, "user").await?;
    warn_missing_field_scopes(&records, seen);
    let (columns, rejected) = Columns::build(records, id_field(user_id_type));
    anyhow::ensure!(
        rejected.is_empty(),
        "a granted user's record is malformed: {:?}",
        rejected[0].reason
    );
    columns.note(seen, None);
    let mut tx = ctx.pool.begin().await?;
    let written = columns.upsert(&mut tx).await?;
    tx.commit().await?;
    let counts = RunCounts {
        rows_written: written,
        ..RunCounts::default()
    };
    Ok((counts, refused))
}

/// What a complete pass retires: users it did not see (or saw resigned) get
/// `deleted_at`, and `user_departments` becomes exactly the memberships it saw.
struct Unseen {
    /// The users the pass saw, sorted.
    ids: Vec<String>,
    seen: SharedSeen,
}

impl PassSink for Unseen {
    async fn retire(&self, tx: &mut PgConnection) -> anyhow::Result<RunCounts> {
        let retired = sqlx::query!(
            "UPDATE feishu.users SET deleted_at = now(), synced_at = now()
          WHERE deleted_at IS NULL AND NOT (id = ANY($1::text[]))",
            &self.ids
        )
        .execute(&mut *tx)
        .await
        .context("retiring users")?;
        let written = rewrite_memberships(tx, &self.seen).await?;
        Ok(RunCounts {
            rows_written: written,
            rows_retired: retired.rows_affected(),
            ..RunCounts::default()
        })
    }

    fn listed(&self) -> usize {
        self.ids.len()
    }
}

/// `user_departments` made exactly the memberships the pass saw; returns the rows changed.
async fn rewrite_memberships(tx: &mut PgConnection, seen: &SharedSeen) -> anyhow::Result<u64> {
    let (mut users, mut departments, mut primary) = (Vec::new(), Vec::new(), Vec::new());
    for ((user, department), is_primary) in seen.lock().memberships.iter() {
        users.push(user.clone());
        departments.push(department.clone());
        primary.push(*is_primary);
    }
    // Memberships that ended, then those that began or changed; unchanged ones are not touched.
    let ended = sqlx::query!(
        "DELETE FROM feishu.user_departments m
          WHERE NOT EXISTS (SELECT 1 FROM UNNEST($1::text[], $2::text[]) AS s(u, d)
                             WHERE s.u = m.user_id AND s.d = m.department_id)",
        &users,
        &departments
    )
    .execute(&mut *tx)
    .await
    .context("removing ended memberships")?;
    let began = sqlx::query!(
        "INSERT INTO feishu.user_departments AS t (user_id, department_id, is_primary)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bool[])
         ON CONFLICT (user_id, department_id) DO UPDATE SET is_primary = EXCLUDED.is_primary
         WHERE t.is_primary IS DISTINCT FROM EXCLUDED.is_primary",
        &users,
        &departments,
        &primary as _
    )
    .execute(&mut *tx)
    .await
    .context("adding new memberships")?;
    Ok(ended.rows_affected() + began.rows_affected())
}
