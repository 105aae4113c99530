//! `gx completions SHELL` and `gx man`: shell completions and the manual page, generated from
//! the clap definition so they never drift from the flags.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completion script for `shell` on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "gx", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the manual page (roff) on stdout (`gx man | man -l -`), or writes one page per
/// command into `dir`.
pub(crate) fn man(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
