//! Audit trail benchmarks: entry hash, entry signing, and verification of a
//! 10,000-entry chain (hash + link only; with signatures serial, batched, parallel).
//!
//! Run: `cargo bench -p gx-core --features std,batch,fast-ed25519 --bench audit`; for
//! instruction counts of the JSON-heavy calls see `GX_AUDIT_LOOP` ([`run_loop`]).
//! (`fast-ed25519` as std users get it through gx-storage).
//! Targets: hash + link >= 500,000 entries/s; 10k chain with signatures <= 0.15 s on 2 cores.
//!
//! Two measurements: wall time (groups `entry`, `chain10k`) and process CPU time
//! (`CLOCK_PROCESS_CPUTIME_ID`, group `chain10k_cpu`). On a machine shared with other
//! jobs wall time mostly measures the queue for a core; CPU time measures the code. For
//! the parallel check, process CPU time is the sum over both threads: on two idle cores
//! its wall time is about half of it (the chunks are equal).
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use core::hint::black_box;
use core::time::Duration;

use criterion::{Criterion, Throughput};
use gx_core::{
    AuditEntry, AuditSigningKey, AuditStr, ChainAnchor, ChainVerifier, LegacyPyEntry, Metadata,
    PrevHash, Scopes, SignedAuditEntry, entry_hash,
};

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;

const SCOPES: &[&str] = &["read:contacts", "write:calendar"];
const CHAIN: usize = 10_000;

fn entry<'a>(seq: u64, meta: &'a str, prev: PrevHash) -> AuditEntry<'a> {
    AuditEntry {
        seq,
        timestamp: AuditStr::new("2026-11-27T10:00:00.000Z"),
        action: AuditStr::new("tool:read_contacts"),
        agent_did: AuditStr::new("did:grantex:ag_01HXYZ"),
        grant_id: AuditStr::new("grnt_01HXYZ"),
        scopes: Scopes::new(SCOPES),
        result: AuditStr::new("success"),
        metadata: Some(Metadata::parse(meta).unwrap()),
        prev_hash: prev,
    }
}

fn chain<'a>(key: &AuditSigningKey, metas: &'a [String]) -> Vec<SignedAuditEntry<'a>> {
    let mut prev = PrevHash::Genesis;
    metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let s = key.sign_entry(entry(i as u64 + 1, m, prev)).unwrap();
            prev = PrevHash::Entry(s.hash);
            s
        })
        .collect()
}

/// The signing key and the metadata of the 10,000 entries.
struct Fixture {
    key: AuditSigningKey,
    metas: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            key: AuditSigningKey::from_bytes(&[42; 32]),
            metas: (0..CHAIN)
                .map(|i| format!(r#"{{"i":{i},"tool":"contacts","count":42}}"#))
                .collect(),
        }
    }
}

