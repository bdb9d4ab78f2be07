//! `feishu-sync grant-reader ROLE`: a read-only role for BI tools, allowed to SELECT the
//! `feishu` tables (today's and those later migrations add) and nothing else.

use anyhow::Context;
use sqlx::PgPool;

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
/// the role can log in; without, it is a group role to grant to people's own roles.
pub fn statements(role: &str, password: Option<&str>) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        plain_identifier(role),
        "role name {role:?} must be a lower-case identifier (letters, digits, _)"
    );
    let login = match password {
        Some(password) => format!("LOGIN PASSWORD '{}'", password.replace('\'', "''")),
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
    fn a_password_makes_a_login_role_and_is_quoted() {
        let with = statements("bi", Some("it's")).unwrap().join(";");
        let without = statements("bi", None).unwrap().join(";");

        assert!(with.contains("LOGIN PASSWORD 'it''s'"), "{with}");
        assert!(without.contains("NOLOGIN"), "{without}");
    }
}
