//! `feishu-sync completions bash|zsh|fish|…` and `feishu-sync man`: shell completions
//! and a man page, generated from the same clap definition the binary parses with, so
//! they never drift from the real flags.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "feishu-sync", out);
}

/// Writes the man page (roff) of `feishu-sync` and every subcommand to `out`.
pub fn write_man_page(out: &mut dyn Write) -> std::io::Result<()> {
    let command = Cli::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("feishu-sync-{}", sub.get_name());
        writeln!(out)?;
        clap_mangen::Man::new(sub.clone().bin_name(name.clone()))
            .title(name)
            .render(out)?;
    }
    Ok(())
}

/// Runs `completions SHELL` on stdout.
pub fn execute(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut buffer = Vec::new();
    write_completions(shell, &mut buffer);
    crate::out!("{}", String::from_utf8_lossy(&buffer));
    Ok(ExitCode::SUCCESS)
}

/// Runs `man` on stdout.
pub fn execute_man() -> anyhow::Result<ExitCode> {
    let mut buffer = Vec::new();
    write_man_page(&mut buffer)?;
    crate::out!("{}", String::from_utf8_lossy(&buffer));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_every_subcommand_and_stream() {
        let mut bash = Vec::new();
        write_completions(clap_complete::Shell::Bash, &mut bash);
        let bash = String::from_utf8(bash).unwrap();
        for sub in [
            "sync",
            "status",
            "check",
            "reset",
            "dbt-sources",
            "completions",
        ] {
            assert!(bash.contains(sub), "bash completion lacks {sub}");
        }
        assert!(bash.contains("stage_tasks"), "stream names are completed");
        let mut zsh = Vec::new();
        write_completions(clap_complete::Shell::Zsh, &mut zsh);
        assert!(
            String::from_utf8(zsh)
                .unwrap()
                .starts_with("#compdef feishu-sync")
        );
    }

    #[test]
    fn the_man_page_documents_every_subcommand() {
        let mut page = Vec::new();
        write_man_page(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH feishu-sync"),
            "{}",
            &page[..200]
        );
        for sub in ["feishu-sync-sync", "feishu-sync-check", "feishu-sync-reset"] {
            assert!(page.contains(sub), "the man page lacks {sub}");
        }
        assert!(page.contains("\\-\\-max\\-age") || page.contains("max-age"));
    }
}
