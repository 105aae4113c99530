//! The I/O seam: every write, flush, truncation, rename and directory sync of the audit
//! log and of atomic file replacement goes through the functions here.
//!
//! Without the unstable `_fault-injection` feature each function is the `std::fs` call
//! it names, inlined: the seam costs nothing. With it, tests can arm a [`Fault`] for one
//! [`FaultPoint`] of one target file; the matching call then fails with a real
//! `io::Error` carrying the real errno (`ENOSPC`, `EIO`, `EDQUOT`, ...), raised exactly
//! where the operating system would raise it. A write fault can first write a prefix of
//! the bytes for real (a short write, as a filling disk does), so the torn bytes are on
//! disk when the error comes back.
//!
//! Faults are keyed by target path (the log's path, the bundle's path, the cursor's
//! path), so tests running in parallel on their own temp directories never see each
//! other's faults.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Where in gx-storage an injected fault strikes.
///
/// The `Log*` and `Rotate*` points are keyed by the log's path (the active segment's
/// path the log was opened with); the `Temp*`, `Rename` and `DirSync` points of atomic
/// replacement are keyed by the file being replaced (the bundle file, the sync cursor
/// `<log>.synced`, the time floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(not(feature = "_fault-injection"), allow(unreachable_pub))]
pub enum FaultPoint {
    /// Writing appended lines to the active segment (every policy).
    LogWrite,
    /// The `fdatasync` after an append (`EveryEntry`, `GroupCommit`).
    LogSync,
    /// Opening (or creating) the active segment when the log is opened.
    LogOpen,
    /// Truncating the active segment back to its last committed byte, and its flush:
    /// the roll-back after a failed write, and the torn-line repair when opening.
    LogTruncate,
    /// The `fsync` of the active segment before rotation renames it.
    RotateSync,
    /// The rename of the active segment to `<log>.<first seq>`.
    RotateRename,
    /// Creating the new active segment after the rename.
    RotateOpen,
    /// The `fsync` of the log's directory after a rotation or a prune.
    LogDirSync,
    /// Creating the temp file of an atomic replacement.
    TempCreate,
    /// Writing the temp file.
    TempWrite,
    /// The `fsync` of the temp file.
    TempSync,
    /// Renaming the temp file over the target.
    Rename,
    /// The `fsync` of the directory after the rename.
    DirSync,
}

#[cfg(feature = "_fault-injection")]
pub use armed::{Fault, FaultGuard};

/// `file.write_all(buf)` at `point` of `target`.
#[inline]
pub(crate) fn write_all(
    point: FaultPoint,
    target: &Path,
    mut file: &File,
    buf: &[u8],
) -> io::Result<()> {
    #[cfg(feature = "_fault-injection")]
    if let Some(fault) = armed::take(point, target) {
        return armed::write_prefix(file, buf, fault);
    }
    let _ = (point, target);
    file.write_all(buf)
}

/// `op()` at `point` of `target`: for flushes, truncations, renames and opens.
#[inline]
pub(crate) fn call<T>(
    point: FaultPoint,
    target: &Path,
    op: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    #[cfg(feature = "_fault-injection")]
    if let Some(fault) = armed::take(point, target) {
        return Err(io::Error::from_raw_os_error(fault.errno));
    }
    let _ = (point, target);
    op()
}

/// `fs::rename(from, to)` at `point` of `target`.
#[inline]
pub(crate) fn rename(point: FaultPoint, target: &Path, from: &Path, to: &Path) -> io::Result<()> {
    call(point, target, || fs::rename(from, to))
}

#[cfg(feature = "_fault-injection")]
mod armed {
    use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::fs::File;
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, PoisonError};

    use super::FaultPoint;

    /// Armed faults; `ARMED` counts them so the common case is one atomic load.
    static FAULTS: Mutex<Vec<Armed>> = Mutex::new(Vec::new());
    static ARMED: AtomicUsize = AtomicUsize::new(0);
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);

    struct Armed {
        id: u64,
        fault: Fault,
        /// Matching calls seen so far.
        seen: u32,
        /// Times it fired.
        fired: u32,
    }

    /// One fault to inject: the `errno` that the call at `point` of `target` fails with.
    ///
    /// By default it fires once, on the first matching call. [`Fault::after`] lets calls
    /// through first, [`Fault::times`] fires more than once, [`Fault::short_write`] makes
    /// a write fault write a prefix for real before failing.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Fault {
        point: FaultPoint,
        target: PathBuf,
        pub(super) errno: i32,
        skip: u32,
        times: u32,
        short: Option<usize>,
    }

    impl Fault {
        /// Fail the next call at `point` of `target` with the OS error `errno`.
        pub fn new(point: FaultPoint, target: impl Into<PathBuf>, errno: i32) -> Self {
            Self {
                point,
                target: target.into(),
                errno,
                skip: 0,
                times: 1,
                short: None,
            }
        }

        /// Let `calls` matching calls succeed before the fault fires.
        #[must_use]
        pub fn after(mut self, calls: u32) -> Self {
            self.skip = calls;
            self
        }

        /// Fire on `times` matching calls in a row (`u32::MAX`: until disarmed).
        #[must_use]
        pub fn times(mut self, times: u32) -> Self {
            self.times = times;
            self
        }

        /// For write points: write the first `bytes` bytes for real, then fail.
        #[must_use]
        pub fn short_write(mut self, bytes: usize) -> Self {
            self.short = Some(bytes);
            self
        }

        /// Arms the fault until the returned guard is dropped.
        pub fn arm(self) -> FaultGuard {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
            faults.push(Armed {
                id,
                fault: self,
                seen: 0,
                fired: 0,
            });
            ARMED.fetch_add(1, Ordering::SeqCst);
            FaultGuard { id }
        }
    }

    /// Keeps a [`Fault`] armed; dropping it disarms the fault.
    #[derive(Debug)]
    #[must_use = "the fault is disarmed when the guard is dropped"]
    pub struct FaultGuard {
        id: u64,
    }

    impl FaultGuard {
        /// How many calls the fault has failed so far.
        pub fn fired(&self) -> u32 {
            let faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
            faults
                .iter()
                .find(|a| a.id == self.id)
                .map_or(0, |a| a.fired)
        }
    }

    impl Drop for FaultGuard {
        fn drop(&mut self) {
            let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
            let before = faults.len();
            faults.retain(|a| a.id != self.id);
            if faults.len() < before {
                ARMED.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The fault to raise for this call, if one is armed and due.
    pub(super) fn take(point: FaultPoint, target: &Path) -> Option<Fault> {
        if ARMED.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
        let armed = faults
            .iter_mut()
            .find(|a| a.fault.point == point && a.fault.target == target)?;
        armed.seen = armed.seen.saturating_add(1);
        if armed.seen <= armed.fault.skip || armed.fired >= armed.fault.times {
            return None;
        }
        armed.fired = armed.fired.saturating_add(1);
        Some(armed.fault.clone())
    }

    /// A write that stops short: the prefix goes to the file for real, then the error.
    pub(super) fn write_prefix(mut file: &File, buf: &[u8], fault: Fault) -> io::Result<()> {
        if let Some(n) = fault.short {
            file.write_all(buf.get(..n.min(buf.len())).unwrap_or_default())?;
        }
        Err(io::Error::from_raw_os_error(fault.errno))
    }
}
