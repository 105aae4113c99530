//! gx's side of `cargo xtask bench-peers`: the shared workloads timed in-process.
//!
//! ```text
//! bench_peers DATA    one JSON line per workload: median wall and CPU ns per operation
//! ```
//!
//! `DATA` is the directory `cargo xtask bench-peers` fills (`xtask/bench-peers/make_data.py`
//! and the TypeScript client's `gen-chain`): the token, the bundle's `jwksSnapshot`, the
//! bundle and its key, the audit public key, a 10,000-entry wire-format chain written by
//! the TypeScript client and one in the Python client's format written by the Python
//! client. Workload names and sizes match `xtask/bench-peers/{py_bench.py,ts_bench.mjs}`.
//! gx runs with the features the `gx` binary ships (aws-lc-rs provider, Ed25519 tables,
//! no batch verification).
//!
//! Timing: a warm-up, then `samples` batches of `batch` calls; each batch gives the wall
//! time (`Instant`) and the process CPU time (`CLOCK_PROCESS_CPUTIME_ID`, as the Python
//! and Node harnesses measure theirs) per call, and the line carries the medians over the
//! batches. Process start is not timed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use gx_core::{
    AuditVerifyingKey, AwsLcRs, ChainAnchor, ChainVerifier, DECODE_BUF_LEN, JwksSnapshot,
    LegacyPyChainVerifier, SignedAuditEntry, UnixTime, Verifier, VerifierOptions,
    verify_chain_parallel,
};
use gx_storage::{
    AuditLog, AuditLogConfig, AuditSigningKey, BundleFile, BundleKey, ConsentBundle, EntryFields,
    FsyncPolicy,
};
use serde_json::json;

const SCOPES: &[&str] = &["read:contacts", "write:calendar"];
const META: &str = r#"{"i":0,"tool":"contacts","count":42}"#;

/// One workload's timing: wall and CPU nanoseconds per call, per batch.
struct Timing {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// CPU time of the process so far (all threads), in ns.
fn cpu_now() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[m],
        _ => (s[m - 1] + s[m]) / 2.0,
    }
}

/// How one workload is sampled.
struct Spec<'a> {
    workload: &'a str,
    /// Calls per timed batch.
    batch: usize,
    /// Timed batches.
    samples: usize,
    /// Untimed calls first.
    warm: usize,
    /// Operations one call performs (64 for a 64-entry `append_batch`).
    ops_per_call: usize,
    note: Option<&'a str>,
}

impl<'a> Spec<'a> {
    const fn new(workload: &'a str, batch: usize, samples: usize, warm: usize) -> Self {
        Self {
            workload,
            batch,
            samples,
            warm,
            ops_per_call: 1,
            note: None,
        }
    }

    const fn note(mut self, note: &'a str) -> Self {
        self.note = Some(note);
        self
    }
}

/// Runs `op` as `spec` says and prints the workload's line.
fn measure(spec: Spec<'_>, mut op: impl FnMut() -> Result<()>) -> Result<()> {
    for _ in 0..spec.warm {
        op()?;
    }
    let mut t = Timing {
        wall: Vec::new(),
        cpu: Vec::new(),
    };
    let ops = (spec.batch * spec.ops_per_call) as f64;
    for _ in 0..spec.samples {
        let (w0, c0) = (Instant::now(), cpu_now());
        for _ in 0..spec.batch {
            op()?;
        }
        t.wall.push(w0.elapsed().as_nanos() as f64 / ops);
        t.cpu.push((cpu_now() - c0) / ops);
    }
    let mut line = json!({
        "workload": spec.workload,
        "ns": median(&t.wall),
        "cpu_ns": median(&t.cpu),
        "samples": t.wall,
        "batch": spec.batch,
    });
    if let Some(note) = spec.note {
        line["note"] = note.into();
    }
    println!("{line}");
    Ok(())
}

fn read(data: &Path, name: &str) -> Result<String> {
    let path = data.join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.trim().to_owned())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(data), None) = (args.next(), args.next()) else {
        bail!("usage: bench_peers DATA");
    };
    let data = PathBuf::from(data);
    let tmp = tempfile::tempdir()?;
    verify(&data)?;
    append(&data, tmp.path())?;
    chains(&data)?;
    bundle(&data, tmp.path())
}

/// `verify`: the token against the bundle's snapshot, verifier built once (as the
/// clients build theirs once), one required scope, the system clock.
fn verify(data: &Path) -> Result<()> {
    let snapshot = JwksSnapshot::<AwsLcRs>::parse(read(data, "jwks_snapshot.json")?.as_bytes())
        .map_err(|e| anyhow::anyhow!("snapshot: {e}"))?;
    let token = read(data, "token.jwt")?;
    let required = ["read:contacts"];
    let verifier = Verifier::new(
        &snapshot,
        VerifierOptions::new().with_required_scopes(&required),
    )
    .map_err(|e| anyhow::anyhow!("options: {e}"))?;
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    measure(
        Spec::new("verify", 200, 7, 50).note("aws-lc-rs provider"),
        || {
            verifier
                .verify(&token, UnixTime::now(), &mut buf)
                .map(drop)
                .map_err(|e| anyhow::anyhow!("verify: {e}"))
        },
    )
}

