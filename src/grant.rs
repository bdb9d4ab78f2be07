//! `feishu-sync grant-reader ROLE`: a read-only role for BI tools, allowed to SELECT the
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

/// The statements that create (if missing) and grant the reader role. With a password
/// the role can log in (the statements carry its SCRAM verifier, never the password);
/// without, it is a group role to grant to people's own roles.
pub fn statements(role: &str, password: Option<&str>) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        plain_identifier(role),
        "role name {role:?} must be a lower-case identifier (letters, digits, _)"
    );
    let login = match password {
        // A verifier is base64 and `$:`, so it needs no quoting.
        Some(password) => format!("LOGIN PASSWORD '{}'", new_verifier(password)?),
        None => "NOLOGIN".to_string(),
    };
    Ok(vec![
        format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') \
             THEN CREATE ROLE {role}; END IF; END $$"
        ),
        format!("ALTER ROLE {role} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"),
        format!(
            "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); END $$"
        ),
        format!("GRANT USAGE ON SCHEMA feishu TO {role}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA feishu TO {role}"),
        format!("ALTER DEFAULT PRIVILEGES IN SCHEMA feishu GRANT SELECT ON TABLES TO {role}"),
    ])
}

/// Creates or updates the reader role in the database of `pool` (migrated first).
pub async fn grant_reader(pool: &PgPool, role: &str, password: Option<&str>) -> anyhow::Result<()> {
    let statements = statements(role, password)?;
    let mut tx = pool.begin().await?;
    for statement in statements {
        sqlx::raw_sql(&statement)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("granting read access to {role} (does the configured user own the feishu schema?)"))?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_role_names_are_accepted() {
        assert!(statements("bi_reader", None).is_ok());
        assert!(statements("bi reader; DROP TABLE x", None).is_err());
        assert!(statements("Reader", None).is_err());
        assert!(statements("", None).is_err());
    }

    #[test]
    fn a_password_makes_a_login_role_and_never_appears_in_the_statements() {
        let with = statements("bi", Some("it's-a-secret")).unwrap().join(";");
        let without = statements("bi", None).unwrap().join(";");

        assert!(
            with.contains("LOGIN PASSWORD 'SCRAM-SHA-256$4096:"),
            "{with}"
        );
        assert!(!with.contains("it's-a-secret"), "{with}");
        assert!(without.contains("NOLOGIN"), "{without}");
        assert!(
            statements("bi", Some("pässword")).is_err(),
            "non-ASCII refused"
        );
    }

    #[test]
    fn the_verifier_equals_the_one_postgresql_computes() {
        // Stored by PostgreSQL 15 for `CREATE ROLE … PASSWORD 'pencil'`; the same password
        // and salt must give the same verifier here.
        let from_postgres = "SCRAM-SHA-256$4096:2M1xjGkPa2UyG8uPU6aPJw==$6+mjB3RMw5Y2Wi+lp8S8zF8uyE/7mtkRyCf1EVeW3/w=:xw6sXn4TjTZbhxkUqPVux3woerZUEnMcYtEo9dRuH/Y=";
        let salt = BASE64.decode("2M1xjGkPa2UyG8uPU6aPJw==").unwrap();
        assert_eq!(scram_verifier("pencil", &salt, 4096), from_postgres);
    }
}
