//! Task v1's rows: a page's records mapped to column arrays, and the statements that
//! write them (the task upsert, member replacement, retirement).

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::wire::WireTask;
use crate::sync::columns::ColumnBuilder;
use crate::sync::convert::i18n::I18nSnake;
use crate::sync::convert::time::{from_seconds, not_in_future};

#[derive(Default)]
pub(super) struct Columns {
    pub(super) id: Vec<String>,
    pub(super) summary: Vec<Option<String>>,
    pub(super) description: Vec<Option<String>>,
    pub(super) creator_id: Vec<Option<String>>,
    pub(super) create_time: Vec<Option<DateTime<Utc>>>,
    pub(super) update_time: Vec<Option<DateTime<Utc>>>,
    pub(super) complete_time: Vec<Option<DateTime<Utc>>>,
    pub(super) due_time: Vec<Option<DateTime<Utc>>>,
    pub(super) due_timezone: Vec<Option<String>>,
    pub(super) due_is_all_day: Vec<Option<bool>>,
    pub(super) can_edit: Vec<Option<bool>>,
    pub(super) source: Vec<Option<i32>>,
    pub(super) repeat_rule: Vec<Option<String>>,
    pub(super) extra: Vec<Option<String>>,
    pub(super) custom: Vec<Option<String>>,
    pub(super) origin_platform_zh: Vec<Option<String>>,
    pub(super) origin_platform_en: Vec<Option<String>>,
    pub(super) origin_href_title: Vec<Option<String>>,
    pub(super) origin_href_url: Vec<Option<String>>,
    pub(super) raw: Vec<Value>,
    /// One entry per (task, member): role `c`ollaborator or `f`ollower.
    pub(super) member_role: Vec<String>,
    pub(super) member_task: Vec<String>,
    pub(super) member_user: Vec<String>,
}

/// Empty strings mean "not set" in task v1 (`"timezone": ""`, `"href": {}`).
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Columns {
    /// Upserts the tasks and replaces their members; returns rows changed.
    pub(super) async fn write(&self, tx: &mut PgConnection) -> anyhow::Result<u64> {
        let written = upsert_tasks(tx, self).await?;
        let members = replace_members(tx, self, &written).await?;
        Ok((written.inserted.len() + written.updated.len()) as u64 + members)
    }
}

impl ColumnBuilder for Columns {
    fn push(&mut self, record: &Value) -> anyhow::Result<()> {
        let t = WireTask::deserialize(record).context("task record")?;
        let time = |v: &Option<String>, field: &str| {
            from_seconds(v.as_deref()).map_err(|e| anyhow::anyhow!("task {}: {field}: {e}", t.id))
        };
        let create_time = time(&t.create_time, "create_time")?;
        let create_time = not_in_future(create_time)
            .map_err(|e| anyhow::anyhow!("task {}: create_time: {e}", t.id))?;
        let update_time = time(&t.update_time, "update_time")?;
        let complete_time = time(&t.complete_time, "complete_time")?;
        let due_time = time(&t.due.time, "due.time")?;
        self.create_time.push(create_time);
        self.update_time.push(update_time);
        self.complete_time.push(complete_time);
        self.due_time.push(due_time);
        self.due_timezone.push(non_empty(t.due.timezone));
        self.due_is_all_day.push(t.due.is_all_day);
        let platform = t
            .origin
            .platform_i18n_name
            .as_deref()
            .and_then(|text| {
                serde_json::from_str::<Option<I18nSnake>>(text)
                    .ok()
                    .flatten()
            })
            .unwrap_or_default();
        self.origin_platform_zh.push(non_empty(platform.zh));
        self.origin_platform_en.push(non_empty(platform.en));
        self.origin_href_title.push(non_empty(t.origin.href.title));
        self.origin_href_url.push(non_empty(t.origin.href.url));
        for (role, members) in [("c", &t.collaborators), ("f", &t.followers)] {
            for member in members.iter().map(|m| &m.id).collect::<HashSet<_>>() {
                self.member_role.push(role.into());
                self.member_task.push(t.id.clone());
                self.member_user.push(member.clone());
            }
        }
        self.summary.push(t.summary);
        self.description.push(t.description);
        self.creator_id.push(t.creator_id);
        self.can_edit.push(t.can_edit);
        self.source.push(t.source);
        self.repeat_rule.push(t.repeat_rule);
        self.extra.push(t.extra);
        self.custom.push(t.custom);
        self.id.push(t.id);
        Ok(())
    }

