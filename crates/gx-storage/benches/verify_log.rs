//! Benchmark of `verify_log` (what `gx audit verify` runs) on a 10,000-entry log with
//! signatures, in process CPU time: parse, hash, batched signature checks, links.
//!
//! Run: `cargo bench -p gx-storage --bench verify_log`. The target is at most 0.16 s of
//! CPU for the 10,000 entries.

use core::time::Duration;

use criterion::{Criterion, Throughput};
use gx_storage::gx_core::AuditSigningKey;
use gx_storage::{AuditLog, AuditLogConfig, EntryFields, FsyncPolicy, verify_log};

#[path = "../../gx-core/benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;

const ENTRIES: u64 = 10_000;
const SCOPES: &[&str] = &["read:contacts", "write:calendar"];

/// A log of `ENTRIES` entries in `dir`, appended through `AuditLog` as the device does.
fn make_log(dir: &tempfile::TempDir, seed: [u8; 32]) -> std::path::PathBuf {
    let path = dir.path().join("audit.jsonl");
    let config = AuditLogConfig::new(FsyncPolicy::None).with_segment_max_bytes(64 << 20);
    let log = AuditLog::open(&path, AuditSigningKey::from_bytes(&seed), config).expect("open");
    let metadata: Vec<String> = (0..ENTRIES)
        .map(|i| format!(r#"{{"count":{i},"query":"name:alice"}}"#))
        .collect();
    for m in &metadata {
        let fields = EntryFields {
            action: "tool:read_contacts",
            agent_did: "did:grantex:agent_1",
            grant_id: "grnt_01JDBUNDLE0000000000000000",
            scopes: SCOPES,
            result: "success",
            metadata: Some(m),
        };
        log.append_fields(&fields).expect("append");
    }
    path
}

// Written out instead of `criterion_group!`/`criterion_main!`, whose generated `pub fn`
// has no docs (the workspace denies missing docs).
fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = make_log(&dir, [7; 32]);
    let vk = AuditSigningKey::from_bytes(&[7; 32]).verifying_key();
    let report = verify_log(&path, &vk).expect("verify");
    assert!(report.is_intact() && report.entries() == ENTRIES);

    let mut c = Criterion::default()
        .with_measurement(CpuTime::PROCESS)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    let mut g = c.benchmark_group("verify_log_10k_cpu");
    g.throughput(Throughput::Elements(ENTRIES));
    g.bench_function("wire_with_signatures", |b| {
        b.iter(|| verify_log(&path, &vk).expect("verify"))
    });
    g.finish();
    c.final_summary();
}
