//! The footprint table of one target and its verdict against the targets.

use core::fmt::Write as _;

use super::elf::Flash;
use super::qemu::Run;
use super::{Firmware, Target};

/// The C firmware's verify may cost at most this much more than the Rust firmware's.
const C_OVER_RUST_VERIFY: f64 = 1.05;

/// Cortex-M4 targets (the same for the Rust and the C firmware).
const FLASH_BUDGET: u64 = 96 * 1024;
const HEAP_BUDGET: u64 = 8 * 1024;
const STACK_BUDGET: u64 = 12 * 1024;
const VERIFY_BUDGET: u64 = 4_000_000;

/// One target's measurements.
pub(crate) struct Report {
    flash: Flash,
    run: Run,
}

impl Report {
    /// A report from the ELF's sizes and the run's output.
    pub(crate) fn new(flash: Flash, run: Run) -> Self {
        Self { flash, run }
    }

    /// Rows: what, measured, target (if any), within it.
    fn rows(&self, t: &Target) -> Vec<(String, Option<u64>, Option<u64>)> {
        let budget = |b| t.has_budget.then_some(b);
        vec![
            (
                format!(
                    "flash (.text {} + .rodata {} + .data {})",
                    kib(self.flash.text),
                    kib(self.flash.rodata),
                    kib(self.flash.data)
                ),
                Some(self.flash.total()),
                budget(FLASH_BUDGET),
            ),
            (
                "peak heap".into(),
                self.run.metric("heap_peak_bytes"),
                budget(HEAP_BUDGET),
            ),
            (
                "stack high-water".into(),
                self.run.metric("stack_peak_bytes"),
                budget(STACK_BUDGET),
            ),
            (
                "token verify (instructions)".into(),
                self.run.metric("verify_instructions"),
                budget(VERIFY_BUDGET),
            ),
        ]
    }

    /// Instructions of the one token verification, if the firmware reported them.
    pub(crate) fn verify_instructions(&self) -> Option<u64> {
        self.run.metric("verify_instructions")
    }

    /// The table printed for `t`.
    pub(crate) fn table(&self, t: &Target) -> String {
        let mut s = String::new();
        let verdict = if self.run.passed() {
            "PASS".to_owned()
        } else {
            self.run
                .failure()
                .unwrap_or("FAIL (no verdict line)")
                .to_owned()
        };
        let _ = writeln!(s, "\n{} — firmware {verdict}", t.label);
        let _ = writeln!(
            s,
            "  counter: {}",
            self.run.metric_text("counter").unwrap_or("?")
        );
        let _ = writeln!(
            s,
            "  {:<44} {:>12} {:>12}  ",
            "metric", "measured", "target"
        );
        for (name, value, budget) in self.rows(t) {
            let is_insns = name.contains("instructions");
            let show = |v: Option<u64>| match v {
                None => "-".to_owned(),
                Some(v) if is_insns => format!("{:.2} M", v as f64 / 1e6),
                Some(v) => kib(v),
            };
            let mark = match (value, budget) {
                (Some(v), Some(b)) if v <= b => "ok",
                (_, Some(_)) => "MISSED",
                _ => "",
            };
            let _ = writeln!(
                s,
                "  {:<44} {:>12} {:>12}  {mark}",
                name,
                show(value),
                show(budget)
            );
        }
        for (phase, bytes) in self.run.metrics_with_prefix("stack_") {
            if phase != "peak_bytes" {
                let shown = bytes.parse::<u64>().map_or_else(|_| bytes.to_owned(), kib);
                let _ = writeln!(s, "    stack in phase {phase:<29} {shown:>12}");
            }
        }
        s
    }

    /// `Err` when the firmware failed, or (with `enforce_budget`) a target was missed.
    pub(crate) fn verdict(&self, t: &Target, enforce_budget: bool) -> Result<(), String> {
        if !self.run.passed() {
            return Err(format!(
                "{}: {} (QEMU exit {})",
                t.label,
                self.run.failure().unwrap_or("no PASS line"),
                if self.run.exit_ok { "0" } else { "non-zero" }
            ));
        }
        if enforce_budget {
            let missed: Vec<String> = self
                .rows(t)
                .into_iter()
                .filter(|(_, v, b)| {
                    matches!((v, b), (Some(v), Some(b)) if v > b) || (v.is_none() && b.is_some())
                })
                .map(|(name, ..)| name)
                .collect();
            if !missed.is_empty() {
                return Err(format!("{}: missed {}", t.label, missed.join(", ")));
            }
        }
        Ok(())
    }
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Prints the C firmware's verify cost against the Rust firmware's on the same target
/// and token; `Err` (with `enforce`) when it is more than 5 % higher.
pub(crate) fn compare_c_with_rust(
    verify: &[(Firmware, &str, Option<u64>)],
    enforce: bool,
) -> Result<(), String> {
    for (f, triple, c) in verify {
        if *f != Firmware::C {
            continue;
        }
        let rust = verify
            .iter()
            .find(|(g, t, _)| *g == Firmware::Rust && t == triple)
            .and_then(|(_, _, v)| *v);
        let (Some(c), Some(rust)) = (*c, rust) else {
            continue;
        };
        let ratio = c as f64 / rust as f64;
        let mark = if ratio <= C_OVER_RUST_VERIFY {
            "ok"
        } else {
            "MISSED"
        };
        println!(
            "\n{triple}: token verify, C through gx-ffi / Rust: {c} / {rust} instructions = {ratio:.4} (target <= {C_OVER_RUST_VERIFY})  {mark}"
        );
        if enforce && ratio > C_OVER_RUST_VERIFY {
            return Err(format!(
                "{triple}: the C verify costs {ratio:.4}x the Rust one (target <= {C_OVER_RUST_VERIFY})"
            ));
        }
    }
    Ok(())
}
