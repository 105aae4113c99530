//! The bare-metal panic handler (feature `panic-handler`): calls the C library's
//! `abort()`.
//!
//! No function of the C API panics on any input (they return error codes); this handler
//! exists because a static library for a target without std must name one. It never
//! unwinds into C and formats nothing (no `core::fmt` in the image). Firmware usually
//! defines its own `abort()` (report, then reset or halt); newlib's raises `SIGABRT`.

unsafe extern "C" {
    /// The C library's `abort()`: ends the program, never returns.
    fn abort() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: `abort` takes no arguments and never returns; every C library has it.
    unsafe { abort() }
}
