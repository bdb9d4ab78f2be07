//! Running `feishu-sync run` as a process in a test: its environment (every stream firing
//! each second, or none), its probes over HTTP, polling until a condition holds, and
//! SIGTERM with the exit code and log that follow.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::binary::{Spawned, sim_env};
use feishu_sim::SimHandle;
use feishu_sync::feishu::Endpoint;

/// Seconds a service under test gets to shut down.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment of a service on `port` firing every stream every second.
pub fn service_env(sim: &SimHandle, pool: &PgPool, port: u16) -> Vec<(String, String)> {
    let mut env = sim_env(sim, pool);
    env.push((
        "FEISHU_SYNC__SERVER__LISTEN".into(),
        format!("127.0.0.1:{port}"),
    ));
    env.push((
        "FEISHU_SYNC__SERVER__SHUTDOWN_TIMEOUT_SECS".into(),
        SHUTDOWN_TIMEOUT_SECS.to_string(),
    ));
    for endpoint in Endpoint::ALL {
        let key = format!(
            "FEISHU_SYNC__STREAMS__{}__SCHEDULE",
            endpoint.name().to_uppercase()
        );
        env.push((key, "* * * * * *".into()));
    }
    env
}

pub async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Polls `check` every 200 ms until it holds or `limit` passes.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Sends SIGTERM and waits for the exit code, failing if the shutdown takes too long.
pub async fn terminate(spawned: Spawned) -> (Option<i32>, Duration, String) {
    let mut child = spawned.child;
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -TERM");
    let limit = Duration::from_secs(SHUTDOWN_TIMEOUT_SECS + 5);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = started.elapsed();
    child.wait().unwrap();
    (
        code,
        took,
        std::fs::read_to_string(spawned.log.path()).unwrap_or_default(),
    )
}

/// Environment with every schedule far away, so only what the test starts runs.
pub fn quiet_env(sim: &SimHandle, pool: &PgPool, port: u16) -> Vec<(String, String)> {
    let mut env = service_env(sim, pool, port);
    for (key, value) in env.iter_mut() {
        if key.ends_with("__SCHEDULE") {
            // Midnight on 1 January: never during a test (the defaults fire every few
            // minutes, and a firing would race what the test starts).
            *value = "0 0 0 1 1 *".into();
        }
    }
    env
}
