//! Runs a firmware ELF under QEMU with a time limit and reads its semihosting report.

use core::time::Duration;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};

use super::Target;

/// A run that takes longer has hung (a pass takes about a second).
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// What a firmware run printed and how QEMU exited.
pub(crate) struct Run {
    /// Everything the firmware printed (semihosting stdout) and QEMU's stderr.
    pub(crate) output: String,
    /// QEMU's exit status (the firmware's semihosting exit).
    pub(crate) exit_ok: bool,
}

impl Run {
    /// Whether the firmware said PASS and QEMU exited with status 0.
    pub(crate) fn passed(&self) -> bool {
        self.exit_ok && self.output.lines().any(|l| l.trim() == "GX-FIRMWARE PASS")
    }

    /// The firmware's `GX-FIRMWARE FAIL ...` line, if it printed one.
    pub(crate) fn failure(&self) -> Option<&str> {
        self.output
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("GX-FIRMWARE FAIL"))
    }

    /// The text of metric `name` (`GX-METRIC name=value`).
    pub(crate) fn metric_text(&self, name: &str) -> Option<&str> {
        self.output.lines().find_map(|l| {
            l.trim()
                .strip_prefix("GX-METRIC ")?
                .strip_prefix(name)?
                .strip_prefix('=')
        })
    }

    /// The metrics whose name starts with `prefix`: (rest of the name, value text).
    pub(crate) fn metrics_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.output.lines().filter_map(move |l| {
            l.trim()
                .strip_prefix("GX-METRIC ")?
                .strip_prefix(prefix)?
                .split_once('=')
        })
    }

    /// Metric `name` as a number.
    pub(crate) fn metric(&self, name: &str) -> Option<u64> {
        self.metric_text(name)?.parse().ok()
    }
}

/// Runs `elf` on `t`'s QEMU machine; kills it after [`TIME_LIMIT`].
pub(crate) fn run(t: &Target, elf: &Path) -> Result<Run> {
    println!("embedded: running {} under {}", t.triple, t.qemu);
    let mut child = Command::new(t.qemu)
        .args(t.qemu_args)
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", t.qemu))?;
    let mut stdout = child.stdout.take().context("QEMU stdout")?;
    let mut stderr = child.stderr.take().context("QEMU stderr")?;
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    };
    let mut output = out.join().map_err(|_| anyhow::anyhow!("stdout reader"))??;
    output.push_str(&err.join().map_err(|_| anyhow::anyhow!("stderr reader"))??);
    let Some(status) = status else {
        anyhow::bail!("QEMU did not finish within {TIME_LIMIT:?}; output:\n{output}");
    };
    Ok(Run {
        output,
        exit_ok: status.success(),
    })
}
