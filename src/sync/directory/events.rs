//! The directory's side of events: a user event's object upserted as a poll would write
//! it (the stored `is_tenant_manager` kept, since events do not carry it; the user re-read
//! when a field scope hides something), the user's memberships replaced; a department
//! re-read by id (its events carry no i18n names or member counts); deletions retired.

use anyhow::Context;
use serde_json::Value;

use super::department_id_type;
use super::departments;
use super::user_rows::{Columns, id_field};
use crate::db::RunCounts;
use crate::feishu::{ApiRequest, Endpoint, UserIdType};
use crate::sync::context::SyncContext;
use feishu_endpoints::{DEPARTMENT_PATH, USER_PATH, fill_path};

/// The id of `object` that `feishu.users.id` holds, if it carries one.
pub fn user_key(ctx: &SyncContext, object: &Value) -> Option<String> {
    user_key_as(ctx.client.user_id_type(), object)
}

/// [`user_key`] for ids of `user_id_type` (`feishu.user_id_type`).
pub fn user_key_as(user_id_type: UserIdType, object: &Value) -> Option<String> {
    let field = id_field(user_id_type);
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Upserts a user from a created/updated event's `object`; re-reads the user with one
/// request when the object lacks a field the stored row has (a field scope of the event
/// subscription hides it) or the id itself.
pub async fn apply_user(ctx: &SyncContext, id: &str, object: &Value) -> anyhow::Result<RunCounts> {
    let stored: Option<Value> =
        sqlx::query_scalar!("SELECT raw FROM feishu.users WHERE id = $1", id)
            .fetch_optional(&ctx.pool)
            .await
            .context("reading the stored user")?;
    let mut record = object.clone();
    let hidden = stored.as_ref().is_some_and(|raw| hides_fields(raw, object))
        || user_key(ctx, object).is_none();
    if hidden {
        record = read_user(ctx, id).await?;
    } else if let (Some(raw), Some(map)) = (&stored, record.as_object_mut()) {
        // Events carry no is_tenant_manager: keep what the last poll stored.
        if let Some(manager) = raw.get("is_tenant_manager") {
            map.insert("is_tenant_manager".into(), manager.clone());
        }
    }
    let (columns, rejected) = Columns::build(vec![record], id_field(ctx.client.user_id_type()));
    anyhow::ensure!(
        rejected.is_empty(),
        "a user event's object is malformed: {}",
        rejected[0].reason
    );
    let departments: Vec<String> = columns
        .departments
        .first()
        .cloned()
        .flatten()
        .unwrap_or_default();
    let primary: Vec<Option<bool>> = departments
        .iter()
        .map(|d| columns.is_primary(0, d))
        .collect();
    let resigned = columns.is_resigned.first().copied().flatten() == Some(true);
    let mut tx = ctx.pool.begin().await?;
    let mut written = columns.upsert(&mut tx).await?;
    written += replace_memberships(&mut tx, id, &departments, &primary, resigned).await?;
    let mut retired = 0;
    if resigned {
        retired = retire_user_in(&mut tx, id).await?;
    }
    tx.commit().await.context("committing a user event")?;
    Ok(RunCounts {
        rows_written: written,
        rows_retired: retired,
        ..RunCounts::default()
    })
}

/// Whether the stored record has fields (other than `is_tenant_manager`) that `object`
/// lacks.
fn hides_fields(stored: &Value, object: &Value) -> bool {
    let (Some(stored), Some(object)) = (stored.as_object(), object.as_object()) else {
        return false;
    };
    stored
        .keys()
        .any(|k| k != "is_tenant_manager" && !object.contains_key(k))
}

async fn read_user(ctx: &SyncContext, id: &str) -> anyhow::Result<Value> {
    let mut request = ApiRequest::new(Endpoint::Users);
    request.path = Some(fill_path(USER_PATH, id));
    request.query = department_id_type();
    let reply = ctx
        .client
        .call(&request)
        .await
        .with_context(|| format!("re-reading user {id}"))?;
    reply
        .data
        .get("user")
        .cloned()
        .context("the user answer carries no data.user")
}

/// Makes `user`'s memberships exactly `departments`, each with whether it is the primary
/// one (none when resigned).
async fn replace_memberships(
    tx: &mut sqlx::PgConnection,
    user: &str,
    departments: &[String],
    primary: &[Option<bool>],
    resigned: bool,
) -> anyhow::Result<u64> {
    let (keep, primary): (Vec<String>, Vec<Option<bool>>) = match resigned {
        true => (Vec::new(), Vec::new()),
        false => (departments.to_vec(), primary.to_vec()),
    };
    let ended = sqlx::query!(
        "DELETE FROM feishu.user_departments WHERE user_id = $1 AND NOT (department_id = ANY($2::text[]))",
        user,
        &keep
    )
    .execute(&mut *tx)
    .await
    .context("removing a user's ended memberships")?;
    let began = sqlx::query!(
        "INSERT INTO feishu.user_departments AS t (user_id, department_id, is_primary)
         SELECT $1, d, p FROM UNNEST($2::text[], $3::bool[]) AS x(d, p)
         ON CONFLICT (user_id, department_id) DO UPDATE SET is_primary = EXCLUDED.is_primary
         WHERE t.is_primary IS DISTINCT FROM EXCLUDED.is_primary",
        user,
        &keep,
        &primary as _
    )
    .execute(&mut *tx)
    .await
    .context("adding a user's memberships")?;
    Ok(ended.rows_affected() + began.rows_affected())
}

async fn retire_user_in(tx: &mut sqlx::PgConnection, id: &str) -> anyhow::Result<u64> {
    let retired = sqlx::query!(
        "UPDATE feishu.users SET deleted_at = now(), synced_at = now() WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(&mut *tx)
    .await
    .context("retiring a user")?;
    sqlx::query!("DELETE FROM feishu.user_departments WHERE user_id = $1", id)
        .execute(&mut *tx)
        .await
        .context("removing a retired user's memberships")?;
    Ok(retired.rows_affected())
}

/// `contact.user.deleted_v3`: the user is retired and leaves every department.
pub async fn retire_user(ctx: &SyncContext, id: &str) -> anyhow::Result<RunCounts> {
    let mut tx = ctx.pool.begin().await?;
    let retired = retire_user_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(RunCounts {
        rows_retired: retired,
        ..RunCounts::default()
    })
}

/// `contact.department.created_v3` / `updated_v3`: one request for the department's whole
/// record, upserted.
pub async fn reread_department(ctx: &SyncContext, id: &str) -> anyhow::Result<RunCounts> {
    let mut request = ApiRequest::new(Endpoint::Departments);
    request.path = Some(fill_path(DEPARTMENT_PATH, id));
    request.query = department_id_type();
    let reply = ctx
        .client
        .call(&request)
        .await
        .with_context(|| format!("re-reading department {id}"))?;
    let record = reply
        .data
        .get("department")
        .cloned()
        .context("the answer carries no data.department")?;
    let mut tx = ctx.pool.begin().await?;
    let write = departments::upsert(&mut tx, vec![record]).await?;
    anyhow::ensure!(
        write.rejected.is_empty(),
        "department {id}'s record is malformed: {:?}",
        write.rejected[0].reason
    );
    tx.commit().await?;
    Ok(RunCounts {
        rows_written: write.written,
        ..RunCounts::default()
    })
}

/// `contact.department.deleted_v3`: the department is retired.
pub async fn retire_department(ctx: &SyncContext, id: &str) -> anyhow::Result<RunCounts> {
    let retired = sqlx::query!(
        "UPDATE feishu.departments SET deleted_at = now(), synced_at = now() WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(&ctx.pool)
    .await
    .context("retiring a department")?;
    Ok(RunCounts {
        rows_retired: retired.rows_affected(),
        ..RunCounts::default()
    })
}

/// The contact documents' event examples, verbatim (`src/events/examples/`): a user
/// event's `object` is the contact v3 user, mapped by the users stream's own code.
#[cfg(test)]
mod tests {
    use super::*;

    const UPDATED: &str = include_str!("../../events/examples/contact.user.updated_v3.json");

    fn object() -> Value {
        let payload: Value = serde_json::from_str(UPDATED).unwrap();
        payload["event"]["object"].clone()
    }

    #[test]
    fn the_documents_user_object_maps_to_a_users_row_and_its_membership() {
        let (columns, rejected) = Columns::build(vec![object()], id_field(UserIdType::UserId));

        assert!(rejected.is_empty(), "{:?}", rejected[0].reason);
        assert_eq!(columns.id, ["e33ggbyz"]);
        let department = "od-4e6ac4d14bcd5071a37a39de902c7141";
        assert_eq!(columns.departments, [Some(vec![department.to_string()])]);
        assert_eq!(columns.is_primary(0, department), Some(true));
        assert_eq!(columns.is_resigned, [Some(false)]);
        assert_eq!(
            user_key_as(UserIdType::OpenId, &object()).as_deref(),
            Some("ou_7dab8a3d3cdcc9da365777c7ad535d62")
        );
    }

    #[test]
    fn a_full_object_hides_nothing_the_stored_row_has_but_is_tenant_manager() {
        let mut stored = object();
        stored["is_tenant_manager"] = Value::Bool(false);
        assert!(!hides_fields(&stored, &object()), "no re-read needed");
        let mut scoped = object();
        scoped.as_object_mut().unwrap().remove("enterprise_email");
        assert!(hides_fields(&stored, &scoped), "a hidden field is re-read");
    }
}
