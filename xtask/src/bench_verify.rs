//! `cargo xtask bench-verify`: the CPU time of `gx audit verify` on a 10,000-entry log with
//! signatures, through the release binary as users run it (process start included).
//!
//! ```text
//! cargo xtask bench-verify [--entries N (10000)] [--runs N (7)] [--enforce]
//! ```
//!
//! Builds `gx` and gx-storage's `make_log` example in release, writes the log into a
//! temporary directory, checks once that `gx audit verify` finds it intact, then times
//! `--runs` more runs. CPU time is user + system of the whole process, all threads: from
//! `perf stat -e task-clock` when perf is installed (millisecond resolution), else from
//! GNU time's `%U+%S` (10 ms). It prints the median, the range and the load average (the
//! machine may be shared); `--enforce` fails when the median is over the target of
//! 0.16 s for 10,000 entries.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The target for 10,000 entries, in seconds of CPU.
const TARGET_SECS: f64 = 0.16;

struct Flags {
    entries: u64,
    runs: usize,
    enforce: bool,
}

fn flags(mut args: impl Iterator<Item = String>) -> Result<Flags> {
    let mut f = Flags {
        entries: 10_000,
        runs: 7,
        enforce: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => f.entries = number(args.next(), "--entries")?,
            "--runs" => f.runs = number(args.next(), "--runs")?,
            "--enforce" => f.enforce = true,
            other => {
                bail!("bench-verify: unknown flag `{other}` (--entries N, --runs N, --enforce)")
            }
        }
    }
    if f.runs == 0 || f.entries == 0 {
        bail!("bench-verify: --runs and --entries must be at least 1");
    }
    Ok(f)
}

fn number<T: core::str::FromStr>(value: Option<String>, flag: &str) -> Result<T> {
    value
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("bench-verify: {flag} needs a positive number"))
}

pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let flags = flags(args)?;
    cmd!(sh, "cargo build --release -p gx-cli --bin gx").run()?;
    cmd!(sh, "cargo build --release -p gx-storage --example make_log").run()?;
    let release = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| sh.current_dir().join("target"), PathBuf::from)
        .join("release");
    let (gx, make_log) = (
        release.join("gx"),
        release.join("examples").join("make_log"),
    );

    let dir = sh.create_temp_dir()?;
    let entries = flags.entries.to_string();
    let data = dir.path();
    cmd!(sh, "{make_log} {data} {entries}").quiet().run()?;
    let (log, pem) = (data.join("audit.jsonl"), data.join("audit_public.pem"));

    // One untimed run: the log must verify (and the page cache is warm for the timed ones).
    let out = cmd!(sh, "{gx} audit verify {log} --public-key {pem} --json")
        .quiet()
        .read()?;
    let expected = format!("\"entries\":{}", flags.entries);
    if !out.contains("\"valid\":true") || !out.contains(&expected) {
        bail!("bench-verify: the generated log does not verify: {out}");
    }

    let perf = cmd!(sh, "perf stat -x, -e task-clock true")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    let mut secs = Vec::with_capacity(flags.runs);
    for i in 0..flags.runs {
        let stat = data.join(format!("cpu-{i}.txt"));
        secs.push(if perf {
            cmd!(
                sh,
                "perf stat -x, -e task-clock -o {stat} {gx} audit verify {log} --public-key {pem}"
            )
            .quiet()
            .ignore_stdout()
            .run()?;
            perf_task_clock_secs(&sh.read_file(&stat)?)?
        } else {
            let time = "/usr/bin/time";
            cmd!(
                sh,
                "{time} -f %U+%S -o {stat} {gx} audit verify {log} --public-key {pem}"
            )
            .quiet()
            .ignore_stdout()
            .run()?;
            gnu_time_secs(&sh.read_file(&stat)?)?
        });
    }
    report(&flags, &secs, perf)
}

fn report(flags: &Flags, secs: &[f64], perf: bool) -> Result<()> {
    let mut sorted = secs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let target = TARGET_SECS * flags.entries as f64 / 10_000.0;
    let how = if perf {
        "perf stat task-clock"
    } else {
        "GNU time %U+%S"
    };
    println!(
        "gx audit verify, {} entries with signatures: {median:.3} s CPU median of {} runs \
         (range {min:.3}-{max:.3} s, {how}), target <= {target:.3} s; load average {}",
        flags.entries,
        secs.len(),
        crate::bench_peers::load_average()
    );
    if flags.enforce && median > target {
        bail!("bench-verify: {median:.3} s is over the target of {target:.3} s");
    }
    Ok(())
}

/// The task-clock of `perf stat -x,` output, in seconds (perf prints milliseconds).
fn perf_task_clock_secs(text: &str) -> Result<f64> {
    text.lines()
        .filter(|l| l.contains("task-clock"))
        .find_map(|l| l.split(',').next()?.trim().parse::<f64>().ok())
        .map(|ms| ms / 1000.0)
        .with_context(|| format!("bench-verify: no task-clock in perf's output: {text}"))
}

/// `%U+%S` of GNU time, in seconds.
fn gnu_time_secs(text: &str) -> Result<f64> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains('+'))
        .with_context(|| format!("bench-verify: no %U+%S in GNU time's output: {text}"))?;
    let mut sum = 0.0;
    for part in line.trim().split('+') {
        sum += part
            .trim()
            .parse::<f64>()
            .with_context(|| format!("bench-verify: `{line}` is not %U+%S"))?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_perf_and_gnu_time_output() {
        let perf = "# started on Fri Dec  4 20:30:00 2026\n\n123.45,msec,task-clock,123450000,100.00,0.98,CPUs utilized\n";
        assert!((perf_task_clock_secs(perf).unwrap() - 0.12345).abs() < 1e-9);
        assert!(perf_task_clock_secs("nothing here").is_err());
        assert!((gnu_time_secs("0.11+0.02\n").unwrap() - 0.13).abs() < 1e-9);
        assert!(gnu_time_secs("Command exited with non-zero status 1\nx+y\n").is_err());
    }

    #[test]
    fn flags_parse() {
        let parse = |a: &[&str]| flags(a.iter().map(|s| (*s).to_owned()));
        let f = parse(&["--entries", "500", "--runs", "3", "--enforce"]).unwrap();
        assert_eq!((f.entries, f.runs, f.enforce), (500, 3, true));
        let f = parse(&[]).unwrap();
        assert_eq!((f.entries, f.runs, f.enforce), (10_000, 7, false));
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--entries"]).is_err());
        assert!(parse(&["--what"]).is_err());
    }
}
