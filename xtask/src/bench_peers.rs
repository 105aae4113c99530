//! `cargo xtask bench-peers`: gx against the published Grantex clients, same workloads,
//! same token, keys and data, in one run.
//!
//! 1. Builds `gx` and the gx harness (`crates/gx-cli/examples/bench_peers.rs`) in release.
//! 2. Installs the Python client (venv) and the TypeScript client (npm project) into a
//!    temporary directory ([`crate::peers`], pinned versions; `--latest` for the newest),
//!    and this workspace's Python package (crates/gx-python, release build) into a second
//!    venv: the "Python-gx" column.
//! 3. Makes the data once (`bench-peers/make_data.py`: a fresh RS256 token valid for a
//!    day, the bundle's snapshot, the bundle and its key, the audit key; 10,000 entries
//!    appended by the Python client in its format) and has the TypeScript client append
//!    10,000 wire-format entries with the same key.
//! 4. For N rounds, interleaved: the gx harness, the Python-gx harness, the Python
//!    harness, the TS harness (each prints one JSON line per workload, timed in-process),
//!    then the peak RSS of a verify-only process of each (`/usr/bin/time -f %M`) and the
//!    time `import grantex_gemma` takes in a fresh process (both Python sides).
//! 5. Prints the table (Markdown) or, with `--json`, a JSON document
//!    ([`report`] says what is in them).
//!
//! Needs `python3` (venv), `node` 18+, `npm`, GNU `time`, and PyPI/npm access.

mod parse;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{peers, setup};
use report::{Results, RunInfo, Side};

const MAKE_DATA: &str = include_str!("../bench-peers/make_data.py");
const PY_BENCH: &str = include_str!("../bench-peers/py_bench.py");
const PY_GX_BENCH: &str = include_str!("../bench-peers/py_gx_bench.py");
const PY_COMMON: &str = include_str!("../bench-peers/py_common.py");
const IMPORT_TIME: &str = include_str!("../bench-peers/import_time.py");
const TS_BENCH: &str = include_str!("../bench-peers/ts_bench.mjs");

/// Command-line flags.
#[derive(Debug, PartialEq, Eq)]
struct Flags {
    json: bool,
    rounds: usize,
    latest: bool,
}

fn flags(args: impl Iterator<Item = String>) -> Result<Flags> {
    let mut f = Flags {
        json: false,
        rounds: 5,
        latest: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => f.json = true,
            "--latest" => f.latest = true,
            "--rounds" => {
                let n = args.next().context("--rounds needs a number")?;
                f.rounds = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--rounds {n}: not a positive number"))?;
            }
            other => bail!("bench-peers: unknown flag `{other}` (--json, --rounds N, --latest)"),
        }
    }
    Ok(f)
}

/// Where the things a round runs are.
struct Setup {
    gx: PathBuf,
    harness: PathBuf,
    python: PathBuf,
    py_gx: PathBuf,
    node_project: PathBuf,
    scripts: PathBuf,
    data: PathBuf,
}

pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let flags = flags(args)?;
    peers::check_tools(sh, "bench-peers")?;
    setup::apt_tools(sh, &[("time", "time")])?;
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        bail!("bench-peers needs GNU time at /usr/bin/time (Debian package `time`)");
    }
    let info_date = cmd!(sh, "date -u +%Y-%m-%dT%H:%M:%SZ").quiet().read()?;
    let load_start = load_average();

    let (gx, harness) = build_gx(sh)?;
    let work = sh.create_temp_dir()?;
    let dir = work.path().to_path_buf();
    let python = peers::install_python(sh, &dir, flags.latest)?;
    let py_gx = peers::install_python_gx(sh, &dir)?;
    let node_project = peers::install_node(sh, &dir, flags.latest)?;
    let scripts = dir.join("scripts");
    sh.create_dir(&scripts)?;
    sh.write_file(scripts.join("make_data.py"), MAKE_DATA)?;
    sh.write_file(scripts.join("py_bench.py"), PY_BENCH)?;
    sh.write_file(scripts.join("py_gx_bench.py"), PY_GX_BENCH)?;
    sh.write_file(scripts.join("py_common.py"), PY_COMMON)?;
    sh.write_file(scripts.join("import_time.py"), IMPORT_TIME)?;
    sh.write_file(node_project.join("ts_bench.mjs"), TS_BENCH)?;
    let data = dir.join("data");
    sh.create_dir(&data)?;
    eprintln!("bench-peers: making the data (token, keys, bundle, two 10k-entry chains)");
    let make = scripts.join("make_data.py");
    cmd!(sh, "{python} {make} {data}")
        .quiet()
        .ignore_stdout()
        .run()?;
    {
        let _cd = sh.push_dir(&node_project);
        cmd!(sh, "node ts_bench.mjs gen-chain {data}")
            .quiet()
            .run()?;
    }
    let s = Setup {
        gx,
        harness,
        python,
        py_gx,
        node_project,
        scripts,
        data,
    };

    let mut results = Results::default();
    for round in 1..=flags.rounds {
        eprintln!("bench-peers: round {round}/{}", flags.rounds);
        for side in Side::ALL {
            for sample in parse::samples(&harness_output(sh, &s, side)?)? {
                results.add(side, sample);
            }
        }
        for side in Side::ALL {
            results.add_rss(side, peak_rss(sh, &s, side, &dir)?);
        }
        for (side, python) in [(Side::PyGx, &s.py_gx), (Side::Python, &s.python)] {
            let script = s.scripts.join("import_time.py");
            let out = cmd!(sh, "{python} {script}").quiet().read()?;
            for sample in parse::samples(&out)? {
                results.add(side, sample);
            }
        }
    }

    let info = RunInfo {
        date: info_date,
        rounds: flags.rounds,
        python_client: peers::python_package(flags.latest).to_owned(),
        ts_client: peers::npm_package(flags.latest).to_owned(),
        load: (load_start, load_average()),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
    };
    if flags.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&results, &info))?
        );
    } else {
        print!("{}", report::markdown(&results, &info));
    }
    Ok(())
}

