//! The `gx` binary: flags, dispatch and printing; the logic lives in the gx library crates.
//!
//! Exit codes (stable): 0 success; 1 the thing checked is invalid (a token that does not
//! verify, a broken audit chain, a revoked or expired bundle); 2 a usage or I/O error.
//! Errors print once on stderr, prefixed `gx:`, with a code and a next step. A broken
//! pipe on stdout exits 0 quietly.

mod audit;
mod bundle;
mod cli;
mod demo;
mod failure;
mod output;
mod secrets;
mod server;
mod sync;
mod token;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AuditCmd, BundleCmd, Cli, Command, TokenCmd};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with exit 0; usage errors are exit 2.
            if e.use_stderr() {
                eprint!("gx: {}", e.render());
                return ExitCode::from(2);
            }
            print!("{}", e.render());
            return ExitCode::SUCCESS;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if failure::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            failure::report(&e);
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Token {
            cmd: TokenCmd::Verify(args),
        } => token::verify(&args),
        Command::Audit { cmd } => match cmd {
            AuditCmd::Verify(args) => audit::verify(&args),
            AuditCmd::Hash(args) => audit::hash(&args),
            AuditCmd::Append(args) => audit::append(&args),
        },
        Command::Bundle { cmd } => match cmd {
            BundleCmd::Create(args) => bundle::create(&args),
            BundleCmd::Inspect(args) => bundle::inspect(&args),
            BundleCmd::Refresh(args) => bundle::refresh(&args),
            BundleCmd::Status(args) => bundle::status(&args),
            BundleCmd::Revoke(args) => bundle::revoke(&args),
        },
        Command::Sync(args) => sync::run(&args),
        Command::Server { cmd } => server::run(cmd),
        Command::Demo(args) => demo::run(&args),
    }
}
