//! Benchmarks of the consent bundle file: load and store with a raw key (the hot path
//! of a device that starts up often), the in-memory parts alone, and the default Argon2id
//! derivation that a passphrase costs.
//!
//! Run with `cargo bench -p gx-storage --bench bundle`. Target for `load/raw_key`:
//! ≤ 30 µs (the Python client takes 91 µs for the same file).
//!
//! Besides wall time, the `cpu/*` group measures the CPU time of the benchmark thread
//! (`CLOCK_THREAD_CPUTIME_ID`): on a CI machine shared with other jobs, wall
//! time mostly measures the queue for a core, CPU time measures the code.

use core::hint::black_box;
use core::time::Duration;

use criterion::Criterion;
use gx_storage::{Argon2Params, BundleFile, BundleKey, ConsentBundle};

#[path = "../../gx-core/benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;

const KEY_HEX: &str = "7d6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f38";

fn fixture() -> ConsentBundle {
    let json = include_bytes!("../../../fixtures/peer/bundle.json");
    ConsentBundle::from_json(json).unwrap()
}

/// `load` and `store` with a raw key, in CPU time of this thread (fsync waits excluded).
fn cpu_time(c: &mut Criterion<CpuTime>) {
    let dir = tempfile::tempdir().unwrap();
    let key: BundleKey = KEY_HEX.parse().unwrap();
    let bundle = fixture();
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    file.store(&bundle, &key).unwrap();
    let mut g = c.benchmark_group("cpu");
    g.bench_function("load_raw_key", |b| {
        b.iter(|| black_box(file.load(&key).unwrap()))
    });
    g.bench_function("store_raw_key", |b| {
        b.iter(|| file.store(&bundle, &key).unwrap())
    });
    g.finish();
}

fn bundle_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let key: BundleKey = KEY_HEX.parse().unwrap();
    let bundle = fixture();
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    file.store(&bundle, &key).unwrap();
    let sealed = BundleFile::seal(&bundle, &key).unwrap();

    let mut g = c.benchmark_group("load");
    g.bench_function("raw_key", |b| {
        b.iter(|| black_box(file.load(&key).unwrap()))
    });
    g.bench_function("raw_key_in_memory", |b| {
        let mut buf = sealed.clone();
        b.iter(|| {
            buf.copy_from_slice(&sealed);
            black_box(BundleFile::unseal(&mut buf, &key).unwrap())
        })
    });
    g.bench_function("parse_json_only", |b| {
        let json = bundle.to_json();
        b.iter(|| black_box(ConsentBundle::from_json(&json).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("store");
    g.bench_function("raw_key", |b| b.iter(|| file.store(&bundle, &key).unwrap()));
    g.bench_function("raw_key_seal_only", |b| {
        b.iter(|| black_box(BundleFile::seal(&bundle, &key).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("passphrase");
    g.sample_size(10);
    let pass =
        BundleKey::from_passphrase_with("correct horse battery staple", Argon2Params::DEFAULT)
            .unwrap();
    let sealed_pass = BundleFile::seal(&bundle, &pass).unwrap();
    g.bench_function("load_argon2id_default", |b| {
        let mut buf = sealed_pass.clone();
        b.iter(|| {
            buf.copy_from_slice(&sealed_pass);
            black_box(BundleFile::unseal(&mut buf, &pass).unwrap())
        })
    });
    g.finish();
}

// Written out instead of `criterion_group!`/`criterion_main!`, whose generated `pub fn`
// has no docs (the workspace denies missing docs).
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bundle_file(&mut c);
    c.final_summary();
    let mut c = Criterion::default()
        .with_measurement(CpuTime::THREAD)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    cpu_time(&mut c);
    c.final_summary();
}
