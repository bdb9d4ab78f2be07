//! `grant-reader` as a new user tries it: it refuses the connected role, superusers and
//! roles that are more than readers, never changes an existing role's attributes, and
//! grants the analytics surface without the operational tables unless asked.

use sqlx::PgPool;

use crate::helpers::binary::{database_url, run_binary as run, text};

/// A role name of this test's own (roles are cluster-wide; databases are per test).
fn role_for(pool: &PgPool, prefix: &str) -> String {
    let db = pool
        .connect_options()
        .get_database()
        .unwrap()
        .to_lowercase();
    let name: String = format!("{prefix}_{}", db.trim_start_matches('_'))
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(60)
        .collect();
    name
}

async fn attributes(pool: &PgPool, role: &str) -> (bool, bool, bool) {
    sqlx::query_as("SELECT rolsuper, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn drop_role(pool: &PgPool, role: &str) {
    sqlx::raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .execute(pool)
        .await
        .unwrap();
}

fn url_as(pool: &PgPool, role: &str, password: &str) -> String {
    let mut url = url::Url::parse(&database_url(pool)).unwrap();
    url.set_username(role).unwrap();
    url.set_password(Some(password)).unwrap();
    url.to_string()
}

#[sqlx::test]
async fn the_connected_superuser_is_refused_and_keeps_every_attribute(pool: PgPool) {
    let admin = role_for(&pool, "su");
    sqlx::raw_sql(&format!(
        "CREATE ROLE {admin} SUPERUSER CREATEDB LOGIN PASSWORD 'pw'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let env = vec![("DATABASE_URL".to_string(), url_as(&pool, &admin, "pw"))];

    let output = run(&["grant-reader", &admin], env).await;

    let after = attributes(&pool, &admin).await;
    drop_role(&pool, &admin).await;
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("refusing")
            && stderr.contains("connected as")
            && stderr.contains("SUPERUSER"),
        "{stderr}"
    );
    assert_eq!(
        after,
        (true, true, true),
        "superuser, createdb, login: untouched"
    );
}

#[sqlx::test]
async fn an_existing_role_with_other_attributes_is_refused_unless_forced(pool: PgPool) {
    let role = role_for(&pool, "dev");
    sqlx::raw_sql(&format!("CREATE ROLE {role} CREATEDB LOGIN"))
        .execute(&pool)
        .await
        .unwrap();
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];

    let refused = run(&["grant-reader", &role], env.clone()).await;
    let before_force = attributes(&pool, &role).await;
    let forced = run(&["grant-reader", "--force", &role], env).await;
    let after_force = attributes(&pool, &role).await;
    let can_select: bool =
        sqlx::query_scalar("SELECT has_table_privilege($1, 'feishu.tasks', 'SELECT')")
            .bind(&role)
            .fetch_one(&pool)
            .await
            .unwrap();
    drop_role(&pool, &role).await;

    let (_, refused_err) = text(&refused);
    let (forced_out, forced_err) = text(&forced);
    assert!(
        !refused.status.success() && refused_err.contains("CREATEDB"),
        "{refused_err}"
    );
    assert_eq!(
        before_force,
        (false, true, true),
        "the refusal changed nothing"
    );
    assert!(forced.status.success(), "{forced_out}{forced_err}");
    assert!(
        forced_out.contains("keeps") && forced_out.contains("CREATEDB"),
        "{forced_out}"
    );
    assert_eq!(
        after_force,
        (false, true, true),
        "--force grants, never demotes"
    );
    assert!(can_select);
}

#[sqlx::test]
async fn operational_tables_are_readable_only_with_operational(pool: PgPool) {
    let role = role_for(&pool, "bi");
    let env = vec![("DATABASE_URL".to_string(), database_url(&pool))];
    let privilege = |table: &'static str| {
        let (pool, role) = (pool.clone(), role.clone());
        async move {
            sqlx::query_scalar::<_, bool>("SELECT has_table_privilege($1, $2, 'SELECT')")
                .bind(role)
                .bind(table)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };

    let first = run(&["grant-reader", &role], env.clone()).await;
    let analytics = [
        privilege("feishu.tasks").await,
        privilege("feishu.tasks_history").await,
        privilege("feishu.approval_backlog").await,
    ];
    let hidden = [
        privilege("feishu.sync_errors").await,
        privilege("feishu.sync_state").await,
        privilege("feishu.sync_settings").await,
    ];
    let temp: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a
          WHERE d.datname = current_database() AND a.grantee = $1::regrole AND a.privilege_type = 'TEMPORARY')",
    )
    .bind(&role)
    .fetch_one(&pool)
    .await
    .unwrap();
    let again = run(&["grant-reader", "--operational", &role], env.clone()).await;
    let shown = privilege("feishu.sync_errors").await;
    let back = run(&["grant-reader", &role], env).await;
    let hidden_again = privilege("feishu.sync_errors").await;
    drop_role(&pool, &role).await;

    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("note: PUBLIC"),
        "what PUBLIC still grants: {stdout}"
    );
    assert!(
        again.status.success() && back.status.success(),
        "a reader may be granted again"
    );
    assert_eq!(analytics, [true; 3], "tables, history, views");
    assert_eq!(
        hidden, [false; 3],
        "no operational table without --operational"
    );
    assert!(!temp, "no TEMPORARY of its own");
    assert!(shown, "--operational grants sync_errors");
    assert!(!hidden_again, "a later grant without it takes it back");
}
