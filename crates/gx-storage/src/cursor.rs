//! The sync cursor: the last seq the server confirmed, in `<log>.synced`, replaced atomically.
//!
//! The file holds the seq in decimal, the format the TypeScript client writes, so a log
//! it wrote keeps its sync position (its "nothing synced yet" value `-1` reads as 0).
//! Writes go through a temporary file, fsync and rename: a crash leaves the old value or
//! the new one, never a mix.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::LogError;

/// The most bytes a cursor file may hold: 20 digits, with room for whitespace.
const MAX_CURSOR_BYTES: usize = 64;

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

    /// The stored seq; 0 when the file does not exist (nothing synced yet). A symlink at
    /// the cursor's path is never followed.
    ///
    /// # Errors
    /// [`LogError::Io`] when the file cannot be read, [`LogError::NotRegularFile`] for a
    /// symlink or other non-file, [`LogError::CorruptCursor`] when it does not hold a
    /// decimal integer.
    pub fn load(&self) -> Result<u64, LogError> {
        let file = match crate::log::open_read(&self.path) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(0),
            Err(e) => return Err(e.into_log("read cursor", &self.path)),
        };
        let corrupt = || LogError::CorruptCursor {
            path: self.path.clone(),
        };
        // A seq is at most 20 digits; a cursor longer than this is not one, whatever its size.
        let mut bytes = Vec::with_capacity(MAX_CURSOR_BYTES);
        file.take(MAX_CURSOR_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| LogError::io("read cursor", &self.path, e))?;
        if bytes.len() > MAX_CURSOR_BYTES {
            return Err(corrupt());
        }
        let text = core::str::from_utf8(&bytes).map_err(|_| corrupt())?;
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
