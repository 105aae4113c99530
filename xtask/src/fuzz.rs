//! `cargo xtask fuzz [--seconds N] [--target NAME]`: runs gx's libFuzzer targets.
//!
//! Needs the nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz; installs
//! cargo-fuzz with `cargo install --locked` when it is missing, and says so. Builds every
//! target once (release, debug assertions and overflow checks on), then runs each for N
//! seconds (default 60) over its growing corpus `fuzz/corpus/<target>/` (not committed)
//! and its committed seeds `fuzz/seeds/<target>/`, and prints one line per target: runs,
//! seconds, coverage (`cov`/`ft` from libFuzzer's last status line). A crash fails the
//! command and prints where libFuzzer wrote the input and how to replay it.
//!
//! The targets and what each checks are in `fuzz/README.md`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// libFuzzer gives up on one input after this long: a hang is a finding too.
const UNIT_TIMEOUT_SECS: u64 = 20;

/// What one run of one target did.
struct Outcome {
    target: String,
    runs: Option<u64>,
    seconds: f64,
    cov: Option<u64>,
    ft: Option<u64>,
    crash: Option<String>,
}

pub(crate) fn run(sh: &Shell, mut args: impl Iterator<Item = String>) -> Result<()> {
    let mut seconds = 60u64;
    let mut only: Vec<String> = Vec::new();
    let mut sanitizer = String::from("none");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let v = args.next().context("--seconds needs a number")?;
                seconds = v.parse().with_context(|| format!("--seconds {v}"))?;
            }
            "--target" => only.push(args.next().context("--target needs a name")?),
            "--sanitizer" => sanitizer = args.next().context("--sanitizer needs a name")?,
            other => bail!(
                "unknown flag `{other}` (use --seconds N, --target NAME, --sanitizer none|address)"
            ),
        }
    }

    let toolchains = cmd!(sh, "rustup toolchain list").read()?;
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        bail!("fuzzing needs the nightly toolchain: rustup toolchain install nightly");
    }
    if cmd!(sh, "cargo +nightly fuzz --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_err()
    {
        println!(
            "xtask fuzz: cargo-fuzz is missing; installing it (cargo install --locked cargo-fuzz)"
        );
        cmd!(sh, "cargo install --locked cargo-fuzz").run()?;
    }

    sh.change_dir("fuzz");
    let all: Vec<String> = cmd!(sh, "cargo +nightly fuzz list")
        .read()?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    for t in &only {
        if !all.contains(t) {
            bail!("no fuzz target `{t}`; the targets are: {}", all.join(", "));
        }
    }
    let targets = if only.is_empty() { all } else { only };

    let started = Instant::now();
    // Always fuzz/target, even when CARGO_TARGET_DIR is set: nightly, instrumented
    // artifacts must not mix with the workspace's.
    let build = [
        "--release",
        "--debug-assertions",
        "--sanitizer",
        &sanitizer,
        "--target-dir",
        "target",
    ];
    if targets.len() == 1 {
        let t = &targets[0];
        cmd!(sh, "cargo +nightly fuzz build {build...} {t}").run()?;
    } else {
        cmd!(sh, "cargo +nightly fuzz build {build...}").run()?;
    }
    println!(
        "xtask fuzz: built in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let mut outcomes = Vec::new();
    for t in &targets {
        sh.create_dir(format!("corpus/{t}"))?;
        sh.create_dir(format!("seeds/{t}"))?;
        let o = run_target(sh, t, seconds, &build)?;
        let failed = o.crash.is_some();
        outcomes.push(o);
        if failed {
            break;
        }
    }

    println!(
        "\n{:<16} {:>12} {:>8} {:>8} {:>8}  result",
        "target", "runs", "seconds", "cov", "ft"
    );
    let show = |v: Option<u64>| v.map_or_else(|| String::from("?"), |v| v.to_string());
    for o in &outcomes {
        println!(
            "{:<16} {:>12} {:>8.0} {:>8} {:>8}  {}",
            o.target,
            show(o.runs),
            o.seconds,
            show(o.cov),
            show(o.ft),
            if o.crash.is_some() { "CRASH" } else { "ok" }
        );
    }
    if let Some(o) = outcomes.iter().find(|o| o.crash.is_some()) {
        let artifact = o.crash.as_deref().unwrap_or("fuzz/artifacts/");
        bail!(
            "fuzz target `{}` crashed; input: {artifact}\n  replay: cd fuzz && cargo +nightly fuzz run {} {artifact}\n  then add it as a regression test in the owning crate (see fuzz/README.md)",
            o.target,
            o.target,
        );
    }
    Ok(())
}

/// Runs one target for `seconds`, echoing libFuzzer's notable lines.
fn run_target(sh: &Shell, target: &str, seconds: u64, build: &[&str]) -> Result<Outcome> {
    println!("xtask fuzz: {target} for {seconds} s");
    let started = Instant::now();
    let mut child = Command::new("cargo")
        .current_dir(sh.current_dir())
        .args(["+nightly", "fuzz", "run"])
        .args(build)
        .args([
            target,
            &format!("corpus/{target}"),
            &format!("seeds/{target}"),
            "--",
        ])
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={UNIT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo fuzz")?;
    let mut o = Outcome {
        target: target.to_owned(),
        runs: None,
        seconds: 0.0,
        cov: None,
        ft: None,
        crash: None,
    };
    let stderr = child.stderr.take().context("cargo fuzz stderr")?;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        if line.starts_with('#') {
            // "#12345  NEW  cov: 812 ft: 2301 corp: ..." / "#12345 DONE cov: ..."
            o.cov = stat(&line, "cov:").or(o.cov);
            o.ft = stat(&line, "ft:").or(o.ft);
            if line.contains("DONE") || line.contains("INITED") {
                eprintln!("  {line}");
            }
        } else if let Some(n) = line
            .strip_prefix("stat::number_of_executed_units:")
            .and_then(|v| v.trim().parse().ok())
        {
            o.runs = Some(n);
        } else if let Some(at) = line.find("Test unit written to ") {
            let path = line[at + "Test unit written to ".len()..].trim();
            o.crash = Some(format!("fuzz/{}", path.trim_start_matches("./")));
            eprintln!("  {line}");
        } else if line.contains("panicked at")
            || line.starts_with("==")
            || line.contains("ERROR: libFuzzer")
            || line.starts_with("SUMMARY")
            || line.starts_with("error")
        {
            eprintln!("  {line}");
        }
    }
    let status = child.wait()?;
    o.seconds = started.elapsed().as_secs_f64();
    if !status.success() && o.crash.is_none() {
        o.crash = Some(String::from("fuzz/artifacts/ (see the output above)"));
    }
    Ok(o)
}

/// The number after `key` in a libFuzzer status line.
fn stat(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::stat;

    #[test]
    fn reads_libfuzzer_status_lines() {
        let line =
            "#524288\tpulse  cov: 1402 ft: 5311 corp: 201/40Kb lim: 4096 exec/s: 873 rss: 88Mb";
        assert_eq!(stat(line, "cov:"), Some(1402));
        assert_eq!(stat(line, "ft:"), Some(5311));
        assert_eq!(stat(line, "nope:"), None);
        assert_eq!(stat("#1 INITED cov: x", "cov:"), None);
    }
}
