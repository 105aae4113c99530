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

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use gx_storage::{Argon2Params, BundleFile, BundleKey, ConsentBundle};

const KEY_HEX: &str = "7d6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f38";

fn fixture() -> ConsentBundle {
    let json = include_bytes!("../../../fixtures/peer/bundle.json");
    ConsentBundle::from_json(json).unwrap()
}

/// CPU time consumed by the current thread (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
struct ThreadCpuTime;

impl ThreadCpuTime {
    fn now() -> u64 {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
        secs * 1_000_000_000 + nanos
    }
}

impl Measurement for ThreadCpuTime {
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
        &NanosFormatter
    }
}

/// Shows nanosecond values in ns, µs or ms.
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns (CPU)"),
            t if t < 1e6 => (1e-3, "µs (CPU)"),
            _ => (1e-6, "ms (CPU)"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v = 0.0);
        "(no throughput)"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// `load` and `store` with a raw key, in CPU time of this thread (fsync waits excluded).
fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
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
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    cpu_time(&mut c);
    c.final_summary();
}
