//! `feishu-sim serve`: the simulator on a port, serving a synthetic tenant until Ctrl-C, so
//! anyone can point a `sync.toml` (or `feishu-sync run`) at it and watch the service work.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Parser, Subcommand};
use feishu_sim::{SimConfig, Simulator, Tenant, TenantSpec};

/// A fake Feishu Open Platform serving a synthetic tenant.
#[derive(Debug, Parser)]
#[command(name = "feishu-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a synthetic tenant until Ctrl-C; prints the URL and the settings that point
    /// feishu-sync at it.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Users in the tenant (the demo tenant's shape otherwise).
    #[arg(long, default_value_t = TenantSpec::demo().users)]
    users: usize,
    /// Task-v1 tasks in the tenant.
    #[arg(long, default_value_t = TenantSpec::demo().tasks)]
    tasks: usize,
    /// Seed of the generator: equal seeds give equal tenants.
    #[arg(long, default_value_t = TenantSpec::demo().seed)]
    seed: u64,
    /// Rate-limit window in seconds: the documented per-minute limits per this many
    /// seconds (60 is the real platform's pace).
    #[arg(long, default_value_t = 60)]
    window_secs: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Command::Serve(args) = Cli::parse().command;
    let spec = TenantSpec {
        users: args.users,
        tasks: args.tasks,
        seed: args.seed,
        ..TenantSpec::demo()
    };
    let config = SimConfig::default().with_window(Duration::from_secs(args.window_secs.max(1)));
    let tenant = Tenant::generate(&spec);
    let addr = SocketAddr::new(args.host, args.port);
    let sim = Simulator::start_on(addr, tenant, config).await?;
    println!(
        "feishu-sim serving {} users at {}",
        spec.users,
        sim.base_url()
    );
    println!("point feishu-sync at it with:");
    for (key, value) in sim.client_env() {
        println!("  export {key}={value}");
    }
    let user_ids: Vec<String> = sim.with_tenant(|t| t.users.iter().take(20).cloned().collect());
    println!(
        "  export FEISHU_SYNC__STREAMS__APPROVAL_TASKS__USER_IDS={}",
        user_ids.join(",")
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
