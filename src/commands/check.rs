//! `feishu-sync check`, like Airbyte's `check`: before a first sync (or when one fails),
//! test in order the configuration, the database (reachable, writable, migrations), one
//! token request and one cheap request (page size 1) per enabled endpoint. One line per
//! check; exit 0 when all pass, 1 when one fails, 2 when the configuration is invalid.
//! It writes nothing: not even the migrations are applied.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use sqlx::PgPool;

use crate::config::Config;
use crate::db;
use crate::feishu::{ApiRequest, ClientSettings, Endpoint, FeishuClient};

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    Skipped(String),
    Failed(String),
}

/// Prints one line per check and returns the exit code.
pub async fn execute(path: &Path, required: bool) -> anyhow::Result<ExitCode> {
    let config = match Config::load(path, required) {
        Ok(config) => config,
        Err(error) => {
            line("configuration", &Verdict::Failed(error.to_string()));
            return Ok(ExitCode::from(2));
        }
    };
    let source = match path.is_file() {
        true => path.display().to_string(),
        false => "defaults and environment (no file)".to_string(),
    };
    line("configuration", &Verdict::Ok(source));
    let mut failed = false;
    let mut report = |name: &str, verdict: Verdict| {
        failed |= matches!(verdict, Verdict::Failed(_));
        line(name, &verdict);
    };
    match db::connect(&config.database).await {
        Ok(pool) => {
            report("database", Verdict::Ok(config.database.redacted_url()));
            report("database writable", writable(&pool).await);
            report("database migrations", migrations(&pool).await);
        }
        Err(error) => report("database", Verdict::Failed(format!("{error:#}"))),
    }
    let client = FeishuClient::new(ClientSettings::from_config(&config.feishu))?;
    match client.ensure_token().await {
        Ok(()) => report("feishu token", Verdict::Ok(config.feishu.base_url.clone())),
        Err(error) => {
            report("feishu token", Verdict::Failed(error.to_string()));
            return Ok(ExitCode::FAILURE);
        }
    }
    let mut found = Found::default();
    for endpoint in Endpoint::ALL {
        let verdict = match config.streams.enabled(endpoint) {
            false => Verdict::Skipped("disabled".into()),
            true => probe(&client, &config, endpoint, &mut found).await,
        };
        report(&format!("endpoint {endpoint}"), verdict);
    }
    Ok(match failed {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    })
}

fn line(name: &str, verdict: &Verdict) {
    let (word, text) = match verdict {
        Verdict::Ok(text) => ("ok", text),
        Verdict::Skipped(text) => ("skipped", text),
        Verdict::Failed(text) => ("FAILED", text),
    };
    crate::outln!("{word:<7} {name:<24} {text}");
}

/// Whether migrations and upserts can write: not a read-only replica or transaction, and
/// the role may create the schema (or, once it exists, create in it).
async fn writable(pool: &PgPool) -> Verdict {
    let row = sqlx::query!(
        r#"SELECT pg_is_in_recovery() AS "replica!",
                  current_setting('transaction_read_only') = 'on' AS "read_only!",
                  has_database_privilege(current_database(), 'CREATE') AS "create_schema!",
                  (SELECT has_schema_privilege(oid, 'CREATE') FROM pg_namespace WHERE nspname = 'feishu') AS create_in_schema,
                  current_user::text AS "user!""#
    )
    .fetch_one(pool)
    .await;
    match row {
        Err(error) => Verdict::Failed(db::connect_error_text(&error)),
        Ok(r) if r.replica => Verdict::Failed("the server is a read-only replica".into()),
        Ok(r) if r.read_only => {
            Verdict::Failed("sessions are read-only (default_transaction_read_only)".into())
        }
        Ok(r) => match (r.create_in_schema, r.create_schema) {
            (Some(true), _) | (None, true) => Verdict::Ok(format!("as {}", r.user)),
            (Some(false), _) => Verdict::Failed(format!(
                "role {} may not create in the schema feishu: GRANT CREATE ON SCHEMA feishu TO {}",
                r.user, r.user
            )),
            (None, false) => Verdict::Failed(format!(
                "role {} may not create the schema feishu: GRANT CREATE ON DATABASE … TO {}",
                r.user, r.user
            )),
        },
    }
}

/// The applied migrations against the binary's: pending ones are fine (`sync` and
/// `migrate` apply them); unknown or altered ones mean another version wrote the schema.
async fn migrations(pool: &PgPool) -> Verdict {
    let known: BTreeSet<i64> = db::MIGRATOR.iter().map(|m| m.version).collect();
    let applied = sqlx::query_scalar!(
        r#"SELECT to_regclass('public._sqlx_migrations') IS NOT NULL AS "exists!""#
    )
    .fetch_one(pool)
    .await;
    let applied: BTreeSet<i64> = match applied {
        Err(error) => return Verdict::Failed(db::connect_error_text(&error)),
        Ok(false) => BTreeSet::new(),
        Ok(true) => match sqlx::query_scalar::<_, i64>(
            "SELECT version FROM public._sqlx_migrations WHERE success",
        )
        .fetch_all(pool)
        .await
        {
            Ok(versions) => versions.into_iter().collect(),
            Err(error) => return Verdict::Failed(db::connect_error_text(&error)),
        },
    };
    migration_verdict(&known, &applied)
}

