//! `feishu-sync grant-reader ROLE`: the command around [`role`], which creates or grants
//! the read-only role: migrate first (so the grants cover today's tables), take the
//! password from `FEISHU_SYNC_READER_PASSWORD`, then say in words what the role may do.

pub mod role;

use std::process::ExitCode;

use crate::cli::GrantReaderArgs;
use crate::config::Config;
use crate::startup::migrated_pool;
use role::{GrantOptions, GrantReport};

/// Runs `grant-reader`; every refusal is an error (exit 2).
pub async fn execute(config: &Config, args: &GrantReaderArgs) -> anyhow::Result<ExitCode> {
    let pool = migrated_pool(&config.database).await?;
    let password = std::env::var("FEISHU_SYNC_READER_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let options = GrantOptions {
        force: args.force,
        operational: args.operational,
    };
    let report = role::grant_reader(&pool, &args.role, password.as_deref(), options).await?;
    print_grant(&args.role, &report, options);
    Ok(ExitCode::SUCCESS)
}

/// What `grant-reader` did, in words.
fn print_grant(role: &str, report: &GrantReport, options: GrantOptions) {
    let what = match options.operational {
        true => "the feishu tables, views and functions, operational tables included",
        false => {
            "the feishu analytics tables, views and as-of functions (not sync_state, sync_settings, sync_errors)"
        }
    };
    let login = match report.can_login {
        true => "it can log in",
        false => "it cannot log in (grant it to users' roles)",
    };
    let made = match report.existed {
        true => "existing role",
        false => "new role",
    };
    crate::outln!("{made} {role} may SELECT {what}; {login}");
    if !report.kept.is_empty() {
        crate::outln!(
            "warning: --force: {role} keeps what makes it more than a reader: {}",
            report.kept.join("; ")
        );
    }
    crate::outln!("note: {}", report.public_note);
}
