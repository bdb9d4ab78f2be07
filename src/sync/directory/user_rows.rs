//! The users' wire types, their mapping to `feishu.users` rows and the upsert, and the
//! memberships (with the primary department) a page's records vouch for.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::SharedSeen;
use crate::feishu::UserIdType;
use crate::sync::columns::ColumnBuilder;
use crate::sync::rejects::RejectedRecord;

/// `data` of a `find_by_department` page.
#[derive(Debug, Deserialize)]
pub(super) struct UserPage {
    #[serde(default)]
    pub(super) items: Vec<Value>,
}

/// `status` of a user; absent without `contact:user.employee:readonly`.
#[derive(Debug, Default, Deserialize)]
struct WireStatus {
    is_activated: Option<bool>,
    is_frozen: Option<bool>,
    is_resigned: Option<bool>,
    is_exited: Option<bool>,
    is_unjoin: Option<bool>,
}

/// One entry of a user's `orders`: where they sort in one of their departments.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireOrder {
    pub(super) department_id: Option<String>,
    pub(super) is_primary_dept: Option<bool>,
}

/// One user as the API sends it; fields the app has no scope for are absent.
#[derive(Debug, Deserialize)]
struct WireUser {
    open_id: Option<String>,
    union_id: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
    en_name: Option<String>,
    email: Option<String>,
    enterprise_email: Option<String>,
    job_title: Option<String>,
    employee_no: Option<String>,
    employee_type: Option<i32>,
    leader_user_id: Option<String>,
    city: Option<String>,
    country: Option<String>,
    join_time: Option<i64>,
    is_tenant_manager: Option<bool>,
    #[serde(default)]
    status: WireStatus,
    gender: Option<i32>,
    job_level_id: Option<String>,
    job_family_id: Option<String>,
    dotted_line_leader_user_ids: Option<Vec<String>>,
    department_ids: Option<Vec<String>>,
    orders: Option<Vec<WireOrder>>,
}

/// Column arrays for one batch upsert.
#[derive(Default)]
pub(super) struct Columns {
    pub(super) id: Vec<String>,
    open_id: Vec<Option<String>>,
    union_id: Vec<Option<String>>,
    user_id: Vec<Option<String>>,
    pub(super) name: Vec<Option<String>>,
    en_name: Vec<Option<String>>,
    pub(super) email: Vec<Option<String>>,
    enterprise_email: Vec<Option<String>>,
    job_title: Vec<Option<String>>,
    employee_no: Vec<Option<String>>,
    pub(super) employee_type: Vec<Option<i32>>,
    leader_user_id: Vec<Option<String>>,
    city: Vec<Option<String>>,
    country: Vec<Option<String>>,
    pub(super) join_time: Vec<Option<DateTime<Utc>>>,
    is_tenant_manager: Vec<Option<bool>>,
    is_activated: Vec<Option<bool>>,
    is_frozen: Vec<Option<bool>>,
    pub(super) is_resigned: Vec<Option<bool>>,
    pub(super) is_exited: Vec<Option<bool>>,
    pub(super) is_unjoin: Vec<Option<bool>>,
    pub(super) gender: Vec<Option<i32>>,
    pub(super) job_level_id: Vec<Option<String>>,
    pub(super) job_family_id: Vec<Option<String>>,
    pub(super) dotted_line_leader_user_ids: Vec<Option<Vec<String>>>,
    /// Not a column: each user's departments, when the record lists them.
    pub(super) departments: Vec<Option<Vec<String>>>,
    /// Not a column: each user's `orders`, which say which department is primary.
    pub(super) orders: Vec<Option<Vec<WireOrder>>>,
    pub(super) raw: Vec<Value>,
    /// Not a column: the record field that holds `id` (see [`id_field`]).
    id_field: &'static str,
}

/// The name of the record field that holds `feishu.users.id`: a user record names each
/// of its ids after its type (`open_id`, `union_id`, `user_id`).
pub(super) fn id_field(user_id_type: UserIdType) -> &'static str {
    user_id_type.as_str()
}