    fn raw_column(&mut self) -> &mut Vec<Value> {
        &mut self.raw
    }
}

/// The tasks a page upsert wrote: those new to the table, and those whose record changed.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
}

/// Upserts a page of tasks; an unchanged record (same `raw`) is not rewritten. Says which
/// tasks were inserted (`xmax = 0`: no earlier version) and which updated.
pub(super) async fn upsert_tasks(tx: &mut PgConnection, c: &Columns) -> anyhow::Result<Written> {
    let rows = sqlx::query!(
        r#"INSERT INTO feishu.tasks AS t
               (id, summary, description, creator_id, create_time, update_time, complete_time, due_time,
                due_timezone, due_is_all_day, can_edit, source, repeat_rule, extra, custom,
                origin_platform_zh, origin_platform_en, origin_href_title, origin_href_url, raw)
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::bool[], $11::bool[],
                $12::int4[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
                $19::text[], $20::jsonb[])
           ON CONFLICT (id) DO UPDATE SET
                summary = EXCLUDED.summary, description = EXCLUDED.description, creator_id = EXCLUDED.creator_id,
                create_time = EXCLUDED.create_time, update_time = EXCLUDED.update_time,
                complete_time = EXCLUDED.complete_time, due_time = EXCLUDED.due_time,
                due_timezone = EXCLUDED.due_timezone, due_is_all_day = EXCLUDED.due_is_all_day,
                can_edit = EXCLUDED.can_edit, source = EXCLUDED.source, repeat_rule = EXCLUDED.repeat_rule,
                extra = EXCLUDED.extra, custom = EXCLUDED.custom,
                origin_platform_zh = EXCLUDED.origin_platform_zh, origin_platform_en = EXCLUDED.origin_platform_en,
                origin_href_title = EXCLUDED.origin_href_title, origin_href_url = EXCLUDED.origin_href_url,
                raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
           WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL
           RETURNING t.id, (t.xmax = 0) AS "inserted!""#,
        &c.id, &c.summary as _, &c.description as _, &c.creator_id as _, &c.create_time as _,
        &c.update_time as _, &c.complete_time as _, &c.due_time as _, &c.due_timezone as _,
        &c.due_is_all_day as _, &c.can_edit as _, &c.source as _, &c.repeat_rule as _, &c.extra as _,
        &c.custom as _, &c.origin_platform_zh as _, &c.origin_platform_en as _,
        &c.origin_href_title as _, &c.origin_href_url as _, &c.raw
    )
    .fetch_all(&mut *tx)
    .await
    .context("upserting feishu.tasks")?;
    let mut written = Written::default();
    for row in rows {
        match row.inserted {
            true => written.inserted.push(row.id),
            false => written.updated.push(row.id),
        }
    }
    Ok(written)
}

/// The page's member rows (role, task, user columns) of the tasks that were inserted or
/// updated, so `replace_members` leaves the members of unchanged tasks alone.
fn members_of_written(c: &Columns, written: &Written) -> (Vec<String>, Vec<String>, Vec<String>) {
    let touched: HashSet<&str> = written
        .inserted
        .iter()
        .chain(&written.updated)
        .map(String::as_str)
        .collect();
    let keep = |i: &usize| touched.contains(c.member_task[*i].as_str());
    let picked: Vec<usize> = (0..c.member_task.len()).filter(keep).collect();
    let column = |values: &Vec<String>| -> Vec<String> {
        picked.iter().map(|&i| values[i].clone()).collect()
    };
    (
        column(&c.member_role),
        column(&c.member_task),
        column(&c.member_user),
    )
}

