//! The read-only role for BI tools that `grant-reader` makes: allowed to SELECT the
//! `feishu` tables (today's and those later migrations add) and nothing else. Its password
//! never travels as cleartext: the server receives a SCRAM-SHA-256 verifier computed here,
//! as `psql`'s `\password` does, so `log_statement = 'ddl'` cannot write it to a log.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// PBKDF2 iterations of the verifier: PostgreSQL's default (`scram_iterations`).
const SCRAM_ITERATIONS: u32 = 4096;

/// The SCRAM-SHA-256 verifier PostgreSQL stores for `password` with `salt` and
/// `iterations` (RFC 5802 / RFC 7677): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
pub fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let hmac = |key: &[u8], text: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(text);
        mac.finalize().into_bytes()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key),
        BASE64.encode(server_key)
    )
}

/// A verifier for `password` with a fresh random salt. Passwords must be printable ASCII:
/// clients normalize others with SASLprep, which this does not implement, so a non-ASCII
/// password could be stored in a form no client would ever send.
fn new_verifier(password: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !password.is_empty() && password.chars().all(|c| c.is_ascii_graphic() || c == ' '),
        "FEISHU_SYNC_READER_PASSWORD must be printable ASCII (letters, digits, punctuation, spaces)"
    );
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    Ok(scram_verifier(password, &salt, SCRAM_ITERATIONS))
}

/// Whether `name` is a plain lower-case SQL identifier, so it can be spliced into DDL.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// The operational tables: run state, settings, the quarantine and the events inbox with
/// their raw payloads.
/// A reader sees them only with `--operational`.
pub const OPERATIONAL_TABLES: [&str; 4] = ["sync_state", "sync_settings", "sync_errors", "events"];

/// What `grant-reader` was asked for besides the role's name.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantOptions {
    /// Grant an existing role that is more than a reader (or the connected role), keeping
    /// its attributes and privileges as they are.
    pub force: bool,
    /// Also grant the operational tables ([`OPERATIONAL_TABLES`]).
    pub operational: bool,
}

/// What the catalog says about an existing role, as far as a reader role is concerned.
#[derive(Debug, Clone, Default)]
pub struct ExistingRole {
    /// The role `grant-reader` is connected as.
    pub is_current_user: bool,
    pub can_login: bool,
    /// Attributes a reader must not have (`SUPERUSER`, `CREATEDB`, ...).
    pub attributes: Vec<String>,
    /// Roles it is a member of (their privileges are its own).
    pub member_of: Vec<String>,
    /// Objects it owns (tables, schemas, databases, functions).
    pub owned_objects: i64,
    /// Privileges it holds beyond SELECT in `feishu` (writes there, anything elsewhere).
    pub other_privileges: i64,
}

impl ExistingRole {
    /// Why this role is more than a reader, one reason per entry; empty for a plain reader.
    pub fn objections(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.is_current_user {
            why.push("it is the role grant-reader is connected as".to_string());
        }
        if !self.attributes.is_empty() {
            why.push(format!("it has {}", self.attributes.join(", ")));
        }
        if !self.member_of.is_empty() {
            why.push(format!("it is a member of {}", self.member_of.join(", ")));
        }
        if self.owned_objects > 0 {
            why.push(format!("it owns {} objects", self.owned_objects));
        }
        if self.other_privileges > 0 {
            why.push(format!(
                "it holds {} privileges beyond SELECT on feishu",
                self.other_privileges
            ));
        }
        why
    }
}

/// The statements that make `role` a reader: create it if `existing` is `None` (with a
/// login when a password is given), give an existing one the password if asked (nothing
/// else of an existing role changes), then grant the analytics surface.
pub fn statements(
    role: &str,
    existing: Option<&ExistingRole>,
    password: Option<&str>,
    options: GrantOptions,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        plain_identifier(role),
        "role name {role:?} must be a lower-case identifier (letters, digits, _)"
    );
    if let Some(existing) = existing {
        let objections = existing.objections();
        anyhow::ensure!(
            objections.is_empty() || options.force,
            "refusing to make the existing role {role} a reader: {}. grant-reader never changes an existing \
             role's attributes; pick a new role name, or pass --force to grant it the feishu tables anyway \
             (its attributes and privileges stay as they are, so it is not read-only)",
            objections.join("; ")
        );
    }
    // A verifier is base64 and `$:`, so it needs no quoting.
    let password = password
        .map(|p| new_verifier(p).map(|v| format!("LOGIN PASSWORD '{v}'")))
        .transpose()?;
    let mut sql = Vec::new();
    match (existing, password) {
        (None, login) => sql.push(format!(
            "CREATE ROLE {role} {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS",
            login.as_deref().unwrap_or("NOLOGIN")
        )),
        (Some(_), Some(login)) => sql.push(format!("ALTER ROLE {role} {login}")),
        (Some(_), None) => {}
    }
    sql.push(format!(
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); \
         EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM {role}', current_database()); END $$"
    ));
    sql.push(format!("GRANT USAGE ON SCHEMA feishu TO {role}"));
    sql.push(format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA feishu TO {role}"
    ));
    sql.push(format!(
        "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA feishu TO {role}"
    ));
    let operational = OPERATIONAL_TABLES.map(|t| format!("feishu.{t}")).join(", ");
    match options.operational {
        true => {}
        false => sql.push(format!("REVOKE ALL ON {operational} FROM {role}")),
    }
    sql.push(format!(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA feishu GRANT SELECT ON TABLES TO {role}"
    ));
    Ok(sql)
}