impl Columns {
    /// Maps `records`, whose key is the `id_field` field, in key order (so concurrent
    /// pages lock rows in one order); malformed ones, and ones without that id (a missing
    /// field scope), are returned as rejected.
    pub(super) fn build(
        mut records: Vec<Value>,
        id_field: &'static str,
    ) -> (Columns, Vec<RejectedRecord>) {
        let key_of = |v: &Value| v.get(id_field).and_then(Value::as_str).map(str::to_string);
        records.sort_by_key(key_of);
        let columns = Columns {
            id_field,
            ..Columns::default()
        };
        columns.fill(records, id_field)
    }
}

impl ColumnBuilder for Columns {
    /// One record's row; nothing is pushed unless every field maps.
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let id_field = self.id_field;
        let u = WireUser::deserialize(record).context("user record")?;
        let id = record
            .get(id_field)
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .with_context(|| {
                format!("user record without {id_field} (the id feishu.user_id_type names)")
            })?
            .to_string();
        let join_time = match u.join_time.filter(|s| *s > 0) {
            None => None,
            Some(s) => Some(
                DateTime::from_timestamp(s, 0)
                    .with_context(|| format!("user {id}: join_time {s} is not a time"))?,
            ),
        };
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        self.join_time.push(join_time);
        self.open_id.push(non_empty(u.open_id));
        self.union_id.push(non_empty(u.union_id));
        self.user_id.push(non_empty(u.user_id));
        self.name.push(u.name);
        self.en_name.push(non_empty(u.en_name));
        self.email.push(non_empty(u.email));
        self.enterprise_email.push(non_empty(u.enterprise_email));
        self.job_title.push(non_empty(u.job_title));
        self.employee_no.push(non_empty(u.employee_no));
        self.employee_type.push(u.employee_type);
        self.leader_user_id.push(non_empty(u.leader_user_id));
        self.city.push(non_empty(u.city));
        self.country.push(non_empty(u.country));
        self.is_tenant_manager.push(u.is_tenant_manager);
        self.is_activated.push(u.status.is_activated);
        self.is_frozen.push(u.status.is_frozen);
        self.is_resigned.push(u.status.is_resigned);
        self.is_exited.push(u.status.is_exited);
        self.is_unjoin.push(u.status.is_unjoin);
        self.gender.push(u.gender);
        self.job_level_id.push(non_empty(u.job_level_id));
        self.job_family_id.push(non_empty(u.job_family_id));
        self.dotted_line_leader_user_ids
            .push(u.dotted_line_leader_user_ids);
        self.departments.push(u.department_ids);
        self.orders.push(u.orders);
        self.id.push(id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

impl Columns {
    /// Upserts the rows; an unchanged user is not rewritten.
    pub(super) async fn upsert(&self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let c = self;
        // A text[] per user does not fit an UNNEST parameter (arrays of arrays must be
        // rectangular): each travels as a JSON array; NULL stays NULL.
        let dotted: Vec<Value> = c
            .dotted_line_leader_user_ids
            .iter()
            .map(|ids| {
                ids.as_ref()
                    .map_or(Value::Null, |ids| Value::from(ids.clone()))
            })
            .collect();
        let written = sqlx::query!(
            r#"INSERT INTO feishu.users AS t
                   (id, open_id, union_id, user_id, name, en_name, email, enterprise_email, job_title,
                    employee_no, employee_type, leader_user_id, city, country, join_time,
                    is_tenant_manager, is_activated, is_frozen, is_resigned, is_exited, is_unjoin,
                    gender, job_level_id, job_family_id, dotted_line_leader_user_ids, raw)
               SELECT u.id, u.open_id, u.union_id, u.user_id, u.name, u.en_name, u.email,
                    u.enterprise_email, u.job_title, u.employee_no, u.employee_type,
                    u.leader_user_id, u.city, u.country, u.join_time, u.is_tenant_manager,
                    u.is_activated, u.is_frozen, u.is_resigned, u.is_exited, u.is_unjoin, u.gender,
                    u.job_level_id, u.job_family_id,
                    CASE WHEN jsonb_typeof(u.dotted) = 'array'
                         THEN ARRAY(SELECT jsonb_array_elements_text(u.dotted)) END, u.raw
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int4[],
                    $12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::bool[],
                    $17::bool[], $18::bool[], $19::bool[], $20::bool[], $21::bool[], $22::int4[],
                    $23::text[], $24::text[], $25::jsonb[], $26::jsonb[])
                   AS u(id, open_id, union_id, user_id, name, en_name, email, enterprise_email,
                        job_title, employee_no, employee_type, leader_user_id, city, country,
                        join_time, is_tenant_manager, is_activated, is_frozen, is_resigned,
                        is_exited, is_unjoin, gender, job_level_id, job_family_id, dotted, raw)
               ON CONFLICT (id) DO UPDATE SET
                    open_id = EXCLUDED.open_id, union_id = EXCLUDED.union_id, user_id = EXCLUDED.user_id,
                    name = EXCLUDED.name, en_name = EXCLUDED.en_name, email = EXCLUDED.email,
                    enterprise_email = EXCLUDED.enterprise_email, job_title = EXCLUDED.job_title,
                    employee_no = EXCLUDED.employee_no, employee_type = EXCLUDED.employee_type,
                    leader_user_id = EXCLUDED.leader_user_id, city = EXCLUDED.city,
                    country = EXCLUDED.country, join_time = EXCLUDED.join_time,
                    is_tenant_manager = EXCLUDED.is_tenant_manager, is_activated = EXCLUDED.is_activated,
                    is_frozen = EXCLUDED.is_frozen, is_resigned = EXCLUDED.is_resigned,
                    is_exited = EXCLUDED.is_exited, is_unjoin = EXCLUDED.is_unjoin,
                    gender = EXCLUDED.gender, job_level_id = EXCLUDED.job_level_id,
                    job_family_id = EXCLUDED.job_family_id,
                    dotted_line_leader_user_ids = EXCLUDED.dotted_line_leader_user_ids,
                    raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
               WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL"#,
            &c.id, &c.open_id as _, &c.union_id as _, &c.user_id as _, &c.name as _, &c.en_name as _,
            &c.email as _, &c.enterprise_email as _, &c.job_title as _, &c.employee_no as _,
            &c.employee_type as _, &c.leader_user_id as _, &c.city as _, &c.country as _,
            &c.join_time as _, &c.is_tenant_manager as _, &c.is_activated as _, &c.is_frozen as _,
            &c.is_resigned as _, &c.is_exited as _, &c.is_unjoin as _, &c.gender as _,
            &c.job_level_id as _, &c.job_family_id as _, &dotted, &c.raw
        )
        .execute(&mut *tx)
        .await
        .context("upserting feishu.users")?;
        Ok(written.rows_affected())
    }

    /// Notes who was seen current (resigned users count as gone) and in which
    /// departments: those the record lists, else the one that listed it.
    pub(super) fn note(&self, seen: &SharedSeen, listed_in: Option<&str>) {
        let mut seen = seen.lock();
        for (i, id) in self.id.iter().enumerate() {
            if self.is_resigned[i] == Some(true) {
                continue;
            }
            seen.ids.insert(id.clone());
            let departments = match (&self.departments[i], listed_in) {
                (Some(listed), _) if !listed.is_empty() => listed.clone(),
                (_, Some(department)) => vec![department.to_string()],
                _ => Vec::new(),
            };
            for department in departments {
                let primary = self.is_primary(i, &department);
                seen.memberships.insert((id.clone(), department), primary);
            }
        }
    }
}

impl Columns {
    /// Whether `department` is user `i`'s primary one, as their `orders` say; `None` when
    /// no entry names it (the field scope that returns `orders` is missing).
    pub(super) fn is_primary(&self, i: usize, department: &str) -> Option<bool> {
        let orders = self.orders[i].as_deref()?;
        let entry = orders
            .iter()
            .find(|o| o.department_id.as_deref() == Some(department))?;
        Some(entry.is_primary_dept.unwrap_or(false))
    }
}
