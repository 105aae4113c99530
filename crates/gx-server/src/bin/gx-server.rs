//! The `gx-server` binary: the shared server command line ([`gx_server::cli`]); SIGTERM or
//! Ctrl-C stop `run` gracefully. Exit codes: 0 ok, 2 usage, configuration or I/O error.

use std::process::ExitCode;

use clap::Parser;
use gx_server::cli::{ServerCommand, execute};

/// gx-server: a Grantex-compatible reference server.
#[derive(Debug, Parser)]
#[command(
    name = "gx-server",
    version,
    after_help = "run prints the base URL as the first line of stdout, then logs to stderr \
                  (RUST_LOG=gx_server=debug for more).\nExit codes: 0 ok, 2 usage or I/O error."
)]
struct Cli {
    #[command(subcommand)]
    command: ServerCommand,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                eprint!("gx-server: {}", e.render());
                return ExitCode::from(2);
            }
            print!("{}", e.render());
            return ExitCode::SUCCESS;
        }
    };
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gx-server: {e:#}");
            ExitCode::from(2)
        }
    }
}
