//! The command line: `sync`, `run`, `status`, `migrate`, `healthcheck`, `grant-reader`,
//! `check`, `dbt-sources`, `reset`, `completions`, `man` and `config schema`, plus `demo`
//! and `bench` when built with the `simulator` feature (the default).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Sweep;
use crate::feishu::Endpoint;
use crate::sync::ReadMode;

/// Copies Feishu (Lark) data into typed PostgreSQL tables, incrementally.
#[derive(Debug, Parser)]
#[command(name = "feishu-sync", version, about)]
pub struct Cli {
    /// Configuration file; defaults are used where it is silent. Environment variables
    /// FEISHU_SYNC__SECTION__KEY override it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one pass over the selected streams (default: every enabled one), parents first.
    /// Exits 0 only if every stream succeeded.
    Sync(SyncArgs),
    /// Run as a service: schedule every enabled stream (cron, UTC), serve /livez, /readyz
    /// and /metrics, stop gracefully on SIGTERM/SIGINT.
    Run(RunArgs),
    /// Show each stream's last run, watermarks and next scheduled time.
    Status(StatusArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Ask a running service's probe (for container health checks); exit 0 if it answers 200.
    Healthcheck(HealthcheckArgs),
    /// Benchmark a whole sync against the simulator with scaled-down rate windows.
    #[cfg(feature = "simulator")]
    Bench(crate::commands::bench::BenchArgs),
    /// Create (or update) a read-only role for BI tools: SELECT on the feishu tables and
    /// nothing else. With FEISHU_SYNC_READER_PASSWORD set it can log in.
    GrantReader(GrantReaderArgs),
    /// Start a built-in Feishu simulator, sync it into a local database and print a summary.
    /// Needs no configuration file and no credentials.
    #[cfg(feature = "simulator")]
    Demo(DemoArgs),
    /// Test, in order, the configuration, the database (reachable, writable, migrations), a
    /// token and one cheap request per enabled endpoint; one line per check. Writes nothing.
    /// Exits 0 if all pass, 1 if one fails, 2 if the configuration is invalid.
    Check,
    /// Print a dbt sources file (YAML) generated from the database's own comments: every
    /// table, view and column with its description, and freshness rules on `synced_at`.
    DbtSources(DbtSourcesArgs),
    /// Forget one stream's watermarks and resume cursors, so its next run is a first sync.
    /// Its rows are kept. Needs --yes.
    Reset(ResetArgs),
    /// Print a shell completion script, e.g. `feishu-sync completions bash`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) of feishu-sync and its subcommands.
    Man,
    /// About the configuration file: `config schema` prints its JSON Schema.
    Config(ConfigArgs),
}

#[derive(Debug, clap::Args)]
pub struct DbtSourcesArgs {
    /// dbt warns when a table's newest `synced_at` is older than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 6)]
    pub warn_after_hours: u32,
    /// dbt fails when a table's newest `synced_at` is older than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub error_after_hours: u32,
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The stream whose state to forget.
    #[arg(long, value_name = "NAME", value_enum)]
    pub stream: StreamName,
    /// Do it (without, `reset` only says what it would clear, and exits 2).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// What `config` does.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the JSON Schema of sync.toml, for editors' validation and completion.
    Schema,
}

impl Command {
    /// `sync` and `demo` draw progress lines on a terminal; the others only log.
    pub fn draws_progress(&self) -> bool {
        match self {
            Command::Sync(_) => true,
            #[cfg(feature = "simulator")]
            Command::Demo(_) => true,
            _ => false,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// A stream to run; repeat for several.
    #[arg(long = "stream", value_name = "NAME", value_enum)]
    pub streams: Vec<StreamName>,

    /// Ignore watermarks, re-read everything, then move the watermarks on.
    #[arg(long)]
    pub backfill: bool,

    /// With --backfill: re-read from this date (YYYY-MM-DD, UTC) or RFC 3339 time on.
    #[arg(long, requires = "backfill", value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,

    /// With --backfill, after changing feishu.user_id_type: empty the tables keyed by
    /// user ids and read them again under the new kind of id.
    #[arg(long, requires = "backfill", conflicts_with = "since")]
    pub reset_ids: bool,

    /// Instead of the incremental read: `reconcile` reads every partition whole (as the
    /// service does nightly), `open-tasks` re-reads every open task v1 task.
    #[arg(long, value_parser = sweep_parser(), conflicts_with = "backfill")]
    pub sweep: Option<Sweep>,
}

/// `--sweep`'s values, as spelt on the command line.
const SWEEPS: [(&str, Sweep); 2] = [
    ("reconcile", Sweep::Reconcile),
    ("open-tasks", Sweep::OpenTasks),
];

/// Parses `--sweep` into the config's [`Sweep`], listing the values in `--help`.
fn sweep_parser() -> impl TypedValueParser<Value = Sweep> {
    PossibleValuesParser::new(SWEEPS.map(|(name, _)| name)).try_map(|name| {
        SWEEPS
            .into_iter()
            .find(|(spelt, _)| *spelt == name)
            .map(|(_, sweep)| sweep)
            .ok_or_else(|| format!("unknown sweep {name:?}"))
    })
}

/// How `sweep` is spelt after `--sweep`.
pub fn sweep_cli_name(sweep: Sweep) -> &'static str {
    SWEEPS
        .into_iter()
        .find(|(_, s)| *s == sweep)
        .map_or("?", |(name, _)| name)
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Before the schedule takes over, run one backfill pass over every enabled stream.
    #[arg(long)]
    pub backfill: bool,

    /// With --backfill: re-read from this date (YYYY-MM-DD, UTC) or RFC 3339 time on.
    #[arg(long, requires = "backfill", value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Show each service process's long connection (connected since, last frame,
    /// reconnects, last error) instead of the streams; with --json, as a JSON array.
    #[arg(long, conflicts_with = "check")]
    pub connections: bool,

    /// For monitoring (cron, Nagios): exit 1, naming each problem on stderr, when an
    /// enabled stream's last run failed, it never succeeded, or its last success is older
    /// than --max-age.
    #[arg(long)]
    pub check: bool,

    /// With --check: the oldest a last success may be, e.g. `90m`, `6h`, `2d` (default:
    /// three firings of the stream's schedule, at least 1h).
    #[arg(long, requires = "check", value_name = "AGE", value_parser = parse_age)]
    pub max_age: Option<MaxAge>,
}

/// A `--max-age`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge(pub std::time::Duration);

/// Accepts a number with a unit: `45s`, `90m`, `6h`, `2d`.
pub fn parse_age(text: &str) -> Result<MaxAge, String> {
    let refuse = || format!("{text:?} is not an age like 90m, 6h or 2d");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(refuse)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| refuse())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(refuse()),
    };
    Ok(MaxAge(std::time::Duration::from_secs(number * seconds)))
}

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// `live`: the process and scheduler run (restart only if this fails); `ready`: it can
    /// work now (database answers, Feishu quota not used up).
    #[arg(long, value_enum, default_value_t = Probe::Live)]
    pub probe: Probe,
}

