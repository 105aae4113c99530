//! Audit trail benchmarks (issue #3): entry hash, entry signing, and verification of a
//! 10,000-entry chain (hash + link only; with signatures serial, batched, parallel).
//!
//! Run: `cargo bench -p gx-core --features std,batch,fast-ed25519 --bench audit`
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

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use gx_core::audit::{
    AuditEntry, AuditSigningKey, AuditStr, ChainAnchor, ChainVerifier, Metadata, PrevHash, Scopes,
    SignedAuditEntry, entry_hash,
};

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

/// CPU time of the whole process (all threads), in nanoseconds.
struct ProcessCpuTime;

impl ProcessCpuTime {
    fn now() -> u64 {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
        secs * 1_000_000_000 + nanos
    }
}

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        Self::now()
    }
    fn end(&self, start: u64) -> u64 {
        Self::now().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Shows CPU nanoseconds in ns, µs or ms, and element throughput per CPU second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns (CPU)"),
            t if t < 1e6 => (1e-3, "µs (CPU)"),
            _ => (1e-6, "ms (CPU)"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, _: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n,
            _ => 1,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v);
        "elem/s (CPU)"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
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
            let mut v = gx_core::audit::BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "std")]
    g.bench_function("signatures_parallel_2_threads", |b| {
        b.iter(|| {
            gx_core::audit::verify_chain_parallel(ChainAnchor::Genesis, &vk, entries, 2).unwrap()
        })
    });
    g.finish();
}

/// The chain checks again, in process CPU time.
fn cpu(c: &mut Criterion<ProcessCpuTime>, key: &AuditSigningKey, entries: &[SignedAuditEntry<'_>]) {
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
            let mut v = gx_core::audit::BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "std")]
    g.bench_function("signatures_parallel_2_threads_sum", |b| {
        b.iter(|| {
            gx_core::audit::verify_chain_parallel(ChainAnchor::Genesis, &vk, entries, 2).unwrap()
        })
    });
    g.finish();
}

// Written out instead of `criterion_group!`/`criterion_main!`: two measurements.
fn main() {
    let f = Fixture::new();
    let entries = chain(&f.key, &f.metas);
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &f.key, &entries);
    c.final_summary();
    let mut c = Criterion::default()
        .with_measurement(ProcessCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    cpu(&mut c, &f.key, &entries);
    c.final_summary();
}
