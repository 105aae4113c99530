//! The one-writer rule: an exclusive `flock` on `<log>.lock`, held as long as the log is open.
//!
//! `flock` locks belong to the open file description, so a second `AuditLog` in the same
//! process is refused just like a second process. The kernel drops the lock when the
//! holder dies, so a crashed writer never leaves the log locked.
//!
//! One wrinkle: a process that forks (to spawn a child) shares its open files with the
//! child until the child's `exec` closes them, so for that instant a lock that was just
//! released can still look held. `acquire` therefore retries for a short while before
//! reporting [`LogError::Locked`]; a real second writer holds on far longer than that.

use core::time::Duration;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use super::LogError;

/// How long `acquire` keeps retrying a held lock before giving up.
const LOCK_PATIENCE: Duration = Duration::from_millis(100);

/// A held exclusive lock; released when dropped (the file is closed).
#[derive(Debug)]
pub(crate) struct LockFile {
    _file: File,
}

impl LockFile {
    /// Takes the lock without waiting.
    pub(crate) fn acquire(path: &Path) -> Result<Self, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| LogError::io("open lock file", path, e))?;
        let mut backoff = Duration::from_millis(1);
        let mut waited = Duration::ZERO;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(Self { _file: file }),
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    if waited >= LOCK_PATIENCE {
                        return Err(LogError::Locked {
                            path: PathBuf::from(path),
                        });
                    }
                    std::thread::sleep(backoff);
                    waited += backoff;
                    backoff = (backoff * 2).min(Duration::from_millis(20));
                }
                Err(e) => return Err(LogError::io("lock", path, io::Error::from(e))),
            }
        }
    }
}