/// Builds the `gx` binary as users get it, then the harness (its dev-dependencies
/// would otherwise change the binary's features), both in release.
fn build_gx(sh: &Shell) -> Result<(PathBuf, PathBuf)> {
    cmd!(sh, "cargo build --release -p gx-cli --bin gx").run()?;
    cmd!(sh, "cargo build --release -p gx-cli --example bench_peers").run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| sh.current_dir().join("target"), PathBuf::from)
        .join("release");
    Ok((
        target.join("gx"),
        target.join("examples").join("bench_peers"),
    ))
}

/// One side's harness, all workloads: its stdout.
fn harness_output(sh: &Shell, s: &Setup, side: Side) -> Result<String> {
    let data = &s.data;
    let out = match side {
        Side::Gx => {
            let harness = &s.harness;
            cmd!(sh, "{harness} {data}").quiet().read()
        }
        Side::PyGx => {
            let (python, script) = (&s.py_gx, s.scripts.join("py_gx_bench.py"));
            cmd!(sh, "{python} {script} bench {data}").quiet().read()
        }
        Side::Python => {
            let (python, script) = (&s.python, s.scripts.join("py_bench.py"));
            cmd!(sh, "{python} {script} bench {data}").quiet().read()
        }
        Side::Ts => {
            let _cd = sh.push_dir(&s.node_project);
            cmd!(sh, "node ts_bench.mjs bench {data}").quiet().read()
        }
    };
    out.with_context(|| format!("the {} harness failed", side.name()))
}

/// Peak RSS (KiB) of a process that verifies the token once and exits.
fn peak_rss(sh: &Shell, s: &Setup, side: Side, dir: &Path) -> Result<f64> {
    let out = dir.join(format!("rss-{}.txt", side.name()));
    let data = &s.data;
    let time = "/usr/bin/time";
    let status = match side {
        Side::Gx => {
            let gx = &s.gx;
            let (jwks, token) = (data.join("jwks_snapshot.json"), data.join("token.jwt"));
            cmd!(
                sh,
                "{time} -f %M -o {out} {gx} token verify --jwks {jwks} --token {token} --require-scope read:contacts"
            )
            .quiet()
            .run()
        }
        Side::PyGx => {
            let (python, script) = (&s.py_gx, s.scripts.join("py_gx_bench.py"));
            cmd!(
                sh,
                "{time} -f %M -o {out} {python} {script} verify-once {data}"
            )
            .quiet()
            .run()
        }
        Side::Python => {
            let (python, script) = (&s.python, s.scripts.join("py_bench.py"));
            cmd!(
                sh,
                "{time} -f %M -o {out} {python} {script} verify-once {data}"
            )
            .quiet()
            .run()
        }
        Side::Ts => {
            let _cd = sh.push_dir(&s.node_project);
            cmd!(
                sh,
                "{time} -f %M -o {out} node ts_bench.mjs verify-once {data}"
            )
            .quiet()
            .run()
        }
    };
    status.with_context(|| format!("the {} verify-only process failed", side.name()))?;
    parse::time_kib(&sh.read_file(&out)?)
}

/// The one-minute load average, or `?`.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::{Flags, flags};

    fn parse(args: &[&str]) -> anyhow::Result<Flags> {
        flags(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_parse() {
        assert_eq!(
            parse(&[]).unwrap(),
            Flags {
                json: false,
                rounds: 5,
                latest: false
            }
        );
        assert_eq!(
            parse(&["--json", "--rounds", "9", "--latest"]).unwrap(),
            Flags {
                json: true,
                rounds: 9,
                latest: true
            }
        );
        assert!(parse(&["--rounds"]).is_err());
        assert!(parse(&["--rounds", "0"]).is_err());
        assert!(parse(&["--rounds", "x"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }

    /// Every workload the table names is printed by the harness that must run it, so
    /// renaming one side cannot silently leave a "missing" cell.
    #[test]
    fn harnesses_print_every_workload_of_the_table() {
        use super::report::{IMPORT, Peer, RSS_VERIFY, Side};
        let gx = include_str!("../../crates/gx-cli/examples/bench_peers.rs");
        for row in super::report::ROWS {
            for (side, script) in [
                (Side::Gx, gx),
                (Side::PyGx, super::PY_GX_BENCH),
                (Side::Python, super::PY_BENCH),
                (Side::Ts, super::TS_BENCH),
            ] {
                if let Peer::Runs(w) = row.column(side)
                    && w != RSS_VERIFY
                    && w != IMPORT
                {
                    let quoted = [format!("\"{w}\""), format!("'{w}'")];
                    assert!(
                        quoted.iter().any(|q| script.contains(q)),
                        "{}: {w}",
                        side.name()
                    );
                }
            }
        }
        assert!(super::PY_BENCH.contains("verify-once"));
        assert!(super::PY_GX_BENCH.contains("verify-once"));
        assert!(super::TS_BENCH.contains("verify-once"));
        assert!(super::IMPORT_TIME.contains("\"import\""));
    }
}
