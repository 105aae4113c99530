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

use console::Line;

/// The firmware proper; the architecture's entry point calls it and exits with its verdict.
fn run() -> bool {
    stack::paint();
    heap::init();
    let insns_per_unit = arch::calibrate();
    let outcome = checks::run_all();
    let stack_used = stack::high_water();
    console::metric_str("target", arch::NAME);
    console::metric_str("counter", arch::COUNTER);
    console::metric_num("calibration_milli_insns_per_unit", insns_per_unit);
    console::metric_num("heap_peak_bytes", heap::peak() as u64);
    console::metric_num("heap_size_bytes", heap::HEAP_SIZE as u64);
    match stack_used {
        Some(used) => console::metric_num("stack_peak_bytes", used as u64),
        None => console::metric_str("stack_peak_bytes", "overflowed-paint"),
    }
    match outcome {
        Ok(m) => {
            let insns = m.verify_units * insns_per_unit / 1000;
            console::metric_num("verify_counter_units", m.verify_units);
            console::metric_num("verify_instructions", insns);
            console::metric_num("chain_entries", m.chain_entries);
            let ok = stack_used.is_some();
            console::verdict(if ok { "PASS" } else { "FAIL stack" });
            ok
        }
        Err(step) => {
            console::fail(step);
            false
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // The location only: formatting the message would link `core::fmt`.
    match info.location() {
        Some(l) => Line::new()
            .str("GX-FIRMWARE FAIL panic at ")
            .str(l.file())
            .str(":")
            .num(u64::from(l.line()))
            .print(),
        None => Line::new().str("GX-FIRMWARE FAIL panic").print(),
    }
    arch::exit(false)
}
