//! gx firmware example: gx-core verifying a grant token and an audit chain on a
//! microcontroller (Cortex-M4 `mps2-an386`, RV32IMAC `virt`), checked and measured under
//! QEMU.
//!
//! It runs the checks of [`checks`] on fixed vectors from `fixtures/`, then prints its
//! measurements (`GX-METRIC name=value`) and `GX-FIRMWARE PASS` or `GX-FIRMWARE FAIL
//! <step>` through semihosting, and exits QEMU with status 0 or 1. `cargo xtask
//! embedded` builds it, runs it and reads those lines.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod checks;
mod console;
mod heap;
mod stack;

use core::fmt::Write as _;

use console::Console;

/// The firmware proper; the architecture's entry point calls it and exits with its verdict.
fn run() -> bool {
    stack::paint();
    heap::init();
    let insns_per_unit = arch::calibrate();
    let outcome = checks::run_all();
    let stack_used = stack::high_water();
    let mut out = Console;
    let _ = writeln!(out, "GX-METRIC target={}", arch::NAME);
    let _ = writeln!(out, "GX-METRIC counter={}", arch::COUNTER);
    let _ = writeln!(
        out,
        "GX-METRIC calibration_milli_insns_per_unit={}",
        insns_per_unit
    );
    let _ = writeln!(out, "GX-METRIC heap_peak_bytes={}", heap::peak());
    let _ = writeln!(out, "GX-METRIC heap_size_bytes={}", heap::HEAP_SIZE);
    match stack_used {
        Some(used) => {
            let _ = writeln!(out, "GX-METRIC stack_peak_bytes={used}");
        }
        None => {
            let _ = writeln!(out, "GX-METRIC stack_peak_bytes=overflowed-paint");
        }
    }
    match outcome {
        Ok(m) => {
            let insns = m.verify_units * insns_per_unit / 1000;
            let _ = writeln!(out, "GX-METRIC verify_counter_units={}", m.verify_units);
            let _ = writeln!(out, "GX-METRIC verify_instructions={insns}");
            let _ = writeln!(out, "GX-METRIC chain_entries={}", m.chain_entries);
            let ok = stack_used.is_some();
            let _ = writeln!(
                out,
                "GX-FIRMWARE {}",
                if ok { "PASS" } else { "FAIL stack" }
            );
            ok
        }
        Err(step) => {
            let _ = writeln!(out, "GX-FIRMWARE FAIL {step}");
            false
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // The location only: formatting the message would link more of `core::fmt`.
    match info.location() {
        Some(l) => {
            let _ = writeln!(
                Console,
                "GX-FIRMWARE FAIL panic at {}:{}",
                l.file(),
                l.line()
            );
        }
        None => arch::print("GX-FIRMWARE FAIL panic\n"),
    }
    arch::exit(false)
}