/// Which of the service's probes to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Probe {
    Live,
    Ready,
}

impl Probe {
    /// The probe's path on the service.
    pub fn path(self) -> &'static str {
        match self {
            Probe::Live => "/livez",
            Probe::Ready => "/readyz",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct GrantReaderArgs {
    /// The role's name (lower-case letters, digits, _).
    pub role: String,
    /// Grant an existing role even if it is more than a reader (a superuser, the connected
    /// role, one with other attributes or privileges); its attributes stay as they are.
    #[arg(long)]
    pub force: bool,
    /// Also grant the operational tables (sync_state, sync_settings, sync_errors).
    #[arg(long)]
    pub operational: bool,
}

/// Where the demo writes when neither `--database-url` nor `DATABASE_URL` says otherwise.
pub const DEMO_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/feishu_sync";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Database to fill; created if missing.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true,
          default_value = DEMO_DATABASE_URL)]
    pub database_url: String,
}

/// A stream named on the command line. clap lists the names in `--help` and suggests
/// the closest one on a typo; they come from [`Endpoint::ALL`], so a new stream needs no
/// change here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamName(pub Endpoint);

const STREAM_NAMES: [StreamName; Endpoint::ALL.len()] = {
    let mut names = [StreamName(Endpoint::ALL[0]); Endpoint::ALL.len()];
    let mut i = 1;
    while i < names.len() {
        names[i] = StreamName(Endpoint::ALL[i]);
        i += 1;
    }
    names
};

impl clap::ValueEnum for StreamName {
    fn value_variants<'a>() -> &'a [Self] {
        &STREAM_NAMES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()))
    }
}

impl SyncArgs {
    /// The streams named with `--stream`, in the order given.
    pub fn named_streams(&self) -> Vec<Endpoint> {
        self.streams.iter().map(|s| s.0).collect()
    }

    /// How the pass reads: clap already refuses `--sweep` with `--backfill`.
    pub fn read_mode(&self) -> ReadMode {
        match (self.backfill, self.sweep) {
            (true, _) => ReadMode::Backfill { since: self.since },
            (false, Some(sweep)) => sweep.into(),
            (false, None) => ReadMode::Incremental,
        }
    }
}

impl RunArgs {
    /// The backfill pass to run before the schedule takes over, if asked for.
    pub fn backfill_mode(&self) -> Option<ReadMode> {
        self.backfill
            .then_some(ReadMode::Backfill { since: self.since })
    }
}

/// Accepts `2024-05-01` (midnight UTC) or a full RFC 3339 time.
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

#[cfg(test)]
mod tests;
