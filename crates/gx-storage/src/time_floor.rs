//! The time floor: the latest trustworthy time this device has seen, kept on disk.
//!
//! A grant token carries an expiry, and an offline device can only compare it with its own
//! clock. Setting that clock back would revive an expired grant. The floor closes that
//! hole: every trustworthy time the device learns (a bundle's `checkpointAt`, the timestamp
//! of the last audit entry it wrote) raises the floor, the floor never goes down, and a
//! caller refuses to verify when the clock reads earlier than the floor
//! ([`TimeFloor::check`]). See `docs/audit-log.md`.
//!
//! The file holds Unix milliseconds in decimal and is replaced atomically. A
//! [`DeviceSession`](crate::DeviceSession) owns one: it raises it with the bundle's
//! `checkpointAt`, every entry written and every clock reading, and bounds every time it
//! uses by it. Raising is cheap ([`raise`](TimeFloor::raise), in memory);
//! [`persist`](TimeFloor::persist) stores it, never lowering what another process stored.

use core::fmt;
use core::time::Duration;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use gx_core::UnixTime;

/// Why a time-floor operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TimeFloorError {
    /// The floor file could not be read or written.
    Io {
        /// What was being done: `"read"`, or the step of the atomic store that failed.
        op: &'static str,
        /// The floor file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The floor file does not hold a decimal millisecond count.
    Corrupt {
        /// The floor file.
        path: PathBuf,
    },
    /// The clock reads earlier than a time this device already saw: it has been set back
    /// (or has lost its battery). Do not trust it for expiry checks.
    ClockBehind {
        /// What the clock says.
        now: UnixTime,
        /// The floor.
        floor: UnixTime,
    },
}

impl TimeFloorError {
    /// A stable, machine-readable name for the cause.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "IO_ERROR",
            Self::Corrupt { .. } => "CORRUPT_TIME_FLOOR",
            Self::ClockBehind { .. } => "CLOCK_BEHIND_FLOOR",
        }
    }
}

impl fmt::Display for TimeFloorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, path, source } => {
                write!(f, "time floor {}: {op}: {source}", path.display())
            }
            Self::Corrupt { path } => {
                write!(
                    f,
                    "time floor {} is not a millisecond count",
                    path.display()
                )
            }
            Self::ClockBehind { now, floor } => write!(
                f,
                "the clock ({} ms) is behind the time floor ({} ms): it was set back",
                now.as_millis(),
                floor.as_millis()
            ),
        }
    }
}

impl core::error::Error for TimeFloorError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A persisted, never-decreasing lower bound on the current time.
#[derive(Clone, Debug)]
pub struct TimeFloor {
    path: PathBuf,
    floor: UnixTime,
    /// What the file held when last read or written.
    stored: UnixTime,
}

impl TimeFloor {
    /// Loads the floor stored at `path`; the epoch when the file does not exist yet.
    ///
    /// # Errors
    /// [`TimeFloorError::Io`] or [`TimeFloorError::Corrupt`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, TimeFloorError> {
        let path = path.into();
        let floor = read(&path)?;
        Ok(Self {
            path,
            floor,
            stored: floor,
        })
    }

    /// The floor file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The latest trustworthy time seen so far.
    pub fn floor(&self) -> UnixTime {
        self.floor
    }

    /// Raises the floor to `seen` in memory if it is later; returns whether it moved.
    /// [`persist`](Self::persist) stores it.
    pub fn raise(&mut self, seen: UnixTime) -> bool {
        if seen <= self.floor {
            return false;
        }
        self.floor = seen;
        true
    }

    /// Stores the floor if it moved since it was last read or stored. The file is read
    /// again first and the later of the two is kept, so a process never lowers a floor
    /// another one stored.
    ///
    /// # Errors
    /// [`TimeFloorError::Io`] or [`TimeFloorError::Corrupt`]; the floor in memory stays
    /// raised.
    pub fn persist(&mut self) -> Result<(), TimeFloorError> {
        if self.floor <= self.stored {
            return Ok(());
        }
        let on_disk = read(&self.path)?;
        if on_disk >= self.floor {
            self.floor = on_disk;
            self.stored = on_disk;
            return Ok(());
        }
        crate::atomic::write_atomic(
            &self.path,
            self.floor.as_millis().to_string().as_bytes(),
            crate::atomic::PRIVATE_MODE,
        )
        .map_err(|e| TimeFloorError::Io {
            op: e.op,
            path: self.path.clone(),
            source: e.source,
        })?;
        self.stored = self.floor;
        Ok(())
    }

    /// Raises the floor to `trusted` if it is later, and stores it. Returns whether the
    /// floor moved. Feed it only times that come from outside the device's clock or
    /// were already checked against the floor (a bundle's `checkpointAt`, the last audit
    /// entry's timestamp).
    ///
    /// # Errors
    /// [`TimeFloorError::Io`] when the new floor cannot be stored; the floor is then
    /// unchanged in memory and on disk.
    pub fn observe(&mut self, trusted: UnixTime) -> Result<bool, TimeFloorError> {
        if trusted <= self.floor {
            return Ok(false);
        }
        let before = self.floor;
        self.floor = trusted;
        if let Err(e) = self.persist() {
            self.floor = before;
            return Err(e);
        }
        Ok(true)
    }

    /// Checks a clock reading against the floor, allowing it to lag by `slack` (clock
    /// adjustments of a few seconds are normal). Returns the time to use: the later of
    /// `now` and the floor.
    ///
    /// # Errors
    /// [`TimeFloorError::ClockBehind`] when `now` is more than `slack` before the floor.
    pub fn check(&self, now: UnixTime, slack: Duration) -> Result<UnixTime, TimeFloorError> {
        let slack_ms = u64::try_from(slack.as_millis()).unwrap_or(u64::MAX);
        if now.as_millis().saturating_add(slack_ms) < self.floor.as_millis() {
            return Err(TimeFloorError::ClockBehind {
                now,
                floor: self.floor,
            });
        }
        Ok(now.max(self.floor))
    }
}

/// The floor stored at `path`; the epoch when there is none.
fn read(path: &Path) -> Result<UnixTime, TimeFloorError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TimeFloorError::Corrupt {
                    path: path.to_path_buf(),
                });
            }
            match text.parse::<u64>() {
                Ok(ms) => Ok(UnixTime::from_millis(ms)),
                Err(_) => Err(TimeFloorError::Corrupt {
                    path: path.to_path_buf(),
                }),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(UnixTime::EPOCH),
        Err(source) => Err(TimeFloorError::Io {
            op: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}
