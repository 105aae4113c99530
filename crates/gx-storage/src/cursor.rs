//! The sync cursor: the last seq the server confirmed, in `<log>.synced`, replaced atomically.
//!
//! The file holds the seq in decimal, the format the TypeScript client writes, so a log
//! it wrote keeps its sync position (its "nothing synced yet" value `-1` reads as 0).
//! Writes go through a temporary file, fsync and rename: a crash leaves the old value or
//! the new one, never a mix.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::LogError;

/// The sync cursor file of one log.
#[derive(Clone, Debug)]
pub struct SyncCursor {
    path: PathBuf,
}

impl SyncCursor {
    /// The cursor stored at `path` (an [`AuditLog`](crate::AuditLog) uses `<log>.synced`).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The cursor file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored seq; 0 when the file does not exist (nothing synced yet).
    ///
    /// # Errors
    /// [`LogError::Io`] when the file cannot be read, [`LogError::CorruptCursor`] when it
    /// does not hold a decimal integer.
    pub fn load(&self) -> Result<u64, LogError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(LogError::io("read cursor", &self.path, e)),
        };
        let corrupt = || LogError::CorruptCursor {
            path: self.path.clone(),
        };
        let text = text.trim();
        if text == "-1" {
            return Ok(0);
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(corrupt());
        }
        text.parse::<u64>().map_err(|_| corrupt())
    }

    /// Replaces the stored seq, durably and atomically.
    ///
    /// # Errors
    /// [`LogError::Io`] naming the step that failed (`"write temp file"`, `"rename"`,
    /// ...) when the file cannot be written; the old value is then intact, except after
    /// a failed `"fsync directory"`, when the new value is in place but its durability
    /// unknown.
    pub fn store(&self, seq: u64) -> Result<(), LogError> {
        crate::atomic::write_atomic(
            &self.path,
            seq.to_string().as_bytes(),
            crate::atomic::PRIVATE_MODE,
        )
        .map_err(|e| LogError::io(e.op, &self.path, e.source))
    }
}
