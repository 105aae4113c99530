//! The one-writer rule: exclusive `flock`s on `<log>.lock` and on the active segment itself,
//! both held as long as the log is open, each waited for at most the configured timeout.
//!
//! Why two locks:
//! - the lock on the active segment's own inode is what makes the rule independent of how
//!   the path is spelled: a writer that reaches the same file through another name locks
//!   the same inode, and deleting or replacing `<log>.lock` does not free it. After taking
//!   it, the writer checks that the path still names the inode it locked (a rotation by
//!   the previous holder may have moved it away) and starts again if not;
//! - the lock file is a name that never moves, so it also covers the instant of a rotation,
//!   between renaming the active segment away and creating its successor.
//!
//! A log whose active segment has more than one hard link is refused
//! ([`LogError::Linked`]): after a rotation the other name would lead a second writer
//! into a rotated segment. A symlink is never followed (see `open`).
//!
//! `flock` locks belong to the open file description, so a second `AuditLog` in the same
//! process waits just like a second process. The kernel drops them when the holder dies, so
//! a crashed writer never leaves the log locked. A held lock is retried with a short
//! backoff until the timeout (as SQLite's busy timeout does), so short-lived writers such
//! as `gx audit append` queue behind each other instead of failing; this also covers a
//! forked child that briefly shares the holder's descriptors until its `exec`.

use core::time::Duration;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustix::fs::{FlockOperation, flock};

use super::LogError;
use super::open::{self, Access, FileId};

/// Longest pause between two tries of a held lock.
const MAX_BACKOFF: Duration = Duration::from_millis(25);

/// When the wait for the log's locks started and how long it may last.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LockWait {
    started: Instant,
    timeout: Duration,
}

impl LockWait {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            timeout,
        }
    }

    fn expired(&self) -> bool {
        self.started.elapsed() >= self.timeout
    }

    fn locked(&self, path: &Path) -> LogError {
        LogError::Locked {
            path: path.to_path_buf(),
            waited: self.started.elapsed(),
        }
    }
}

/// The held lock on `<log>.lock`; released when dropped (the file is closed).
#[derive(Debug)]
pub(crate) struct LockFile {
    _file: File,
}

impl LockFile {
    /// Takes the lock on `path`, waiting as `wait` allows.
    pub(crate) fn acquire(path: &Path, wait: &LockWait) -> Result<Self, LogError> {
        let file = open::open(path, Access::Write)
            .map_err(|e| e.into_log("open lock file", path))?
            .file;
        lock_until(&file, path, wait)?;
        Ok(Self { _file: file })
    }
}

/// Takes an exclusive `flock` on `file` (whose lock `path` names, for errors), retrying
/// while it is held until `wait` runs out.
pub(crate) fn lock_until(file: &File, path: &Path, wait: &LockWait) -> Result<(), LogError> {
    let mut backoff = Duration::from_millis(1);
    loop {
        match try_lock(file) {
            Ok(true) => return Ok(()),
            Ok(false) => {
                if wait.expired() {
                    return Err(wait.locked(path));
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(LogError::io("lock", path, e)),
        }
    }
}

/// One non-blocking try: `Ok(false)` when another open file holds the lock.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Opens the active segment at `path` (creating it, 0600, if missing), takes the lock on
/// its inode and checks that `path` still names that inode. Returns the file and whether
/// this call created it.
pub(crate) fn open_locked_active(
    path: &Path,
    wait: &LockWait,
    open_file: impl Fn() -> Result<open::Opened, LogError>,
) -> Result<open::Opened, LogError> {
    loop {
        let opened = open_file()?;
        let (id, links) = identity(&opened.file, path)?;
        if links > 1 {
            return Err(LogError::Linked {
                path: PathBuf::from(path),
                links,
            });
        }
        lock_until(&opened.file, path, wait)?;
        if same_file(path, id)? {
            return Ok(opened);
        }
        // The holder we waited for rotated this file away: the log is elsewhere now.
        if wait.expired() {
            return Err(wait.locked(path));
        }
    }
}

fn identity(file: &File, path: &Path) -> Result<(FileId, u64), LogError> {
    open::identity(file).map_err(|e| LogError::io("stat", path, e))
}

/// Whether `path` still names the file `id`.
pub(crate) fn same_file(path: &Path, id: FileId) -> Result<bool, LogError> {
    let now = open::path_identity(path).map_err(|e| LogError::io("stat", path, e))?;
    Ok(now == Some(id))
}
