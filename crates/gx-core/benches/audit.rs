//! Audit trail benchmarks (issue #3): entry hash, entry signing, and verification of a
//! 10,000-entry chain (hash + link only; with signatures serial, batched, parallel).
//!
//! Run: `cargo bench -p gx-core --features std,batch --bench audit`.
//! Targets: hash + link >= 500,000 entries/s; 10k chain with signatures <= 0.15 s on 2 cores.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use core::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
    let key = AuditSigningKey::from_bytes(&[42; 32]);
    let vk = key.verifying_key();
    let metas: Vec<String> = (0..CHAIN)
        .map(|i| format!(r#"{{"i":{i},"tool":"contacts","count":42}}"#))
        .collect();
    let entries = chain(&key, &metas);
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let mut buf = [0u8; 1024];
            let n = e.write_json(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        })
        .collect();

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
            for e in &entries {
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
            for e in &entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "batch")]
    g.bench_function("signatures_batched", |b| {
        b.iter(|| {
            let mut v = gx_core::audit::BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
            for e in &entries {
                v.push(e).unwrap();
            }
            v.finish().unwrap()
        })
    });
    #[cfg(feature = "std")]
    g.bench_function("signatures_parallel_2_threads", |b| {
        b.iter(|| {
            gx_core::audit::verify_chain_parallel(ChainAnchor::Genesis, &vk, &entries, 2).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
