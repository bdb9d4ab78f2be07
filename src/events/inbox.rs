//! The inbox `feishu.events`: the only reader and writer of it. An event is committed
//! here before it is acknowledged; a duplicate delivery (same `event_id`) adds nothing;
//! rows with `processed_at IS NULL` are what the processor still has to apply, after a
//! restart too.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

/// The keys of one event, read from its envelope: schema 2.0 (`header.*`) or v1 (`uuid`,
/// `ts`, `event.type`).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl Envelope {
    /// Reads the envelope of an event payload; `None` if it names no event id.
    pub fn read(payload: &Value) -> Option<Envelope> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        if let Some(header) = payload.get("header") {
            let created_at = text(header.get("create_time"))
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(DateTime::from_timestamp_millis);
            return Some(Envelope {
                event_id: text(header.get("event_id")).filter(|s| !s.is_empty())?,
                event_type: text(header.get("event_type")).unwrap_or_default(),
                created_at,
            });
        }
        let created_at = text(payload.get("ts"))
            .and_then(|s| s.parse::<f64>().ok())
            .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0).round() as i64));
        Some(Envelope {
            event_id: text(payload.get("uuid")).filter(|s| !s.is_empty())?,
            event_type: text(payload.pointer("/event/type")).unwrap_or_default(),
            created_at,
        })
    }
}

/// Commits one event; `Ok(false)` when it was there already (a duplicate delivery).
pub async fn store(pool: &PgPool, envelope: &Envelope, payload: &Value) -> anyhow::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO feishu.events (event_id, event_type, created_at, payload)
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
        envelope.event_id,
        envelope.event_type,
        envelope.created_at,
        payload
    )
    .execute(pool)
    .await
    .context("storing an event in feishu.events")?;
    Ok(inserted.rows_affected() == 1)
}

/// One stored event still to apply.
#[derive(Debug, Clone)]
pub struct Pending {
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<DateTime<Utc>>,
    pub payload: Value,
}

/// Up to `limit` events not yet applied, oldest first, leaving out the ids in `skip`
/// (those waiting for a retry).
pub async fn pending(pool: &PgPool, limit: i64, skip: &[String]) -> anyhow::Result<Vec<Pending>> {
    let rows = sqlx::query!(
        "SELECT event_id, event_type, created_at, payload FROM feishu.events
          WHERE processed_at IS NULL AND NOT (event_id = ANY($2::text[]))
          ORDER BY received_at, event_id LIMIT $1",
        limit,
        skip
    )
    .fetch_all(pool)
    .await
    .context("reading unprocessed events")?;
    Ok(rows
        .into_iter()
        .map(|r| Pending {
            event_id: r.event_id,
            event_type: r.event_type,
            created_at: r.created_at,
            payload: r.payload,
        })
        .collect())
}

/// Marks events applied (`error` NULL), or records why applying them failed (they stay
/// pending and are tried again).
pub async fn finish(pool: &PgPool, ids: &[String], error: Option<&str>) -> anyhow::Result<()> {
    match error {
        None => sqlx::query!(
            "UPDATE feishu.events SET processed_at = now(), error = NULL WHERE event_id = ANY($1::text[])",
            ids
        )
        .execute(pool)
        .await
        .context("marking events processed")?,
        Some(error) => sqlx::query!(
            "UPDATE feishu.events SET error = $2 WHERE event_id = ANY($1::text[])",
            ids,
            error
        )
        .execute(pool)
        .await
        .context("recording an event's error")?,
    };
    Ok(())
}

/// Deletes processed events older than `days`, in batches of 1,000; returns how many.
pub async fn prune(pool: &PgPool, days: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query!(
            "DELETE FROM feishu.events WHERE event_id IN (
                 SELECT event_id FROM feishu.events
                  WHERE processed_at < now() - make_interval(days => $1) LIMIT 1000)",
            days as i32
        )
        .execute(pool)
        .await
        .context("pruning feishu.events")?;
        total += deleted.rows_affected();
        if deleted.rows_affected() < 1000 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_2_envelope_is_read() {
        // The envelope of the contact document's user-updated example.
        let payload: Value = serde_json::from_str(
            r#"{"schema":"2.0","header":{"event_id":"5e3702a84e847582be8db7fb73283c02","event_type":"contact.user.updated_v3","create_time":"1608725989000","token":"rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV","app_id":"cli_9f5343c580712544","tenant_key":"2ca1d211f64f6438"},"event":{}}"#,
        )
        .unwrap();
        let e = Envelope::read(&payload).unwrap();
        assert_eq!(e.event_id, "5e3702a84e847582be8db7fb73283c02");
        assert_eq!(e.event_type, "contact.user.updated_v3");
        assert_eq!(e.created_at.unwrap().timestamp_millis(), 1608725989000);
    }

    #[test]
    fn a_v1_envelope_is_read() {
        let payload: Value = serde_json::from_str(
            r#"{"uuid":"41b8e6a9-1b3b-4c7c-9e2b-0d8c2b3a4e5f","token":"x","ts":"1502199207.7171419","type":"event_callback","event":{"type":"approval_task","app_id":"cli_xxx","tenant_key":"xxx","approval_code":"7C468A54-8745-2245-9675-08B7C63E7A85","instance_code":"81D31358-93AF-92D6-7425-01A5D67C4E71","task_id":"12345","user_id":"b76b1e92","open_id":"ou_123","status":"PENDING","operate_time":"1502199207000"}}"#,
        )
        .unwrap();
        let e = Envelope::read(&payload).unwrap();
        assert_eq!(e.event_id, "41b8e6a9-1b3b-4c7c-9e2b-0d8c2b3a4e5f");
        assert_eq!(e.event_type, "approval_task");
        assert_eq!(e.created_at.unwrap().timestamp_millis(), 1502199207717);
    }

    #[test]
    fn an_event_without_an_id_is_not_an_event() {
        assert_eq!(Envelope::read(&serde_json::json!({"header": {}})), None);
        assert_eq!(Envelope::read(&serde_json::json!({"event": {}})), None);
    }
}