fn to_lines(entries: &[SignedAuditEntry<'_>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let mut buf = [0u8; 1024];
            let n = e.write_json(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion, key: &AuditSigningKey, entries: &[SignedAuditEntry<'_>]) {
    let vk = key.verifying_key();
    let lines = to_lines(entries);

    let one = entry(
        1,
        r#"{"i":0,"tool":"contacts","count":42}"#,
        PrevHash::Genesis,
    );
    let mut g = c.benchmark_group("entry");
    g.throughput(Throughput::Elements(1));
    g.bench_function("hash", |b| b.iter(|| entry_hash(black_box(&one)).unwrap()));
    g.bench_function("sign", |b| {
        b.iter(|| key.sign_entry(black_box(one)).unwrap())
    });
    g.bench_function("parse_line", |b| {
        b.iter(|| SignedAuditEntry::parse_line(black_box(lines[0].as_bytes())).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("chain10k");
    g.throughput(Throughput::Elements(CHAIN as u64));
    g.sample_size(10);
    g.bench_function("hash_link_only", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::dangerous_links_only(ChainAnchor::Genesis);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    g.bench_function("parse_hash_link_only", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::dangerous_links_only(ChainAnchor::Genesis);
            for l in &lines {
                v.push_line(l.as_bytes()).unwrap();
            }
            v.finish().unwrap()
        })
    });
    g.bench_function("signatures_serial", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "batch")]
    g.bench_function("signatures_batched", |b| {
        b.iter(|| {
            let mut v = gx_core::BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "std")]
    g.bench_function("signatures_parallel_2_threads", |b| {
        b.iter(|| gx_core::verify_chain_parallel(ChainAnchor::Genesis, &vk, entries, 2).unwrap())
    });
    g.finish();
}

/// The chain checks again, in process CPU time.
fn cpu(c: &mut Criterion<CpuTime>, key: &AuditSigningKey, entries: &[SignedAuditEntry<'_>]) {
    let vk = key.verifying_key();
    let mut g = c.benchmark_group("chain10k_cpu");
    g.throughput(Throughput::Elements(CHAIN as u64));
    g.sample_size(10);
    g.bench_function("hash_link_only", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::dangerous_links_only(ChainAnchor::Genesis);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    g.bench_function("signatures_serial", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "batch")]
    g.bench_function("signatures_batched", |b| {
        b.iter(|| {
            let mut v = gx_core::BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "std")]
    g.bench_function("signatures_parallel_2_threads_sum", |b| {
        b.iter(|| gx_core::verify_chain_parallel(ChainAnchor::Genesis, &vk, entries, 2).unwrap())
    });
    g.finish();
}

/// Rich metadata for the canonicaliser: index keys out of order, a duplicate, escapes,
/// a surrogate pair, fractions and exponents, nesting.
const RICH_METADATA: &str = r#"{"tool":"contacts","10":true,"2":[1.5,-0,1e21,"x\u00e9\n"],"nested":{"b":{"z":null,"a":"\ud83d\ude00"},"a":[{"k":"v"},{"k":"w"}]},"count":42,"tool":"calendar","note":"caf\u00e9 \"quoted\" \/ done"}"#;

/// `GX_AUDIT_LOOP=NAME:COUNT` runs workload NAME COUNT times and exits, for
/// `valgrind --tool=callgrind` (instruction counts; the machine's load does not change
/// them): the difference between two counts divided by the difference in COUNT is the
/// cost of one call. Workloads: `entry/hash`, `entry/parse_line`,
/// `metadata/parse_canonical` (rich metadata, parsed and canonicalised),
/// `legacy/parse_hash` (a Python-client line, parsed and its legacy hash recomputed).
fn run_loop(spec: &str, entries: &[SignedAuditEntry<'_>]) {
    let (name, count) = spec.rsplit_once(':').expect("NAME:COUNT");
    let count: u64 = count.parse().expect("COUNT");
    let one = entries[0].entry;
    let lines = to_lines(&entries[..1]);
    let legacy = include_str!("../../../fixtures/peer/py_chain100.jsonl")
        .lines()
        .next()
        .unwrap();
    let mut out = [0u8; 1024];
    let mut f: Box<dyn FnMut()> = match name {
        "entry/hash" => Box::new(move || {
            black_box(entry_hash(black_box(&one)).unwrap());
        }),
        "entry/parse_line" => Box::new(move || {
            black_box(SignedAuditEntry::parse_line(black_box(lines[0].as_bytes())).unwrap());
        }),
        "metadata/parse_canonical" => Box::new(move || {
            let m = Metadata::parse(black_box(RICH_METADATA)).unwrap();
            black_box(m.write_canonical(&mut out).unwrap());
        }),
        "legacy/parse_hash" => Box::new(move || {
            let e = LegacyPyEntry::parse_line(black_box(legacy.as_bytes())).unwrap();
            black_box(e.computed_hash().unwrap());
        }),
        _ => panic!("unknown workload {name}"),
    };
    for _ in 0..count {
        f();
    }
}

// Written out instead of `criterion_group!`/`criterion_main!`: two measurements.
fn main() {
    let f = Fixture::new();
    if let Ok(spec) = std::env::var("GX_AUDIT_LOOP") {
        // One entry is all a loop needs: no 10,000 signatures before it.
        run_loop(&spec, &chain(&f.key, &f.metas[..1]));
        return;
    }
    let entries = chain(&f.key, &f.metas);
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &f.key, &entries);
    c.final_summary();
    let mut c = Criterion::default()
        .with_measurement(CpuTime::PROCESS)
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    cpu(&mut c, &f.key, &entries);
    c.final_summary();
}