/// Makes the collaborators and followers of the written tasks exactly what the page says,
/// touching only pairs that appeared or disappeared. Unchanged tasks are skipped (their
/// members live in their unchanged `raw`), and a new task has no members to remove, so a
/// first load only inserts and a no-change page sends nothing.
pub(super) async fn replace_members(
    tx: &mut PgConnection,
    c: &Columns,
    written: &Written,
) -> anyhow::Result<u64> {
    let (role, task, user) = members_of_written(c, written);
    let mut changed = 0;
    if !written.updated.is_empty() {
        changed += sqlx::query_scalar!(
            r#"WITH incoming AS (
                    SELECT * FROM UNNEST($2::text[], $3::text[], $4::text[]) AS n(role, task_id, user_id)),
                gone_c AS (
                    DELETE FROM feishu.task_collaborators m USING UNNEST($1::text[]) AS u(id)
                     WHERE m.task_id = u.id
                       AND NOT EXISTS (SELECT 1 FROM incoming n
                                        WHERE n.role = 'c' AND n.task_id = m.task_id AND n.user_id = m.user_id)
                    RETURNING 1),
                gone_f AS (
                    DELETE FROM feishu.task_followers m USING UNNEST($1::text[]) AS u(id)
                     WHERE m.task_id = u.id
                       AND NOT EXISTS (SELECT 1 FROM incoming n
                                        WHERE n.role = 'f' AND n.task_id = m.task_id AND n.user_id = m.user_id)
                    RETURNING 1)
               SELECT (SELECT count(*) FROM gone_c) + (SELECT count(*) FROM gone_f) AS "removed!""#,
            &written.updated,
            &role,
            &task,
            &user
        )
        .fetch_one(&mut *tx)
        .await
        .context("removing task collaborators and followers")?;
    }
    if !task.is_empty() {
        changed += sqlx::query_scalar!(
            r#"WITH incoming AS (
                    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) AS n(role, task_id, user_id)),
                new_c AS (
                    INSERT INTO feishu.task_collaborators (task_id, user_id)
                    SELECT task_id, user_id FROM incoming WHERE role = 'c' ON CONFLICT DO NOTHING RETURNING 1),
                new_f AS (
                    INSERT INTO feishu.task_followers (task_id, user_id)
                    SELECT task_id, user_id FROM incoming WHERE role = 'f' ON CONFLICT DO NOTHING RETURNING 1)
               SELECT (SELECT count(*) FROM new_c) + (SELECT count(*) FROM new_f) AS "added!""#,
            &role,
            &task,
            &user
        )
        .fetch_one(&mut *tx)
        .await
        .context("adding task collaborators and followers")?;
    }
    Ok(changed as u64)
}

/// Retires tasks inside the window just read (all tasks when `window_start` is `None`)
/// that the read did not return. The boundary second itself is left alone, in case the
/// server treats `start_create_time` as exclusive.
pub(super) async fn retire_unseen(
    tx: &mut PgConnection,
    window_start: Option<DateTime<Utc>>,
    seen: &[String],
) -> anyhow::Result<u64> {
    crate::db::prefer_hash_joins(tx).await?;
    let retired = sqlx::query!(
        "UPDATE feishu.tasks t SET deleted_at = now(), synced_at = now()
          WHERE t.deleted_at IS NULL AND ($1::timestamptz IS NULL OR t.create_time > $1)
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[]) AS s(id) WHERE s.id = t.id)",
        window_start,
        seen
    )
    .execute(&mut *tx)
    .await
    .context("retiring tasks")?;
    Ok(retired.rows_affected())
}
