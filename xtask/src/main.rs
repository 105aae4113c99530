//! `cargo xtask`: the project's automation, run as `cargo xtask <command>`.
//!
//! Each command lives in its own module with a `run` function. Commands run tools
//! through `xshell::cmd!`, never through shell scripts, and stop with a clear message
//! when a prerequisite (a rustup target, QEMU, nightly) is missing.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::Shell;

mod bench_peers;
mod bench_verify;
mod cross;
mod embedded;
mod ffi_header;
mod fuzz;
mod interop;
mod load;
mod peers;
mod setup;
mod tidy;

const HELP: &str = "\
cargo xtask <command>

commands:
  help        print this text
  bench-verify
              CPU time of the release `gx audit verify` on a 10,000-entry signed log
              [--entries N] [--runs N] [--enforce]
  cross       build for aarch64-unknown-linux-gnu, run gx-core/gx-storage tests under qemu-aarch64
  interop     run the published Python and npm clients against gx-server [--latest]
  bench-peers gx against the published Python and TS clients, same workloads, one table
              [--json] [--rounds N] [--latest]
  load        gx-server load test: simulated devices syncing over TLS, entries/s, p50/p99,
              server CPU per 1000 entries [--db sqlite|postgres] [--replicas N]
              [--devices N] [--batches N] [--batch-size N] [--json]
  embedded    build the firmware examples (Rust: Cortex-M4, RV32IMAC; C over gx-ffi: Cortex-M4),
              run them under QEMU, print footprint [--firmware rust|c] [--enforce-budget]
  ffi-header  regenerate crates/gx-ffi/include/gx.h with the pinned cbindgen [--check]
  fuzz        run every libFuzzer target (nightly, cargo-fuzz) [--seconds N (60)] [--target NAME]
";

fn main() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root()?);
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some("bench-peers") => bench_peers::run(&sh, args),
        Some("bench-verify") => bench_verify::run(&sh, args),
        Some("cross") => cross::run(&sh, args),
        Some("embedded") => embedded::run(&sh, args),
        Some("ffi-header") => ffi_header::run(&sh, args),
        Some("fuzz") => fuzz::run(&sh, args),
        Some("interop") => interop::run(&sh, args),
        Some("load") => load::run(&sh, args),
        Some(other) => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent()
        .map(PathBuf::from)
        .context("xtask lives inside the workspace root")
}
