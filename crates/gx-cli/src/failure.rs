//! Errors as the user sees them: a stable code, the cause chain, and a next step; on stderr as
//! text, or on stdout as `{"error":{"code","message","next"}}` when the command was given
//! `--json` (the exit code is the same either way).

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use std::ffi::OsString;
use std::io;
use std::path::Path;

use serde_json::json;

mod remote;
pub(crate) use remote::{Call, client_error, refresh_error, sync_error};

/// Whether errors are reported as JSON on stdout: set once from the command's `--json`.
static JSON: AtomicBool = AtomicBool::new(false);

/// Reports every later error as JSON on stdout (the command was given `--json`).
pub(crate) fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

fn json_mode() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Whether the raw arguments ask for JSON: for usage errors, which happen before the flags
/// are parsed. Arguments after `--` are values, not flags.
pub(crate) fn json_requested(args: impl IntoIterator<Item = OsString>) -> bool {
    args.into_iter()
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// A library error kept as the typed cause of a [`Failure`].
pub(crate) type Cause = Box<dyn core::error::Error + Send + Sync + 'static>;

/// An error with a stable code and a hint, carried inside an `anyhow::Error`; the typed
/// error it came from, if any, is its [`source`](core::error::Error::source).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) hint: String,
    pub(crate) source: Option<Cause>,
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
            source: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for Failure {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// Builds an `anyhow::Error` with a code and a hint.
pub(crate) fn fail(
    code: impl Into<String>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> anyhow::Error {
    Failure::new(code, message, hint).into()
}

/// Builds an `anyhow::Error` with a code and a hint that says what was being done
/// (`context`) and keeps the library error `cause` as its source: the report prints
/// `context: cause: cause's cause...`.
pub(crate) fn fail_with(
    code: impl Into<String>,
    context: impl Into<String>,
    hint: impl Into<String>,
    cause: impl Into<Cause>,
) -> anyhow::Error {
    let mut failure = Failure::new(code, context, hint);
    failure.source = Some(cause.into());
    failure.into()
}

/// The error and its causes, outermost first, joined by `": "`, each text once: a cause
/// whose text its parent already printed (gx's library errors name their cause in their
/// own message, so a message stays whole when printed alone) is not repeated.
pub(crate) fn chain_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Whether the error is a write to a closed pipe (`gx ... | head`): exit 0 quietly.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// The code and next step of an error that carries no [`Failure`]: by the I/O error in its
/// chain, if any.
fn uncoded(e: &anyhow::Error) -> (&'static str, &'static str) {
    match e.chain().find_map(|c| c.downcast_ref::<io::Error>()) {
        Some(io) => match io.kind() {
            io::ErrorKind::NotFound => ("FILE_NOT_FOUND", "check the path"),
            io::ErrorKind::PermissionDenied => (
                "PERMISSION_DENIED",
                "check the file's permissions and owner",
            ),
            _ => ("IO_ERROR", "check the path and its permissions"),
        },
        None => ("ERROR", "run the command with --help"),
    }
}

/// Prints the error once: `gx: error[CODE]: cause chain`, then `  next: hint` on stderr; or
/// `{"error":{"code","message","next"}}` on stdout in JSON mode.
pub(crate) fn report(e: &anyhow::Error) {
    let coded = e.chain().find_map(|c| c.downcast_ref::<Failure>());
    let (code, hint) = match coded {
        Some(f) => (f.code.as_str(), f.hint.as_str()),
        None => uncoded(e),
    };
    emit("error", code, &chain_text(e), hint);
}

/// Reports a clean "no" (exit 1) in text mode: `gx: invalid[CODE]: message`.
pub(crate) fn report_invalid(code: &str, message: &str, hint: &str) {
    emit("invalid", code, message, hint);
}

fn emit(kind: &str, code: &str, message: &str, hint: &str) {
    if json_mode() {
        let doc = json!({"error": {"code": code, "message": message, "next": hint}});
        // A closed stdout leaves nothing to report to.
        let _ = crate::output::json(&doc);
        return;
    }
    eprintln!("gx: {kind}[{code}]: {message}");
    if !hint.is_empty() {
        eprintln!("  next: {hint}");
    }
}

/// Reports a usage error found while parsing the flags: clap's own text on stderr, or one
/// JSON error on stdout when the arguments ask for `--json`. Help and version are not
/// errors: they go to stdout, exit 0.
pub(crate) fn usage(e: &clap::Error, json: bool) -> std::process::ExitCode {
    if !e.use_stderr() {
        print!("{}", e.render());
        return std::process::ExitCode::SUCCESS;
    }
    if json {
        // clap's first paragraph is the error; the usage and the help pointer follow.
        let text = e.render().to_string();
        let message = text
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let message = message.trim_start_matches("error: ");
        set_json(true);
        emit(
            "error",
            "USAGE",
            message,
            "run the command with --help to see its flags",
        );
    } else {
        eprint!("gx: {}", e.render());
    }
    std::process::ExitCode::from(2)
}

/// The error of a bundle file that cannot be opened, with a next step per cause.
pub(crate) fn bundle_load(path: &Path, e: gx_storage::BundleError) -> anyhow::Error {
    let (code, hint) = match e.code() {
        "NOT_FOUND" => (
            "BUNDLE_NOT_FOUND",
            "check the path, or create a bundle with `gx bundle create ... --out FILE`",
        ),
        "BUNDLE_TAMPERED" => (
            "BUNDLE_TAMPERED",
            "use the bundle key it was stored with (--key-file or GX_BUNDLE_KEY); if the key is right, the file was changed: re-create the bundle while online",
        ),
        "IO_ERROR" => ("IO_ERROR", "check the file's permissions and the disk"),
        other => (
            other,
            "check the file and that the bundle key is the one it was stored with",
        ),
    };
    fail_with(
        code,
        format!("cannot open bundle {}", path.display()),
        hint,
        e,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_asked_for_before_the_values() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(json_requested(args(&["gx", "bundle", "inspect", "--json"])));
        assert!(!json_requested(args(&["gx", "bundle", "inspect"])));
        assert!(!json_requested(args(&["gx", "x", "--", "--json"])));
    }

    #[test]
    fn uncoded_errors_get_a_code_from_their_io_cause() {
        let missing = anyhow::Error::new(io::Error::from(io::ErrorKind::NotFound))
            .context("reading the key file k");
        assert_eq!(uncoded(&missing).0, "FILE_NOT_FOUND");
        let denied = anyhow::Error::new(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(uncoded(&denied).0, "PERMISSION_DENIED");
        assert_eq!(uncoded(&anyhow::anyhow!("x")).0, "ERROR");
    }

    /// An error whose message names its cause, as gx's library errors do.
    #[derive(Debug)]
    struct Named(io::Error);

    impl fmt::Display for Named {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "audit log: open a.jsonl: {}", self.0)
        }
    }

    impl core::error::Error for Named {
        fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_is_printed_whole_and_once() {
        let io = || io::Error::other("disk on fire");
        // The cause's text is in its parent's message: printed once.
        let e = fail_with("IO_ERROR", "cannot read a.jsonl", "h", Named(io()));
        assert_eq!(
            chain_text(&e),
            "cannot read a.jsonl: audit log: open a.jsonl: disk on fire"
        );
        // A cause its parent does not name is printed after it.
        let e = fail_with("IO_ERROR", "cannot read a.jsonl", "h", io());
        assert_eq!(chain_text(&e), "cannot read a.jsonl: disk on fire");
        let e = anyhow::Error::new(io()).context("reading k");
        assert_eq!(chain_text(&e), "reading k: disk on fire");
    }
}
