//! Errors as the user sees them: a stable code, the cause chain, and a next step.

use core::fmt;
use std::io;

/// An error with a stable code and a hint, carried inside an `anyhow::Error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl Failure {
    pub(crate) fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for Failure {}

/// Builds an `anyhow::Error` with a code and a hint.
pub(crate) fn fail(
    code: impl Into<String>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> anyhow::Error {
    Failure::new(code, message, hint).into()
}

/// Whether the error is a write to a closed pipe (`gx ... | head`): exit 0 quietly.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// Prints the error once: `gx: error[CODE]: cause chain`, then `  next: hint`.
pub(crate) fn report(e: &anyhow::Error) {
    let coded = e.chain().find_map(|c| c.downcast_ref::<Failure>());
    let (code, hint) = match coded {
        Some(f) => (f.code.as_str(), f.hint.as_str()),
        None => match e.chain().find_map(|c| c.downcast_ref::<io::Error>()) {
            Some(_) => ("IO_ERROR", "check the path and its permissions"),
            None => ("ERROR", "run the command with --help"),
        },
    };
    eprintln!("gx: error[{code}]: {e:#}");
    if !hint.is_empty() {
        eprintln!("  next: {hint}");
    }
}

/// Reports a clean "no" (exit 1) in text mode: `gx: invalid[CODE]: message`.
pub(crate) fn report_invalid(code: &str, message: &str, hint: &str) {
    eprintln!("gx: invalid[{code}]: {message}");
    if !hint.is_empty() {
        eprintln!("  next: {hint}");
    }
}