/// The verdict on `applied` migrations, given the binary's `known` ones.
pub fn migration_verdict(known: &BTreeSet<i64>, applied: &BTreeSet<i64>) -> Verdict {
    let unknown: Vec<String> = applied.difference(known).map(i64::to_string).collect();
    if !unknown.is_empty() {
        return Verdict::Failed(format!(
            "the database has migrations this binary does not know ({}): a newer feishu-sync wrote it",
            unknown.join(", ")
        ));
    }
    match known.difference(applied).count() {
        0 => Verdict::Ok(format!("all {} applied", known.len())),
        n if applied.is_empty() => Verdict::Ok(format!(
            "none applied yet: `sync`, `run` or `migrate` applies all {n}"
        )),
        n => Verdict::Ok(format!(
            "{n} of {} pending: `sync`, `run` or `migrate` applies them",
            known.len()
        )),
    }
}

/// Ids earlier probes found, for the endpoints that ask about one.
#[derive(Debug, Default)]
pub struct Found {
    /// The first semester the semesters probe listed.
    pub semester: Option<String>,
    /// The first user of the root department, under `feishu.user_id_type`.
    pub user: Option<String>,
}

/// One cheap request to `endpoint`: page size 1, the first semester or user it needs.
async fn probe(
    client: &FeishuClient,
    config: &Config,
    endpoint: Endpoint,
    found: &mut Found,
) -> Verdict {
    let Some(request) = probe_request(config, endpoint, found) else {
        return Verdict::Skipped(match endpoint {
            Endpoint::ApprovalTasks => {
                "no user to ask about: set streams.approval_tasks.user_ids to check it".into()
            }
            _ => "no semester to ask about (the tenant has none)".into(),
        });
    };
    match client.call(&request).await {
        Ok(reply) => {
            let first = &reply.data["items"][0];
            let id = |field: &str| first[field].as_str().map(str::to_string);
            match endpoint {
                Endpoint::Semesters => found.semester = id("id"),
                Endpoint::Users => found.user = id(config.feishu.user_id_type.as_str()),
                _ => {}
            }
            Verdict::Ok(format!("answered ({})", reply.log_id))
        }
        // A partial contact range refuses the root department: the scope is there.
        Err(error) if error.is_out_of_contact_range() => {
            Verdict::Ok(format!("answered; the contact range is partial ({error})"))
        }
        Err(error) => Verdict::Failed(error.to_string()),
    }
}

/// The request `check` sends to `endpoint`, or `None` when it needs an id there is not.
/// Approvals ask about the first configured user, else the first user the users probe
/// found (users are probed before approvals, as a pass reads them first).
pub fn probe_request(config: &Config, endpoint: Endpoint, found: &Found) -> Option<ApiRequest> {
    let semester = found.semester.as_deref();
    let mut request = ApiRequest::new(endpoint);
    let one = || ("page_size".to_string(), "1".to_string());
    let id_type = (
        "department_id_type".to_string(),
        "open_department_id".to_string(),
    );
    match endpoint {
        Endpoint::Semesters => {}
        Endpoint::Activities => request.body = Some(json!({ "semester_ids": [semester?] })),
        Endpoint::StageTasks => {
            request.body = Some(json!({ "semester_id": semester?, "page_size": 1 }))
        }
        Endpoint::ApprovalTasks => request.query = approval_query(config, found)?,
        Endpoint::Tasks => request.query = vec![one()],
        Endpoint::Departments => {
            request.path = Some(feishu_endpoints::CONTACT_SCOPES_PATH.to_string());
            request.query = vec![id_type, one()];
        }
        Endpoint::Users => {
            request.query = vec![id_type, ("department_id".into(), "0".into()), one()];
        }
        Endpoint::Reviewees => {
            request.query = vec![one()];
            request.body = Some(json!({ "semester_id": semester? }));
        }
        Endpoint::ReviewData => {
            let user = found.user.as_ref()?;
            request.body = Some(json!({
                "semester_ids": [semester?],
                "reviewee_user_ids": [user],
                "stage_types": ["leader_review"],
            }));
        }
        Endpoint::MetricDetails => {
            let user = found.user.as_ref()?;
            request.body = Some(json!({ "semester_id": semester?, "reviewee_user_ids": [user] }));
        }
        Endpoint::Indicators => {
            request.query = vec![one()];
            request.body = Some(json!({}));
        }
        Endpoint::MetricFields => request.body = Some(json!({})),
    }
    Some(request)
}

/// The approval tasks probe's query: it is the one probe that picks among configured and
/// found values (the first configured user, else the users probe's; the first configured
/// topic, else topic 1), so that choice sits apart from `probe_request`'s flat table.
fn approval_query(config: &Config, found: &Found) -> Option<Vec<(String, String)>> {
    let configured = config.streams.approval_tasks.user_ids.first();
    let user = configured.or(found.user.as_ref())?;
    let topic = config
        .streams
        .approval_tasks
        .topics
        .first()
        .cloned()
        .unwrap_or("1".into());
    Some(vec![
        ("user_id".into(), user.clone()),
        ("topic".into(), topic),
        ("page_size".into(), "1".into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_pending_are_fine_unknown_ones_are_not() {
        let known: BTreeSet<i64> = [1, 2, 3].into();
        assert!(
            matches!(migration_verdict(&known, &[1, 2, 3].into()), Verdict::Ok(t) if t.contains("all 3"))
        );
        assert!(
            matches!(migration_verdict(&known, &[1].into()), Verdict::Ok(t) if t.contains("2 of 3 pending"))
        );
        assert!(
            matches!(migration_verdict(&known, &BTreeSet::new()), Verdict::Ok(t) if t.contains("none applied"))
        );
        assert!(
            matches!(migration_verdict(&known, &[1, 2, 3, 4].into()), Verdict::Failed(t) if t.contains("(4)"))
        );
    }
}