/// The catalog's view of `role`, or `None` if there is no such role.
async fn existing_role(pool: &PgPool, role: &str) -> anyhow::Result<Option<ExistingRole>> {
    let row = sqlx::query!(
        r#"SELECT r.rolname = current_user AS "is_current_user!", r.rolcanlogin AS "can_login!",
                  array_remove(ARRAY[
                      CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
                      CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                      CASE WHEN r.rolreplication THEN 'REPLICATION' END,
                      CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END], NULL) AS "attributes!",
                  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                         WHERE m.member = r.oid ORDER BY 1) AS "member_of!",
                  (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
                + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)
                + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) AS "owned_objects!",
                  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                          aclexplode(c.relacl) a
                    WHERE a.grantee = r.oid AND (n.nspname <> 'feishu' OR a.privilege_type <> 'SELECT'))
                + (SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a
                    WHERE a.grantee = r.oid AND (n.nspname <> 'feishu' OR a.privilege_type <> 'USAGE'))
                + (SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a
                    WHERE a.grantee = r.oid AND a.privilege_type NOT IN ('CONNECT', 'TEMPORARY'))
                  AS "other_privileges!"
             FROM pg_roles r WHERE r.rolname = $1"#,
        role
    )
    .fetch_optional(pool)
    .await
    .context("reading the role from pg_roles")?;
    Ok(row.map(|r| ExistingRole {
        is_current_user: r.is_current_user,
        can_login: r.can_login,
        attributes: r.attributes,
        member_of: r.member_of,
        owned_objects: r.owned_objects,
        other_privileges: r.other_privileges,
    }))
}

/// What `grant-reader` did, for its output.
#[derive(Debug)]
pub struct GrantReport {
    /// The role existed before.
    pub existed: bool,
    pub can_login: bool,
    /// Why an existing role granted under `--force` is more than a reader.
    pub kept: Vec<String>,
    /// What PUBLIC still grants every role on this server, the reader included.
    pub public_note: String,
}

/// Creates the reader role, or grants an existing one, in the database of `pool`
/// (migrated first). An existing role that is more than a reader is refused unless
/// `options.force`; an existing role's attributes are never changed.
pub async fn grant_reader(
    pool: &PgPool,
    role: &str,
    password: Option<&str>,
    options: GrantOptions,
) -> anyhow::Result<GrantReport> {
    anyhow::ensure!(
        plain_identifier(role),
        "role name {role:?} must be a lower-case identifier (letters, digits, _)"
    );
    let existing = existing_role(pool, role).await?;
    let statements = statements(role, existing.as_ref(), password, options)?;
    let mut tx = pool.begin().await?;
    for statement in statements {
        sqlx::raw_sql(&statement)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("granting read access to {role} (does the configured user own the feishu schema?)"))?;
    }
    tx.commit().await?;
    Ok(GrantReport {
        existed: existing.is_some(),
        can_login: password.is_some() || existing.as_ref().is_some_and(|e| e.can_login),
        kept: existing.map(|e| e.objections()).unwrap_or_default(),
        public_note: public_grants(pool).await?,
    })
}

/// What PUBLIC (every role) still holds on this database and server version: `TEMPORARY`
/// and `CONNECT` on the database unless revoked from PUBLIC, and before PostgreSQL 15
/// `CREATE` on the schema `public`.
async fn public_grants(pool: &PgPool) -> anyhow::Result<String> {
    let row = sqlx::query!(
        r#"SELECT current_setting('server_version_num')::int AS "version!",
                  has_database_privilege('public', current_database(), 'TEMPORARY') AS "temp!",
                  EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
                           WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')
                    AS "create_public!""#
    )
    .fetch_one(pool)
    .await
    .context("reading what PUBLIC is granted")?;
    let mut held = Vec::new();
    if row.temp {
        held.push("TEMPORARY on this database (temporary tables)");
    }
    if row.create_public {
        held.push("CREATE on the schema public");
    }
    Ok(match held.is_empty() {
        true => format!(
            "PUBLIC holds neither TEMPORARY here nor CREATE on schema public (server {})",
            row.version
        ),
        false => format!(
            "PUBLIC still grants every role, this one included, {} (server {}); revoke it from PUBLIC to close that",
            held.join(" and "),
            row.version
        ),
    })
}

#[cfg(test)]
mod tests;
