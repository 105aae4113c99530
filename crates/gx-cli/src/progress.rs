//! Progress for long work, and "retrying" notices, on stderr: only when stderr is a terminal
//! and `--quiet` was not given, so scripts and pipes see nothing of it and stdout never does.

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io::{self, IsTerminal};

use gx_sync::RetryNotice;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::human;

/// Set by `--quiet`: no progress and no retry notices, whatever stderr is.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences progress for the rest of the process (`--quiet`).
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether progress is drawn: stderr is a terminal and `--quiet` was not given.
pub(crate) fn enabled() -> bool {
    !QUIET.load(Ordering::Relaxed) && io::stderr().is_terminal()
}

/// What a bar counts, which decides how its position reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Bytes of a file: `1.2 MiB/40 MiB`.
    Bytes,
    /// Audit entries: `300/1200 entries`.
    Entries,
}

/// The bar's template for a unit; kept apart so a test can check each one parses.
fn template(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
        Unit::Entries => "{msg} [{bar:30}] {pos}/{len} entries ({eta} left)",
    }
}

/// A bar of `len` units on stderr, or a hidden one when progress is off.
pub(crate) fn bar(len: u64, unit: Unit, what: &str) -> ProgressBar {
    if !enabled() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(template(unit))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(what.to_owned());
    bar
}

/// Numbered steps of one command (`[2/4] syncing the log`), each on its own line once done.
pub(crate) struct Steps {
    bar: ProgressBar,
    total: usize,
    done: usize,
}

impl Steps {
    /// `total` steps, drawn only when progress is on.
    pub(crate) fn new(total: usize) -> Self {
        let bar = if enabled() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            total,
            done: 0,
        }
    }

    /// Starts the next step; the previous one stays printed as done.
    pub(crate) fn next(&mut self, what: &str) {
        if self.done > 0 {
            self.bar.println(format!("  done: {}", self.bar.message()));
        }
        self.done += 1;
        self.bar.set_message(format!(
            "[{}/{}] {what}",
            self.done.min(self.total),
            self.total
        ));
    }

    /// Clears the spinner; the finished steps' lines stay.
    pub(crate) fn finish(self) {
        if self.done > 0 {
            self.bar.println(format!("  done: {}", self.bar.message()));
        }
        self.bar.finish_and_clear();
    }
}

/// The line a retry notice prints: `gx: https://..: connection refused (...); retrying in
/// 0.3 s (attempt 2 of 3)`.
pub(crate) fn retry_line(notice: &RetryNotice<'_>) -> String {
    let why = match (notice.error.connect_cause(), notice.error.api()) {
        (Some(cause), _) => cause.to_string(),
        (None, Some(api)) => format!("HTTP {} {}", api.status(), api.code()),
        (None, None) => notice.error.last().to_string(),
    };
    retry_text(
        notice.url,
        &why,
        notice.attempt + 1,
        notice.max_attempts,
        notice.delay,
    )
}

/// [`retry_line`] from its parts: `next` is the attempt about to be made.
fn retry_text(url: &str, why: &str, next: u32, max: u32, delay: Duration) -> String {
    let ms = delay.as_millis();
    let wait = if ms < 10_000 {
        format!("{}.{} s", ms / 1000, ms % 1000 / 100)
    } else {
        human::duration(delay.as_secs())
    };
    format!(
        "gx: {}: {why}; retrying in {wait} (attempt {next} of {max})",
        host_of(url)
    )
}

/// `https://host:port` of a request URL: the path adds nothing for a person.
fn host_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url
        .get(after..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| after + i);
    url.get(..end).unwrap_or(url)
}

/// Prints one retry notice on stderr when progress is on (the client's retry observer).
pub(crate) fn retry_notice(notice: &RetryNotice<'_>) {
    if enabled() {
        eprintln!("{}", retry_line(notice));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for unit in [Unit::Bytes, Unit::Entries] {
            assert!(
                ProgressStyle::with_template(template(unit)).is_ok(),
                "{unit:?}"
            );
        }
    }

    #[test]
    fn a_retry_reads_as_one_line() {
        assert_eq!(
            retry_text(
                "https://127.0.0.1:1/v1/consent-bundles",
                "connection refused",
                2,
                3,
                Duration::from_millis(345)
            ),
            "gx: https://127.0.0.1:1: connection refused; retrying in 0.3 s (attempt 2 of 3)"
        );
        assert!(retry_text("u", "x", 2, 8, Duration::from_secs(75)).contains("in 1m 15s"));
    }

    #[test]
    fn hosts_drop_the_path() {
        assert_eq!(
            host_of("https://127.0.0.1:1/v1/consent-bundles"),
            "https://127.0.0.1:1"
        );
        assert_eq!(host_of("http://h"), "http://h");
    }

    #[test]
    fn a_test_process_draws_nothing() {
        // cargo test captures stderr or runs it on a terminal; --quiet wins either way.
        set_quiet(true);
        assert!(!enabled());
        assert!(bar(10, Unit::Entries, "x").is_hidden());
        set_quiet(false);
    }
}
