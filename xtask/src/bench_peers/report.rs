//! What a bench-peers run measured and how it is shown: the table's rows, the medians
//! over rounds, the gx/peer ratios, the Markdown table and the `--json` document.
//!
//! Every harness (gx, this workspace's Python package "Python-gx", the Python client, the
//! TypeScript client) reports per round one median per workload; a cell of the table is
//! the median of those round medians. A ratio is gx's (or Python-gx's) cell divided by
//! the peer's, both from the same run: below 1 it takes less time (or memory).

use core::fmt::Write as _;
use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Who ran a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Side {
    Gx,
    /// `grantex_gemma` on gx (crates/gx-python), the Python client's API on gx's core.
    PyGx,
    Python,
    Ts,
}

impl Side {
    pub(crate) const ALL: [Side; 4] = [Side::Gx, Side::PyGx, Side::Python, Side::Ts];

    /// The key in the JSON document and the column title.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Gx => "gx",
            Side::PyGx => "python_gx",
            Side::Python => "python",
            Side::Ts => "ts",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Side::Gx => "gx",
            Side::PyGx => "Python-gx",
            Side::Python => "Python client",
            Side::Ts => "TS client",
        }
    }
}

/// One line of a harness: a workload's medians in one round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) workload: String,
    pub(crate) wall_ns: f64,
    pub(crate) cpu_ns: Option<f64>,
    pub(crate) note: Option<String>,
}

/// Which number of a workload a row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Metric {
    /// Process CPU time per operation: what the code costs, little disturbed by load.
    Cpu,
    /// Wall time per operation: where waiting (fsync) or a second core is the point.
    Wall,
    /// Peak resident set size of a process, KiB.
    Rss,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu_ns",
            Metric::Wall => "wall_ns",
            Metric::Rss => "peak_rss_kib",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Metric::Cpu => "CPU",
            Metric::Wall => "wall",
            Metric::Rss => "peak RSS",
        }
    }
}

/// What a column of a row holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Peer {
    /// This workload of the peer's harness.
    Runs(&'static str),
    /// That side cannot do it; why.
    Na(&'static str),
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub(crate) label: &'static str,
    pub(crate) metric: Metric,
    pub(crate) gx: Peer,
    pub(crate) py_gx: Peer,
    pub(crate) python: Peer,
    pub(crate) ts: Peer,
}

impl Row {
    /// What `side`'s column of this row holds.
    pub(crate) fn column(&self, side: Side) -> Peer {
        match side {
            Side::Gx => self.gx,
            Side::PyGx => self.py_gx,
            Side::Python => self.python,
            Side::Ts => self.ts,
        }
    }
}

/// The workload name of peak-RSS measurements.
pub(crate) const RSS_VERIFY: &str = "rss_verify";
/// The workload name of the import-time probe (`bench-peers/import_time.py`).
pub(crate) const IMPORT: &str = "import";

/// The table, top to bottom. Workload names are those the harnesses print.
pub(crate) const ROWS: &[Row] = &[
    Row {
        label: "token verify (RS256-2048, same token and snapshot), per call",
        metric: Metric::Cpu,
        gx: Peer::Runs("verify"),
        py_gx: Peer::Runs("verify"),
        python: Peer::Runs("verify"),
        ts: Peer::Runs("verify"),
    },
    Row {
        label: "audit append, no fsync, per entry",
        metric: Metric::Cpu,
        gx: Peer::Runs("append_nofsync"),
        py_gx: Peer::Runs("append_nofsync"),
        python: Peer::Runs("append_nofsync"),
        ts: Peer::Runs("append_nofsync"),
    },
    Row {
        label: "audit append, default durability, per entry (clients: no fsync)",
        metric: Metric::Wall,
        gx: Peer::Runs("append_default"),
        py_gx: Peer::Runs("append_default"),
        python: Peer::Runs("append_default"),
        ts: Peer::Runs("append_default"),
    },
    Row {
        label: "audit append, durable, group commit of 64, per entry",
        metric: Metric::Wall,
        gx: Peer::Runs("append_batch64"),
        py_gx: Peer::Na("no batch append in the API"),
        python: Peer::Na("no batch append"),
        ts: Peer::Na("no batch append"),
    },
    Row {
        label: "10k-entry chain: read, parse, hash + links",
        metric: Metric::Cpu,
        gx: Peer::Runs("chain10k_links"),
        py_gx: Peer::Runs("chain10k_links"),
        python: Peer::Runs("chain10k_links"),
        ts: Peer::Runs("chain10k_links"),
    },
    Row {
        label: "10k-entry chain with signatures, one thread",
        metric: Metric::Cpu,
        gx: Peer::Runs("chain10k_sig"),
        py_gx: Peer::Runs("chain10k_sig"),
        python: Peer::Runs("chain10k_sig"),
        ts: Peer::Runs("chain10k_sig"),
    },
    Row {
        label: "10k-entry chain with signatures, gx on 2 threads",
        metric: Metric::Wall,
        gx: Peer::Runs("chain10k_sig_parallel"),
        py_gx: Peer::Runs("chain10k_sig"),
        python: Peer::Runs("chain10k_sig"),
        ts: Peer::Runs("chain10k_sig"),
    },
    Row {
        label: "10k-entry chain in the Python client's format, with signatures",
        metric: Metric::Cpu,
        gx: Peer::Runs("chain10k_sig_pyformat"),
        py_gx: Peer::Runs("chain10k_sig_pyformat"),
        python: Peer::Runs("chain10k_sig"),
        ts: Peer::Na("reads only the wire format"),
    },
    Row {
        label: "bundle store, raw key",
        metric: Metric::Wall,
        gx: Peer::Runs("bundle_store"),
        py_gx: Peer::Runs("bundle_store"),
        python: Peer::Runs("bundle_store"),
        ts: Peer::Runs("bundle_store"),
    },
    Row {
        label: "bundle load, raw key",
        metric: Metric::Cpu,
        gx: Peer::Runs("bundle_load"),
        py_gx: Peer::Runs("bundle_load"),
        python: Peer::Runs("bundle_load"),
        ts: Peer::Runs("bundle_load"),
    },
    Row {
        label: "`import grantex_gemma` in a fresh process",
        metric: Metric::Wall,
        gx: Peer::Na("a binary: nothing to import"),
        py_gx: Peer::Runs(IMPORT),
        python: Peer::Runs(IMPORT),
        ts: Peer::Na("not measured"),
    },
    Row {
        label: "verify-only process (`gx token verify` / minimal client script)",
        metric: Metric::Rss,
        gx: Peer::Runs(RSS_VERIFY),
        py_gx: Peer::Runs(RSS_VERIFY),
        python: Peer::Runs(RSS_VERIFY),
        ts: Peer::Runs(RSS_VERIFY),
    },
];

/// Per-round values of one side's workload.
#[derive(Clone, Debug, Default)]
struct Series {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
    note: Option<String>,
}

/// Facts about the run printed with the table.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunInfo {
    /// UTC time the run started (ISO 8601).
    pub(crate) date: String,
    pub(crate) rounds: usize,
    pub(crate) python_client: String,
    pub(crate) ts_client: String,
    /// `/proc/loadavg`'s one-minute load at the start and the end.
    pub(crate) load: (String, String),
    pub(crate) cpus: usize,
}

