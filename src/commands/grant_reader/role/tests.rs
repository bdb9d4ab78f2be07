//! Unit tests of the reader role: its grants, the SCRAM verifier and the PUBLIC check.

use super::*;

fn plain() -> GrantOptions {
    GrantOptions::default()
}

#[test]
fn only_plain_role_names_are_accepted() {
    assert!(statements("bi_reader", None, None, plain()).is_ok());
    assert!(statements("bi reader; DROP TABLE x", None, None, plain()).is_err());
    assert!(statements("Reader", None, None, plain()).is_err());
    assert!(statements("", None, None, plain()).is_err());
}

#[test]
fn a_password_makes_a_login_role_and_never_appears_in_the_statements() {
    let with = statements("bi", None, Some("it's-a-secret"), plain())
        .unwrap()
        .join(";");
    let without = statements("bi", None, None, plain()).unwrap().join(";");

    assert!(
        with.contains("LOGIN PASSWORD 'SCRAM-SHA-256$4096:"),
        "{with}"
    );
    assert!(!with.contains("it's-a-secret"), "{with}");
    assert!(without.contains("NOLOGIN"), "{without}");
    assert!(
        statements("bi", None, Some("pässword"), plain()).is_err(),
        "non-ASCII refused"
    );
}

#[test]
fn an_existing_role_is_never_altered_beyond_the_password_asked_for() {
    let reader = ExistingRole::default();

    let sql = statements("bi", Some(&reader), None, plain())
        .unwrap()
        .join(";");
    let with_password = statements("bi", Some(&reader), Some("pw"), plain()).unwrap();

    assert!(
        !sql.contains("ALTER ROLE") && !sql.contains("CREATE ROLE"),
        "{sql}"
    );
    assert!(with_password[0].starts_with("ALTER ROLE bi LOGIN PASSWORD 'SCRAM"));
    assert!(
        !with_password[0].contains("NOSUPERUSER"),
        "attributes untouched"
    );
}

#[test]
fn a_role_that_is_more_than_a_reader_is_refused_unless_forced() {
    let superuser = ExistingRole {
        is_current_user: true,
        attributes: vec!["SUPERUSER".into(), "CREATEDB".into()],
        ..ExistingRole::default()
    };
    let owner = ExistingRole {
        owned_objects: 3,
        member_of: vec!["app".into()],
        ..ExistingRole::default()
    };

    let refused = statements("postgres", Some(&superuser), None, plain()).unwrap_err();
    let forced = GrantOptions {
        force: true,
        ..plain()
    };
    let granted = statements("postgres", Some(&superuser), None, forced).unwrap();

    let refused = refused.to_string();
    assert!(
        refused.contains("connected as") && refused.contains("SUPERUSER, CREATEDB"),
        "{refused}"
    );
    assert!(statements("owner", Some(&owner), None, plain()).is_err());
    assert!(
        granted.iter().all(|s| !s.contains("ALTER ROLE")),
        "{granted:?}"
    );
}

#[test]
fn operational_tables_are_left_out_unless_asked_for() {
    let analytics = statements("bi", None, None, plain()).unwrap().join(";");
    let operational = GrantOptions {
        operational: true,
        ..plain()
    };
    let all = statements("bi", None, None, operational).unwrap().join(";");

    assert!(
        analytics.contains(
            "REVOKE ALL ON feishu.sync_state, feishu.sync_settings, feishu.sync_errors, feishu.events FROM bi"
        ),
        "{analytics}"
    );
    assert!(!all.contains("REVOKE ALL"), "{all}");
    assert!(analytics.contains("REVOKE TEMPORARY"), "{analytics}");
}

#[test]
fn the_verifier_equals_the_one_postgresql_computes() {
    // Stored by PostgreSQL 15 for `CREATE ROLE … PASSWORD 'pencil'`; the same password
    // and salt must give the same verifier here.
    let from_postgres = "SCRAM-SHA-256$4096:2M1xjGkPa2UyG8uPU6aPJw==$6+mjB3RMw5Y2Wi+lp8S8zF8uyE/7mtkRyCf1EVeW3/w=:xw6sXn4TjTZbhxkUqPVux3woerZUEnMcYtEo9dRuH/Y=";
    let salt = BASE64.decode("2M1xjGkPa2UyG8uPU6aPJw==").unwrap();
    assert_eq!(scram_verifier("pencil", &salt, 4096), from_postgres);
}
