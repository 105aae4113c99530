//! The global allocator: embedded-alloc's linked-list heap in a static array, wrapped to
//! record the peak number of bytes in use.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Heap size: four times the 8 KiB target, so an overshoot is measured, not a crash.
pub(crate) const HEAP_SIZE: usize = 32 * 1024;

/// The heap with a high-water mark of bytes handed out (as the allocator counts them,
/// rounded to its block size).
struct Counting {
    heap: LlffHeap,
    peak: AtomicUsize,
}

#[global_allocator]
static ALLOC: Counting = Counting {
    heap: LlffHeap::empty(),
    peak: AtomicUsize::new(0),
};

// SAFETY: forwards to `LlffHeap`, which upholds `GlobalAlloc`'s contract; the counter is
// only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

/// Gives the heap its memory; call once, first thing in `main`.
pub(crate) fn init() {
    static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: called once, before any allocation; `MEMORY` is used by nothing else.
    unsafe { ALLOC.heap.init(&raw mut MEMORY as usize, HEAP_SIZE) }
}

/// The most bytes the heap had handed out at once.
pub(crate) fn peak() -> usize {
    ALLOC.peak.load(Ordering::Relaxed)
}
