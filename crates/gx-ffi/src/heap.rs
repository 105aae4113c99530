//! The arena: memory the caller hands over once (`gx_heap_init`), from which every
//! allocation of the library comes (feature `arena`).
//!
//! Only the RSA arithmetic allocates (the `rsa`/`crypto-bigint` big numbers): each usable
//! key of a parsed JWKS keeps about 1 KiB (RSA-2048) for as long as the snapshot lives,
//! and a verification takes about 5.5 KiB more while it runs. The firmware example's peak
//! with one RSA-2048 key is 6.6 KiB; `docs/embedded.md` has the measured figures. The
//! allocator is a first-fit free list (`linked_list_allocator`) behind a spin lock, so a
//! multi-threaded C program may call gx from several threads.
//!
//! Running out of arena cannot be reported as an error code from inside the arithmetic:
//! Rust's allocation failure handler aborts (through `abort()` on bare metal). Size the
//! arena from `gx_heap_peak` measured on the target, with margin.

use crate::GxError;

/// The smallest arena `gx_heap_init` accepts, in bytes (room for the free list's
/// bookkeeping and one small allocation).
pub const GX_HEAP_MIN_LEN: usize = 256;

#[cfg(feature = "arena")]
mod arena {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::ptr::{self, NonNull};
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use linked_list_allocator::Heap;

    /// The free list, its lock, and the high-water mark of bytes in use.
    pub(super) struct Arena {
        lock: AtomicBool,
        ready: AtomicBool,
        heap: UnsafeCell<Heap>,
        peak: AtomicUsize,
    }

    // SAFETY: `heap` is only touched while `lock` is held (see `with`).
    unsafe impl Sync for Arena {}

    #[global_allocator]
    pub(super) static ARENA: Arena = Arena {
        lock: AtomicBool::new(false),
        ready: AtomicBool::new(false),
        heap: UnsafeCell::new(Heap::empty()),
        peak: AtomicUsize::new(0),
    };

    impl Arena {
        /// Runs `f` on the heap with the lock held.
        fn with<R>(&self, f: impl FnOnce(&mut Heap) -> R) -> R {
            while self
                .lock
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                core::hint::spin_loop();
            }
            // SAFETY: the lock is held, so this is the only reference to the heap.
            let r = f(unsafe { &mut *self.heap.get() });
            self.lock.store(false, Ordering::Release);
            r
        }

        /// Whether `gx_heap_init` succeeded.
        pub(super) fn ready(&self) -> bool {
            self.ready.load(Ordering::Acquire)
        }

        /// Hands `len` bytes at `start` to the free list, once.
        ///
        /// # Safety
        /// `start..start + len` is writable memory used by nothing else from now on.
        pub(super) unsafe fn init(&self, start: *mut u8, len: usize) -> bool {
            self.with(|heap| {
                if self.ready.load(Ordering::Relaxed) {
                    return false;
                }
                // SAFETY: per the caller's contract; `len` >= GX_HEAP_MIN_LEN, above
                // the free list's minimum, so `init` does not fail.
                unsafe { heap.init(start, len) };
                self.ready.store(true, Ordering::Release);
                true
            })
        }

        pub(super) fn used(&self) -> usize {
            self.with(|heap| heap.used())
        }

        pub(super) fn peak(&self) -> usize {
            self.peak.load(Ordering::Relaxed)
        }
    }

    // SAFETY: `allocate_first_fit`/`deallocate` uphold `GlobalAlloc`'s contract for the
    // memory `init` handed over; the lock serialises them.
    unsafe impl GlobalAlloc for Arena {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.with(|heap| match heap.allocate_first_fit(layout) {
                Ok(p) => {
                    self.peak.fetch_max(heap.used(), Ordering::Relaxed);
                    p.as_ptr()
                }
                Err(()) => ptr::null_mut(),
            })
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if let Some(p) = NonNull::new(ptr) {
                // SAFETY: `ptr` came from `alloc` with this `layout` (GlobalAlloc's
                // contract).
                self.with(|heap| unsafe { heap.deallocate(p, layout) });
            }
        }
    }
}

/// Whether functions that allocate may run: with `arena`, only after `gx_heap_init`.
pub(crate) fn ready() -> Result<(), GxError> {
    #[cfg(feature = "arena")]
    if !arena::ARENA.ready() {
        return Err(GxError::HeapNotInitialized);
    }
    Ok(())
}

/// Hands the library its arena: `len` bytes at `buf`, used for every allocation from now
/// on. Call once, before `gx_jwks_parse` and `gx_verify`.
///
/// Ownership: the memory belongs to the library from this call until the program ends;
/// the caller must never read, write or free it again (a `static` array is the usual
/// choice). Any alignment is fine. Thread-safe.
///
/// Size: each usable RSA-2048 key of a parsed `gx_jwks` holds about 1 KiB, and a
/// verification about 5.5 KiB more while it runs (6.6 KiB at peak on a Cortex-M4 with
/// one key). If the arena runs out inside the RSA arithmetic the program ends in
/// `abort()`: that cannot be returned as an error code. Measure with `gx_heap_peak`.
///
/// Returns `GX_ERROR_OK`; `GX_ERROR_NULL_ARGUMENT` for a NULL `buf`; `GX_ERROR_HEAP_TOO_SMALL`
/// below `GX_HEAP_MIN_LEN` bytes; `GX_ERROR_HEAP_ALREADY_INITIALIZED` on a second call;
/// `GX_ERROR_HEAP_UNAVAILABLE` in a build without the `arena` feature (it then uses the
/// program's allocator, and needs no arena).
///
/// # Safety
/// `buf` must point to `len` writable bytes that nothing else uses from now on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_heap_init(buf: *mut u8, len: usize) -> GxError {
    if buf.is_null() {
        return GxError::NullArgument;
    }
    if len < GX_HEAP_MIN_LEN {
        return GxError::HeapTooSmall;
    }
    #[cfg(feature = "arena")]
    {
        // SAFETY: the caller hands over `len` writable bytes at `buf` for good.
        if unsafe { arena::ARENA.init(buf, len) } {
            GxError::Ok
        } else {
            GxError::HeapAlreadyInitialized
        }
    }
    #[cfg(not(feature = "arena"))]
    GxError::HeapUnavailable
}

/// The most arena bytes in use at any one time since `gx_heap_init` (as the allocator
/// counts them: rounded to its block size). 0 without the `arena` feature. Takes and
/// keeps nothing; thread-safe.
/// Size the arena from this figure, measured on the target with its own key sets.
#[unsafe(no_mangle)]
pub extern "C" fn gx_heap_peak() -> usize {
    #[cfg(feature = "arena")]
    return arena::ARENA.peak();
    #[cfg(not(feature = "arena"))]
    0
}

/// Arena bytes in use now (the parsed JWKS keys, mostly). 0 without the `arena` feature.
#[unsafe(no_mangle)]
pub extern "C" fn gx_heap_used() -> usize {
    #[cfg(feature = "arena")]
    return arena::ARENA.used();
    #[cfg(not(feature = "arena"))]
    0
}
