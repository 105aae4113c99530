//! The one clock a [`DeviceSession`](crate::DeviceSession) reads: the system clock, or one
//! a test or simulation sets.
//!
//! Every reading goes through the session's time floor, so a clock that is set back
//! (or a [`ManualClock`] moved backwards) can never make time go backwards for the
//! grant checks or the entries' timestamps.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gx_core::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time as this clock reads it (not yet bounded by the floor).
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// A clock that reads what it was last set to; clones share the reading. For tests and
/// simulations (set it back to play a device whose clock was rolled back).
#[derive(Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: UnixTime) -> Self {
        let clock = Self::default();
        clock.set(at);
        clock
    }

    /// Sets the reading (forwards or backwards).
    pub fn set(&self, at: UnixTime) {
        self.millis.store(at.as_millis(), Ordering::SeqCst);
    }

    /// Moves the reading forwards by `secs` seconds.
    pub fn advance_secs(&self, secs: u64) {
        self.millis
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}
