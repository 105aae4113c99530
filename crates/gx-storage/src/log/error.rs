//! Why an audit-log operation failed: one variant per cause, each with a stable `code()`.

use core::fmt;
use std::io;
use std::path::PathBuf;

/// An error from opening, appending to, reading or verifying an [`AuditLog`](crate::AuditLog).
///
/// Causes are grouped by who must act: the disk (`Io`), another writer (`Locked`), data
/// on disk that is not what gx wrote (`CorruptLine`, `CorruptCursor`, `HeadLost`), a full
/// log that must be synced first (`LogFull`), and the caller (`InvalidEntry`,
/// `CursorAhead`). Nothing here ever holds a key or an entry's contents beyond its
/// position.
#[derive(Debug)]
#[non_exhaustive]
pub enum LogError {
    /// A file operation failed.
    Io {
        /// What was being done (`"open"`, `"append"`, `"fsync"`, `"rename"`, ...).
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Another process or another `AuditLog` in this process holds the log's lock.
    Locked {
        /// The lock file that is held.
        path: PathBuf,
    },
    /// A complete line of a segment is not a valid entry, or does not continue the chain
    /// of the line before it. The log is left untouched: this is not a torn write that
    /// can be repaired, it is damage that a human must look at.
    CorruptLine {
        /// The segment file.
        path: PathBuf,
        /// The 1-based line number in that file.
        line: u64,
        /// The reason, as a chain-break code (`INVALID_ENTRY`, `SEQ_GAP`, `BROKEN_CHAIN`).
        code: &'static str,
    },
    /// The sync-cursor file does not hold a decimal sequence number.
    CorruptCursor {
        /// The cursor file.
        path: PathBuf,
    },
    /// The log holds no entry, yet its cursor says entries were synced: the chain head
    /// (last seq and hash) is gone and the log cannot continue the chain. Restore the
    /// missing segment; gx never restarts a chain at seq 1 on its own.
    HeadLost {
        /// The log's path.
        path: PathBuf,
        /// The cursor value found.
        synced_seq: u64,
    },
    /// Appending would take the unsynced data past the configured cap. Sync the log (and
    /// call [`AuditLog::mark_synced`](crate::AuditLog::mark_synced)) to make room.
    /// No entry of the refused append was written.
    LogFull {
        /// Bytes currently held for entries the server has not confirmed.
        unsynced_bytes: u64,
        /// The configured cap.
        limit: u64,
    },
    /// The entry could not be built: a field breaks a shape rule of the protocol, or the
    /// metadata is not a JSON object the service accepts.
    InvalidEntry {
        /// The gx-core reason code.
        code: &'static str,
    },
    /// [`AuditLog::mark_synced`](crate::AuditLog::mark_synced) was given a seq past the
    /// last entry in the log.
    CursorAhead {
        /// The seq asked for.
        requested: u64,
        /// The last seq in the log.
        last: u64,
    },
    /// A reader asked for entries that were deleted after the server confirmed them.
    EntriesPruned {
        /// The first seq asked for.
        requested: u64,
        /// The oldest seq still on disk.
        oldest: u64,
    },
    /// A group commit that held this append failed on disk; the entries of that group
    /// were rolled back and not acknowledged. The log itself is usable again.
    GroupCommitFailed {
        /// What the group's leader was doing (`"write"`, `"fsync"`, `"fsync directory"`).
        op: &'static str,
        /// The log's path.
        path: PathBuf,
        /// The kind of the I/O error the group's leader saw.
        kind: io::ErrorKind,
    },
    /// Appends were held (a bundle refresh was switching the signing key) for longer than
    /// the append may wait; nothing was written. Retry.
    Held {
        /// How long the append waited.
        waited: core::time::Duration,
    },
    /// A write failed and rolling it back failed too, so the file may end in a partial
    /// line. Drop this `AuditLog` and open the log again: opening repairs it.
    Poisoned,
}

impl LogError {
    /// A stable, machine-readable name for the cause.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "IO_ERROR",
            Self::Locked { .. } => "LOG_LOCKED",
            Self::CorruptLine { .. } => "CORRUPT_LOG",
            Self::CorruptCursor { .. } => "CORRUPT_CURSOR",
            Self::HeadLost { .. } => "CHAIN_HEAD_LOST",
            Self::LogFull { .. } => "LOG_FULL",
            Self::InvalidEntry { .. } => "INVALID_ENTRY",
            Self::CursorAhead { .. } => "CURSOR_AHEAD",
            Self::EntriesPruned { .. } => "ENTRIES_PRUNED",
            Self::GroupCommitFailed { .. } => "GROUP_COMMIT_FAILED",
            Self::Held { .. } => "LOG_HELD",
            Self::Poisoned => "LOG_POISONED",
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, path, source } => {
                write!(f, "audit log: {op} {}: {source}", path.display())
            }
            Self::Locked { path } => write!(
                f,
                "audit log is in use by another writer (lock {} is held)",
                path.display()
            ),
            Self::CorruptLine { path, line, code } => write!(
                f,
                "audit log {} is corrupt at line {line} ({code})",
                path.display()
            ),
            Self::CorruptCursor { path } => {
                write!(f, "sync cursor {} is not a decimal seq", path.display())
            }
            Self::HeadLost { path, synced_seq } => write!(
                f,
                "audit log {} holds no entry but {synced_seq} were synced: the chain head is lost",
                path.display()
            ),
            Self::LogFull {
                unsynced_bytes,
                limit,
            } => write!(
                f,
                "audit log is full: {unsynced_bytes} unsynced bytes, cap {limit}; sync first"
            ),
            Self::InvalidEntry { code } => write!(f, "audit entry refused ({code})"),
            Self::CursorAhead { requested, last } => write!(
                f,
                "cannot mark seq {requested} synced: the log ends at seq {last}"
            ),
            Self::EntriesPruned { requested, oldest } => write!(
                f,
                "audit entries from seq {requested} were deleted after syncing; the oldest kept is {oldest}"
            ),
            Self::GroupCommitFailed { op, path, kind } => write!(
                f,
                "audit log: {op} {} failed for the group commit holding this entry ({kind}); \
                 it was not written",
                path.display()
            ),
            Self::Held { waited } => write!(
                f,
                "audit log appends are held (a bundle refresh is switching keys); \
                 waited {} s, nothing written: retry",
                waited.as_secs()
            ),
            Self::Poisoned => {
                f.write_str("audit log write failed and could not be rolled back; reopen the log")
            }
        }
    }
}

impl core::error::Error for LogError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
