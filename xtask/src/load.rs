//! `cargo xtask load`: the server load test. Builds `gx-server` and its `load` example in
//! release mode, then runs the example, which starts the server process(es) on SQLite or
//! a throwaway PostgreSQL cluster and drives simulated devices at them over TLS.
//!
//! The generator lives in gx-server (`examples/load.rs`) because it needs tokio, hyper
//! and rustls, which xtask keeps out of its own dependencies. Every flag after `load` goes
//! to it unchanged:
//!
//! ```text
//! cargo xtask load [--db sqlite|postgres] [--replicas N] [--devices N] [--batches N]
//!                  [--batch-size N] [--pool-size N] [--pg-stats] [--json]
//! ```
//!
//! PostgreSQL (a durable throwaway cluster) needs `initdb`/`pg_ctl` (Debian's
//! `postgresql` package) or `GX_TEST_POSTGRES_URL`; the numbers and the machine load are
//! documented in `docs/server.md`.

use anyhow::Result;
use xshell::{Shell, cmd};

pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let args: Vec<String> = args.collect();
    cmd!(
        sh,
        "cargo build --release -p gx-server --bin gx-server --example load"
    )
    .run()?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| String::from("target"));
    let bin = format!("{target}/release/gx-server");
    cmd!(
        sh,
        "{target}/release/examples/load --server-bin {bin} {args...}"
    )
    .run()?;
    Ok(())
}