/// Everything measured in one run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Results {
    series: BTreeMap<(Side, String), Series>,
}

impl Results {
    /// Records one harness line of one round.
    pub(crate) fn add(&mut self, side: Side, sample: Sample) {
        let s = self.series.entry((side, sample.workload)).or_default();
        s.wall.push(sample.wall_ns);
        if let Some(cpu) = sample.cpu_ns {
            s.cpu.push(cpu);
        }
        if sample.note.is_some() {
            s.note = sample.note;
        }
    }

    /// Records one peak-RSS measurement (KiB).
    pub(crate) fn add_rss(&mut self, side: Side, kib: f64) {
        let s = self
            .series
            .entry((side, RSS_VERIFY.to_owned()))
            .or_default();
        s.rss.push(kib);
    }

    fn values(&self, side: Side, workload: &str, metric: Metric) -> Option<&[f64]> {
        let s = self.series.get(&(side, workload.to_owned()))?;
        let v = match metric {
            Metric::Cpu => &s.cpu,
            Metric::Wall => &s.wall,
            Metric::Rss => &s.rss,
        };
        (!v.is_empty()).then_some(v.as_slice())
    }

    fn note(&self, side: Side, workload: &str) -> Option<&str> {
        self.series
            .get(&(side, workload.to_owned()))?
            .note
            .as_deref()
    }
}

/// The median (NaN for none).
pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    match (s.len(), s.get(m)) {
        (_, None) => f64::NAN,
        (n, Some(&x)) if n % 2 == 1 => x,
        (_, Some(&x)) => (s[m - 1] + x) / 2.0,
    }
}

/// A cell of the table.
enum Cell<'a> {
    Value(f64, &'a [f64]),
    Na(&'static str),
    Missing,
}

fn cell<'a>(results: &'a Results, side: Side, row: &Row) -> Cell<'a> {
    let workload = match row.column(side) {
        Peer::Runs(w) => w,
        Peer::Na(why) => return Cell::Na(why),
    };
    match results.values(side, workload, row.metric) {
        Some(v) => Cell::Value(median(v), v),
        None => Cell::Missing,
    }
}

