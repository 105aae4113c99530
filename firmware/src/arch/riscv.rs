//! RV32IMAC (`riscv32imac-unknown-none-elf`, QEMU `virt -bios none`): riscv-rt entry,
//! semihosting, and the `minstret` CSR as the counter (instructions retired; QEMU
//! counts them exactly under `-icount shift=0`).

use riscv_semihosting::debug;

/// Target name printed in the report.
pub(crate) const NAME: &str = "riscv32imac-unknown-none-elf";
/// What [`units`] counts.
pub(crate) const COUNTER: &str = "minstret (instructions retired; QEMU -icount shift=0)";

#[riscv_rt::entry]
fn main() -> ! {
    let ok = crate::run();
    exit(ok)
}

#[unsafe(export_name = "ExceptionHandler")]
fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
    crate::console::Line::new()
        .str("GX-FIRMWARE FAIL exception ")
        .num(riscv::register::mcause::read().bits() as u64)
        .str(" at ")
        .hex(riscv::register::mepc::read() as u32)
        .print();
    exit(false)
}

/// Instructions retired since reset (64-bit read of `minstret`/`minstreth`).
pub(crate) fn units() -> u64 {
    loop {
        let hi = riscv::register::minstreth::read();
        let lo = riscv::register::minstret::read();
        if riscv::register::minstreth::read() == hi {
            return (u64::from(hi as u32) << 32) | u64::from(lo as u32);
        }
    }
}

/// Writes `s` to the host's stdout.
pub(crate) fn print(s: &str) {
    if let Ok(mut out) = riscv_semihosting::hio::hstdout() {
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
        riscv::asm::wfi();
    }
}

/// The current stack pointer.
pub(crate) fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}
