//! Running the `feishu-sync` binary against an in-process simulator.

use std::process::{Child, Command, Output, Stdio};

use sqlx::PgPool;

use feishu_sim::SimHandle;

use super::approval_users;

/// The URL of the test's own database, on the server `DATABASE_URL` names.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(
        pool.connect_options()
            .get_database()
            .expect("a database name"),
    );
    url.to_string()
}

/// Environment for a run against `sim`: credentials, budgets equal to the simulator's
/// limits over its window, and debug logging so a leak would show.
pub fn sim_env(sim: &SimHandle, pool: &PgPool) -> Vec<(String, String)> {
    let mut env = sim.client_env();
    env.extend([
        (
            "FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS".into(),
            approval_users(sim).join(","),
        ),
        ("DATABASE_URL".into(), database_url(pool)),
        ("RUST_LOG".into(), "debug,sqlx=warn".into()),
    ]);
    env
}

fn command(args: &[&str], env: Vec<(String, String)>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_feishu-sync"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .current_dir(std::env::temp_dir());
    command
}

/// Runs the binary to completion off the async runtime, so the in-process simulator
/// keeps serving.
pub async fn run_binary(args: &[&str], env: Vec<(String, String)>) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        command(&args, env).output().expect("the binary runs")
    })
    .await
    .unwrap()
}

/// A background process whose output goes to a file (a pipe nobody reads would fill up
/// and block it).
pub struct Spawned {
    pub child: Child,
    pub log: tempfile::NamedTempFile,
}

impl Spawned {
    /// Everything the process wrote so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// Starts the binary in the background, stdout and stderr into one file.
pub fn spawn_binary(args: &[&str], env: Vec<(String, String)>) -> Spawned {
    let log = tempfile::NamedTempFile::new().expect("a log file");
    let child = command(args, env)
        .stdout(Stdio::from(log.reopen().unwrap()))
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .expect("the binary starts");
    Spawned { child, log }
}

/// Stdout and stderr as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}
