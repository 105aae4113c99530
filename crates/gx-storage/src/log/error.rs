//! Why an audit-log operation failed: one variant per cause, each with a stable `code()`.

use core::fmt;
use std::io;
use std::path::PathBuf;

/// An error from opening, appending to, reading or verifying an [`AuditLog`](crate::AuditLog).
///
/// Causes are grouped by who must act: the disk (`Io`), another writer (`Locked`), data
/// on disk that is not what gx wrote (`CorruptLine`, `CorruptCursor`, `HeadLost`), a full
/// log that must be synced first (`LogFull`), the caller (`InvalidEntry`,
/// `CursorAhead`), and bugs that cannot happen (`EntryNotWritten`). Nothing here ever holds a key or an entry's contents beyond its
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
    /// Another process or another `AuditLog` in this process held the log's lock for the
    /// whole lock timeout ([`AuditLogConfig::with_lock_timeout`](crate::AuditLogConfig::with_lock_timeout)).
    Locked {
        /// The lock that is held (`<log>.lock` or the log itself).
        path: PathBuf,
        /// How long the open waited.
        waited: core::time::Duration,
    },
    /// The log (or one of its side files) is not a regular file: a symbolic link, a
    /// directory, a FIFO. gx never follows a link to a log, so a planted link cannot make
    /// it repair or append to an unrelated file; nothing was opened or changed.
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What was found there (`"a symbolic link"`, `"a directory"`, ...).
        found: &'static str,
    },
    /// The log's active file has more than one hard link. A second name would let a
    /// second writer, or a rotation seen through one name only, fork the chain; remove
    /// the other names (a backup should copy the log, not link it).
    Linked {
        /// The log's path.
        path: PathBuf,
        /// The link count found.
        links: u64,
    },
    /// Opening found the log shorter than its sync cursor: an entry the server already
    /// confirmed is cut short or gone. Repairing it away would make gx reissue that seq
    /// and fork the chain the server holds, so the log is left exactly as found.
    /// Restore the missing bytes (a backup, or the server's copy of the entries).
    SyncedEntryDamaged {
        /// The damaged file.
        path: PathBuf,
        /// The last seq still whole in the log.
        last_intact: u64,
        /// The cursor: the last seq the server confirmed.
        synced_seq: u64,
    },
    /// An entry's line would be longer than [`MAX_ENTRY_BYTES`](crate::MAX_ENTRY_BYTES),
    /// so no sync request could ever carry it. Nothing was written.
    EntryTooLarge {
        /// The line's length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A complete line of a segment is not a valid entry, or does not continue the chain
    /// of the line before it, or a line is longer than any entry can be, or the bytes
    /// after the last line are not what a crash can leave (a prefix of an entry no longer
    /// than one entry, or a run of NUL bytes). The log is left untouched: this is not a
    /// torn write that can be repaired, it is damage that a human must look at.
    CorruptLine {
        /// The segment file.
        path: PathBuf,
        /// The 1-based line number in that file.
        line: u64,
        /// The reason: a chain-break code (`INVALID_ENTRY`, `SEQ_GAP`, `BROKEN_CHAIN`),
        /// `LINE_TOO_LONG`, or `TAIL_NOT_TORN_WRITE` for bytes after the last line that
        /// no crash of a writer can leave.
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
    /// metadata is not a JSON object the service accepts. Nothing was written. gx-core's
    /// reason is the [`source`](core::error::Error::source); its
    /// [`code`](gx_core::EntryError::code) names the rule (e.g. `ENTRY_BAD_LENGTH`).
    InvalidEntry(gx_core::EntryError),
    /// A bug, never caused by the entry: gx-core signed an entry and then could not write
    /// out its line into the buffer it had sized itself. Nothing was written.
    EntryNotWritten(gx_core::WriteError),
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
            Self::NotRegularFile { .. } => "LOG_NOT_REGULAR_FILE",
            Self::Linked { .. } => "LOG_HARD_LINKED",
            Self::SyncedEntryDamaged { .. } => "SYNCED_ENTRY_DAMAGED",
            Self::EntryTooLarge { .. } => "ENTRY_TOO_LARGE",
            Self::CorruptLine { .. } => "CORRUPT_LOG",
            Self::CorruptCursor { .. } => "CORRUPT_CURSOR",
            Self::HeadLost { .. } => "CHAIN_HEAD_LOST",
            Self::LogFull { .. } => "LOG_FULL",
            Self::InvalidEntry(_) => "INVALID_ENTRY",
            Self::EntryNotWritten(_) => "ENTRY_NOT_WRITTEN",
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
            Self::Locked { path, waited } => write!(
                f,
                "audit log is in use by another writer (lock {} still held after {} ms)",
                path.display(),
                waited.as_millis()
            ),
            Self::NotRegularFile { path, found } => write!(
                f,
                "audit log file {} is {found}, not a regular file; gx does not follow or use it",
                path.display()
            ),
            Self::Linked { path, links } => write!(
                f,
                "audit log {} has {links} hard links; a log must have exactly one name",
                path.display()
            ),
            Self::SyncedEntryDamaged {
                path,
                last_intact,
                synced_seq,
            } => write!(
                f,
                "audit log {} ends at seq {last_intact} but the server confirmed up to seq \
                 {synced_seq}: a synced entry is damaged; the log was left untouched",
                path.display()
            ),
            Self::EntryTooLarge { bytes, limit } => write!(
                f,
                "audit entry of {bytes} bytes refused: no sync request can carry more than \
                 {limit} bytes per entry"
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
            Self::InvalidEntry(e) => write!(f, "audit entry refused ({}): {e}", e.code()),
            Self::EntryNotWritten(e) => write!(f, "audit entry signed but not written: {e}"),
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
            Self::InvalidEntry(e) => Some(e),
            Self::EntryNotWritten(e) => Some(e),
            _ => None,
        }
    }
}
