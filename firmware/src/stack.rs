//! Stack high-water mark: paint the unused stack with a pattern at boot, find the lowest
//! word that changed at the end.

use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The pattern painted into unused stack.
const PATTERN: u32 = 0x5AA5_C33C;
/// How far below the stack top the paint reaches (the RAM layout leaves room for it).
const PAINT_LEN: usize = 64 * 1024;
/// Words just below the current stack pointer left alone while painting (the painter's
/// own frame lives above the pointer, this is margin).
const MARGIN: usize = 256;

/// The deepest stack seen at earlier checkpoints.
static DEEPEST: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    /// The initial stack pointer, from the runtime crate's linker script.
    static _stack_start: u32;
    /// The end of `.bss`: the paint must stay above it.
    static __ebss: u32;
}

fn top() -> usize {
    &raw const _stack_start as usize
}

fn bottom() -> usize {
    (top() - PAINT_LEN).max((&raw const __ebss as usize + 3) & !3)
}

/// Paints from [`bottom`] up to just below the caller's stack pointer.
#[inline(never)]
pub(crate) fn paint() {
    let sp = crate::arch::stack_pointer();
    let mut addr = bottom();
    while addr + 4 <= sp - MARGIN {
        // SAFETY: between the end of .bss and below the live stack: memory nothing uses.
        unsafe { ptr::write_volatile(addr as *mut u32, PATTERN) };
        addr += 4;
    }
}

/// Bytes of stack used since the last paint, measured from the top; `None` when the
/// lowest painted word was overwritten too (the stack may have gone further).
fn since_paint() -> Option<usize> {
    let mut addr = bottom();
    // SAFETY: the painted area, all of it below the live stack.
    while unsafe { ptr::read_volatile(addr as *const u32) } == PATTERN {
        addr += 4;
    }
    (addr != bottom()).then(|| top() - addr)
}

/// Ends a phase of the checks: prints the stack it used (`GX-METRIC stack_<name>=`),
/// keeps the deepest, and paints again for the next phase.
#[inline(never)]
pub(crate) fn checkpoint(name: &str) {
    let used = since_paint();
    let line = crate::console::Line::new()
        .str("GX-METRIC stack_")
        .str(name)
        .str("=");
    match used {
        Some(b) => line.num(b as u64).print(),
        None => line.str("overflowed-paint").print(),
    }
    DEEPEST.fetch_max(used.unwrap_or(usize::MAX), Ordering::Relaxed);
    paint();
}

/// The deepest stack since boot, over every phase; `None` when a phase overran the paint.
pub(crate) fn high_water() -> Option<usize> {
    let deepest = DEEPEST
        .load(Ordering::Relaxed)
        .max(since_paint().unwrap_or(usize::MAX));
    (deepest != usize::MAX).then_some(deepest)
}