fn workload_of(row: &Row, side: Side) -> Option<&'static str> {
    match row.column(side) {
        Peer::Runs(w) => Some(w),
        Peer::Na(_) => None,
    }
}

/// The ratio columns: (numerator side, denominator side), left to right.
const RATIOS: [(Side, Side); 3] = [
    (Side::Gx, Side::Python),
    (Side::Gx, Side::Ts),
    (Side::PyGx, Side::Python),
];

/// Three significant digits.
fn sig3(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

/// A value in the row's unit: ns/µs/ms/s for times, MiB for RSS.
pub(crate) fn format_value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Rss => format!("{} MiB", sig3(v / 1024.0)),
        Metric::Cpu | Metric::Wall => match v {
            v if v < 1e3 => format!("{} ns", sig3(v)),
            v if v < 1e6 => format!("{} µs", sig3(v / 1e3)),
            v if v < 1e9 => format!("{} ms", sig3(v / 1e6)),
            v => format!("{} s", sig3(v / 1e9)),
        },
    }
}

/// gx/peer, with how many times faster (or slower) gx is.
pub(crate) fn format_ratio(gx: f64, peer: f64) -> String {
    let r = gx / peer;
    if !r.is_finite() || r <= 0.0 {
        return "–".to_owned();
    }
    if r < 1.0 {
        format!("{} ({}× less)", sig3(r), sig3(1.0 / r))
    } else {
        format!("{} ({}× more)", sig3(r), sig3(r))
    }
}

/// The Markdown table with the run's facts above and the harnesses' notes below.
pub(crate) fn markdown(results: &Results, info: &RunInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bench-peers {} · {} rounds interleaved (gx, Python-gx, Python, TS) · {} CPUs · load {} → {} · {} · {}\n",
        info.date,
        info.rounds,
        info.cpus,
        info.load.0,
        info.load.1,
        info.python_client,
        info.ts_client
    );
    out.push_str(
        "| workload | metric | gx | Python-gx | Python client | TS client | gx/Python | gx/TS | Python-gx/Python |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for row in ROWS {
        let mut cols = vec![row.label.to_owned(), row.metric.title().to_owned()];
        for side in Side::ALL {
            cols.push(match cell(results, side, row) {
                Cell::Value(v, _) => format_value(row.metric, v),
                Cell::Na(why) => format!("n/a: {why}"),
                Cell::Missing => "missing".to_owned(),
            });
        }
        for (num, den) in RATIOS {
            cols.push(match (cell(results, num, row), cell(results, den, row)) {
                (Cell::Value(g, _), Cell::Value(p, _)) => format_ratio(g, p),
                _ => "–".to_owned(),
            });
        }
        let _ = writeln!(out, "| {} |", cols.join(" | "));
    }
    let mut notes = String::new();
    for row in ROWS {
        let parts: Vec<String> = Side::ALL
            .iter()
            .filter_map(|&side| {
                let note = results.note(side, workload_of(row, side)?)?;
                Some(format!("{}: {note}", side.title()))
            })
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(notes, "- {}: {}", row.label, parts.join("; "));
        }
    }
    if !notes.is_empty() {
        out.push_str("\nHow each side ran it:\n");
        out.push_str(&notes);
    }
    out
}

/// The `--json` document: the run's facts and, per row, each side's median, round
/// values and note (or why it is n/a), and the ratios.
pub(crate) fn json(results: &Results, info: &RunInfo) -> Value {
    let rows: Vec<Value> = ROWS
        .iter()
        .map(|row| {
            let mut obj = json!({ "workload": row.label, "metric": row.metric.name() });
            for side in Side::ALL {
                obj[side.name()] = match cell(results, side, row) {
                    Cell::Value(m, rounds) => {
                        let mut v = json!({ "median": m, "rounds": rounds });
                        if let Some(w) = workload_of(row, side) {
                            v["harness_workload"] = w.into();
                            if let Some(note) = results.note(side, w) {
                                v["note"] = note.into();
                            }
                        }
                        v
                    }
                    Cell::Na(why) => json!({ "na": why }),
                    Cell::Missing => json!({ "missing": true }),
                };
            }
            for (num, den) in RATIOS {
                let key = format!("{}_over_{}", num.name(), den.name());
                obj[key] = match (cell(results, num, row), cell(results, den, row)) {
                    (Cell::Value(g, _), Cell::Value(p, _)) if p > 0.0 => json!(g / p),
                    _ => Value::Null,
                };
            }
            obj
        })
        .collect();
    json!({
        "date": info.date,
        "rounds": info.rounds,
        "cpus": info.cpus,
        "load_average_1m": { "start": info.load.0, "end": info.load.1 },
        "clients": { "python": info.python_client, "ts": info.ts_client, "python_gx": "crates/gx-python (release)" },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests;
