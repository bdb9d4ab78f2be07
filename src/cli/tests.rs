//! Unit tests of the command line: dates for `--since`, the flags clap refuses, and stream
//! names in help and in suggestions.

use super::*;

#[test]
fn since_accepts_dates_and_times() {
    assert_eq!(
        parse_since("2024-05-01").unwrap().to_rfc3339(),
        "2024-05-01T00:00:00+00:00"
    );
    assert_eq!(
        parse_since("2024-05-01T08:00:00+08:00")
            .unwrap()
            .to_rfc3339(),
        "2024-05-01T00:00:00+00:00"
    );
    assert!(parse_since("yesterday").is_err());
}

#[test]
fn since_requires_backfill_and_streams_are_checked() {
    assert!(Cli::try_parse_from(["feishu-sync", "sync", "--since", "2024-01-01"]).is_err());
    assert!(Cli::try_parse_from(["feishu-sync", "sync", "--stream", "nope"]).is_err());
    let cli = Cli::try_parse_from([
        "feishu-sync",
        "sync",
        "--stream",
        "tasks",
        "--backfill",
        "--since",
        "2024-01-01",
    ])
    .unwrap();
    let Command::Sync(args) = cli.command else {
        panic!("not sync")
    };
    assert_eq!(args.named_streams(), [Endpoint::Tasks]);
    assert!(args.backfill && args.since.is_some());
}

#[test]
fn stream_names_are_listed_in_help_and_a_typo_gets_a_suggestion() {
    let error = Cli::try_parse_from(["feishu-sync", "sync", "--stream", "stage_task"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("stage_tasks"), "a suggestion: {error}");
    let mut command = <Cli as clap::CommandFactory>::command();
    let help = command
        .find_subcommand_mut("sync")
        .expect("sync exists")
        .render_long_help()
        .to_string();
    for endpoint in Endpoint::ALL {
        assert!(help.contains(endpoint.name()), "{help}");
    }
}
