//! A criterion measurement in CPU time rather than wall time, for benches run on a shared
//! machine where the wall clock mostly measures the queue for a core. Shared by gx-core's
//! and gx-storage's benches (`#[path]`-included; not a bench target of its own).

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use rustix::time::ClockId;

/// CPU time in nanoseconds, of the calling thread ([`CpuTime::THREAD`]) or of the whole
/// process, all threads summed ([`CpuTime::PROCESS`]).
#[derive(Clone, Copy)]
pub(crate) struct CpuTime(ClockId);

impl CpuTime {
    /// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
    #[allow(
        dead_code,
        reason = "a bench including this file may use one clock only"
    )]
    pub(crate) const THREAD: Self = Self(ClockId::ThreadCPUTime);
    /// The process's CPU time over all threads (`CLOCK_PROCESS_CPUTIME_ID`).
    #[allow(
        dead_code,
        reason = "a bench including this file may use one clock only"
    )]
    pub(crate) const PROCESS: Self = Self(ClockId::ProcessCPUTime);

    /// The clock's current reading in nanoseconds.
    pub(crate) fn now(self) -> u64 {
        let t = rustix::time::clock_gettime(self.0);
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
        secs * 1_000_000_000 + nanos
    }
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.now()
    }
    fn end(&self, start: u64) -> u64 {
        self.now().saturating_sub(start)
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
