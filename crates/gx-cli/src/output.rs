//! Writing to stdout without panicking on a closed pipe (progress goes to stderr: see
//! `progress`).

use std::io::{self, Write};

use serde_json::Value;

/// Prints one JSON value on its own line.
pub(crate) fn json(value: &Value) -> anyhow::Result<()> {
    line(&value.to_string())
}

/// Prints one line on stdout; a closed pipe is an `io::Error` the caller propagates.
pub(crate) fn line(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}
