//! [`SyncLog`]: a log as a sync run needs it, without holding the writer's lock.
//!
//! A sync run spends nearly all its time waiting on the network. Holding the one-writer
//! lock for that long would make every append meanwhile wait or fail, so a `SyncLog`
//! takes the lock only for the moments that need it:
//! 1. [`SyncLog::position`]: under the lock, read the cursor and the last entry's seq (the
//!    target). With the lock held no writer is mid-write, so every complete line then on
//!    disk is committed;
//! 2. [`SyncLog::entries_after`]: read entries up to that target without the lock. They
//!    are complete lines that no writer ever rewrites: appends go after them, repair only
//!    cuts bytes after the last complete line, rotation renames whole files (the reader
//!    follows, see `reader`), and pruning removes only entries at or below the cursor;
//! 3. send them, without the lock;
//! 4. [`SyncLog::mark_synced`]: under the lock, check the seq against the log and store
//!    the cursor.
//!
//! Pruning the segments the new cursor covers is left to the next writer that opens the
//! log (opening prunes), so this never deletes a file under a writer's feet.
//!
//! Memory: one line while finding the last entry, one line per entry read.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::codec;
use super::lock::{self, LockFile, LockWait};
use super::open::{self, Access};
use super::reader::LogEntries;
use super::segment::{LogPaths, MAX_LINE_BYTES};
use super::{AuditLogConfig, LogError};
use crate::SyncCursor;

/// Bytes read per step when searching a file backwards for its last line.
const CHUNK: usize = 64 * 1024;

/// A log opened for syncing: reads without the writer's lock, and takes it (waiting up to
/// the configured lock timeout) only to read where the log stands and to advance its sync
/// cursor. Use it where a process syncs a log that other processes append to, such as
/// `gx sync` beside an agent's `gx audit append`s.
///
/// A process that has the log open as an [`AuditLog`](crate::AuditLog) syncs through that
/// instead: it already holds the lock, and this type's calls would wait for it.
#[derive(Debug)]
pub struct SyncLog {
    paths: LogPaths,
    config: AuditLogConfig,
}

/// Held while [`SyncLog`] reads the log's position or stores its cursor.
struct Held {
    _lock: LockFile,
    active: File,
}

impl SyncLog {
    /// Opens the existing log at `path` for syncing. Takes no lock; checks that the log is
    /// a regular file (a symlink is never followed).
    ///
    /// # Errors
    /// [`LogError::Io`] when it cannot be opened (`NotFound` when there is no log),
    /// [`LogError::NotRegularFile`].
    pub fn open(path: impl AsRef<Path>, config: AuditLogConfig) -> Result<Self, LogError> {
        let paths = LogPaths::new(path.as_ref());
        open::open_read(paths.base()).map_err(|e| e.into_log("open", paths.base()))?;
        Ok(Self { paths, config })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        self.paths.base()
    }

    /// Under the log's lock: the sync cursor (the last seq the server confirmed) and the
    /// seq of the last entry in the log (0 for an empty log).
    ///
    /// # Errors
    /// [`LogError::Locked`] when a writer held the log for the whole lock timeout; the
    /// errors of reading the cursor and the log's last line.
    pub fn position(&self) -> Result<(u64, u64), LogError> {
        let held = self.lock()?;
        let cursor = SyncCursor::at(self.paths.cursor()).load()?;
        let last = self.last_seq_held(&held)?;
        Ok((cursor, last))
    }

    /// Streams the entries after `seq` up to `upto` (the last seq of
    /// [`SyncLog::position`]), one line at a time, without the lock.
    pub fn entries_after(&self, seq: u64, upto: u64) -> LogEntries {
        LogEntries::new(self.paths.clone(), seq, upto)
    }

    /// Under the log's lock: records that the server confirmed every entry up to `seq`,
    /// durably and atomically. A `seq` at or below the stored cursor changes nothing.
    ///
    /// # Errors
    /// [`LogError::CursorAhead`] when `seq` is past the log's last entry;
    /// [`LogError::Locked`]; [`LogError::Io`].
    pub fn mark_synced(&self, seq: u64) -> Result<(), LogError> {
        let held = self.lock()?;
        let last = self.last_seq_held(&held)?;
        if seq > last {
            return Err(LogError::CursorAhead {
                requested: seq,
                last,
            });
        }
        let cursor = SyncCursor::at(self.paths.cursor());
        if seq <= cursor.load()? {
            return Ok(());
        }
        cursor.store(seq)
    }

    fn lock(&self) -> Result<Held, LogError> {
        let wait = LockWait::new(self.config.lock_timeout);
        let lock = LockFile::acquire(&self.paths.lock(), &wait)?;
        let base = self.paths.base();
        let active = lock::open_locked_active(base, &wait, || {
            open::open(base, Access::Read).map_err(|e| e.into_log("open", base))
        })?;
        Ok(Held {
            _lock: lock,
            active: active.file,
        })
    }

    /// The seq of the log's last complete entry: the active segment's, else the newest
    /// rotated segment's, else 0.
    fn last_seq_held(&self, held: &Held) -> Result<u64, LogError> {
        if let Some(seq) = last_seq_in(self.paths.base(), &held.active)? {
            return Ok(seq);
        }
        if let Some((_, path)) = self.paths.list_segments()?.last() {
            let file = open::open_read(path).map_err(|e| e.into_log("open", path))?;
            if let Some(seq) = last_seq_in(path, &file)? {
                return Ok(seq);
            }
        }
        Ok(0)
    }
}

/// The seq of the last complete line of `file`, found by reading backwards: bytes after
/// the last newline (a torn write not yet repaired) are ignored. Memory: one chunk, then
/// the line.
fn last_seq_in(path: &Path, file: &File) -> Result<Option<u64>, LogError> {
    let read_err = |e| LogError::io("read", path, e);
    let len = file
        .metadata()
        .map_err(|e| LogError::io("stat", path, e))?
        .len();
    let Some(end) = rfind_newline(file, len, u64::MAX).map_err(read_err)? else {
        return Ok(None);
    };
    // The line ends at `end`; it starts after the newline before it, at most one line back.
    let start = rfind_newline(file, end, MAX_LINE_BYTES as u64)
        .map_err(read_err)?
        .map_or(0, |p| p + 1);
    let too_long = || LogError::CorruptLine {
        path: path.to_path_buf(),
        line: 0,
        code: "LINE_TOO_LONG",
    };
    if end - start > MAX_LINE_BYTES as u64 || (start == 0 && end > MAX_LINE_BYTES as u64) {
        return Err(too_long());
    }
    let mut line = vec![0; usize::try_from(end - start).map_err(|_| too_long())?];
    file.read_exact_at(&mut line, start).map_err(read_err)?;
    let info = codec::parse_line(&line).map_err(|code| LogError::CorruptLine {
        path: path.to_path_buf(),
        line: 0,
        code,
    })?;
    Ok(Some(info.seq))
}

/// The offset of the last `\n` before `before`, looking back at most `limit` bytes.
fn rfind_newline(file: &File, before: u64, limit: u64) -> std::io::Result<Option<u64>> {
    let floor = before.saturating_sub(limit);
    let mut buf = vec![0u8; CHUNK];
    let mut end = before;
    while end > floor {
        let start = end.saturating_sub(CHUNK as u64).max(floor);
        let n = usize::try_from(end - start).unwrap_or(CHUNK).min(CHUNK);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}
