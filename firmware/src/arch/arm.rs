//! Cortex-M4 (`thumbv7em-none-eabihf`, QEMU `mps2-an386`): cortex-m-rt entry, semihosting,
//! and SysTick as the counter.
//!
//! QEMU does not implement the DWT cycle counter, so instructions are measured with
//! SysTick on the core clock. Under `-icount shift=0` QEMU's virtual clock advances one
//! nanosecond per instruction, so SysTick's ticks are proportional to instructions;
//! [`super::calibrate`] measures the ratio on a loop of known length.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug;

/// Target name printed in the report.
pub(crate) const NAME: &str = "thumbv7em-none-eabihf";
/// What [`units`] counts.
pub(crate) const COUNTER: &str = "SysTick (core clock, calibrated; QEMU -icount shift=0)";

/// SysTick is 24 bits: ticks counted by wraps before the current value.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().expect("first take");
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(0x00FF_FFFF);
    p.SYST.clear_current();
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    let ok = crate::run();
    exit(ok)
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    crate::console::Line::new()
        .str("GX-FIRMWARE FAIL hard fault at ")
        .hex(frame.pc())
        .print();
    exit(false)
}

/// Monotonic SysTick ticks since boot.
pub(crate) fn units() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Relaxed);
        let cur = u64::from(SYST::get_current());
        if WRAPS.load(Ordering::Relaxed) == w {
            return (u64::from(w) + 1) * 0x0100_0000 - cur;
        }
    }
}

/// Writes `s` to the host's stdout.
pub(crate) fn print(s: &str) {
    if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
        let _ = out.write_all(s.as_bytes());
    }
}

/// Ends the QEMU run: exit status 0 when `ok`, 1 otherwise.
pub(crate) fn exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

/// The current stack pointer.
pub(crate) fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}
