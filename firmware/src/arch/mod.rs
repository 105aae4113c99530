//! What differs between the two targets: entry point, semihosting, stack pointer and the
//! counter used to measure instructions.

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub(crate) use arm::{COUNTER, NAME, exit, print, stack_pointer, units};

#[cfg(target_arch = "riscv32")]
mod riscv;
#[cfg(target_arch = "riscv32")]
pub(crate) use riscv::{COUNTER, NAME, exit, print, stack_pointer, units};

/// Iterations of the calibration loop (two instructions each).
const CAL_ITERS: u32 = 500_000;

/// Runs `f` and returns its result with the counter units it took.
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let start = units();
    let r = f();
    let end = units();
    (r, end.wrapping_sub(start))
}

/// Instructions per counter unit, times 1000: times a loop of a known instruction count.
pub(crate) fn calibrate() -> u64 {
    let ((), u) = measure(|| spin(CAL_ITERS));
    (2 * u64::from(CAL_ITERS) * 1000)
        .checked_div(u)
        .unwrap_or(0)
}

/// A loop of exactly two instructions per iteration (decrement, branch if not zero).
#[inline(never)]
fn spin(n: u32) {
    // SAFETY: touches only its own register.
    unsafe {
        #[cfg(target_arch = "arm")]
        core::arch::asm!("2:", "subs {0}, {0}, #1", "bne 2b", inout(reg) n => _, options(nomem, nostack));
        #[cfg(target_arch = "riscv32")]
        core::arch::asm!("2:", "addi {0}, {0}, -1", "bnez {0}, 2b", inout(reg) n => _, options(nomem, nostack));
    }
}