/// The appends: no flush, the default policy (group commit: a lone appender pays one
/// `fdatasync` per entry), and group commit by batches of 64.
fn append(data: &Path, tmp: &Path) -> Result<()> {
    let bundle = ConsentBundle::from_json(read(data, "bundle.json")?.as_bytes())?;
    let key = || {
        AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem())
            .map_err(|e| anyhow::anyhow!("audit key: {e}"))
    };
    let fields = EntryFields {
        action: "tool:read_contacts",
        agent_did: "did:grantex:ag_bench",
        grant_id: "grnt_bench",
        scopes: SCOPES,
        result: "success",
        metadata: Some(META),
    };
    let runs: [(&str, AuditLogConfig, usize, &str); 2] = [
        (
            "append_nofsync",
            AuditLogConfig::new(FsyncPolicy::None),
            200,
            "FsyncPolicy::None",
        ),
        (
            "append_default",
            AuditLogConfig::default(),
            50,
            "group commit: one fdatasync per lone append",
        ),
    ];
    for (name, config, batch, note) in runs {
        let log = AuditLog::open(tmp.join(format!("{name}.jsonl")), key()?, config)?;
        measure(Spec::new(name, batch, 5, 20).note(note), || {
            log.append_fields(&fields).map(drop).map_err(Into::into)
        })?;
    }
    let log = AuditLog::open(tmp.join("batch64.jsonl"), key()?, AuditLogConfig::default())?;
    let entries = vec![fields; 64];
    let spec = Spec {
        ops_per_call: entries.len(),
        ..Spec::new("append_batch64", 10, 5, 2).note("group commit, append_batch of 64; per entry")
    };
    measure(spec, || {
        log.append_batch(&entries).map(drop).map_err(Into::into)
    })
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// The 10,000-entry chains, read from the file and parsed on every run (as the clients do).
fn chains(data: &Path) -> Result<()> {
    let key = AuditVerifyingKey::from_spki_pem(&read(data, "audit_public.pem")?)
        .map_err(|e| anyhow::anyhow!("audit public key: {e}"))?;
    let wire = data.join("chain_wire.jsonl");
    let py = data.join("chain_py.jsonl");
    let read_all = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let links = || -> Result<()> {
        let bytes = read_all(&wire)?;
        let mut v = ChainVerifier::dangerous_links_only(ChainAnchor::Genesis);
        for l in lines(&bytes) {
            v.push_line(l)?;
        }
        v.finish()?;
        Ok(())
    };
    measure(
        Spec::new("chain10k_links", 1, 3, 1).note("ChainVerifier::dangerous_links_only"),
        links,
    )?;
    let serial = || -> Result<()> {
        let bytes = read_all(&wire)?;
        let mut v = ChainVerifier::new(ChainAnchor::Genesis, &key);
        for l in lines(&bytes) {
            v.push_line(l)?;
        }
        v.finish()?;
        Ok(())
    };
    measure(
        Spec::new("chain10k_sig", 1, 3, 1)
            .note("ChainVerifier, one thread (what gx audit verify does)"),
        serial,
    )?;
    let parallel = || -> Result<()> {
        let bytes = read_all(&wire)?;
        let entries = lines(&bytes)
            .map(SignedAuditEntry::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        verify_chain_parallel(ChainAnchor::Genesis, &key, &entries, 2)?;
        Ok(())
    };
    measure(
        Spec::new("chain10k_sig_parallel", 1, 3, 1)
            .note("parse, then verify_chain_parallel on 2 threads"),
        parallel,
    )?;
    let legacy = || -> Result<()> {
        let bytes = read_all(&py)?;
        let mut v = LegacyPyChainVerifier::new(ChainAnchor::Genesis, &key);
        for l in lines(&bytes) {
            v.push_line(l)?;
        }
        v.finish()?;
        Ok(())
    };
    measure(
        Spec::new("chain10k_sig_pyformat", 1, 3, 1)
            .note("LegacyPyChainVerifier on the Python client's chain"),
        legacy,
    )
}

/// Bundle store (atomic: temp file, fsync, rename, directory fsync) and load, raw key.
fn bundle(data: &Path, tmp: &Path) -> Result<()> {
    let bundle = ConsentBundle::from_json(read(data, "bundle.json")?.as_bytes())?;
    let key = BundleKey::from_hex(&read(data, "bundle_key.hex")?)?;
    let file = BundleFile::new(tmp.join("bundle.gx"));
    let spec = Spec::new("bundle_store", 20, 5, 2).note("atomic: fsync, rename, directory fsync");
    measure(spec, || file.store(&bundle, &key).map_err(Into::into))?;
    measure(Spec::new("bundle_load", 100, 5, 10), || {
        file.load(&key).map(drop).map_err(Into::into)
    })
}
