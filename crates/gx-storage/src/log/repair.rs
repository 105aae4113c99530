//! [`RepairReport`]: what opening a log cut off its end, so the caller can say so.
//!
//! Opening repairs only what a crash can leave (see `recover`), but a repair is never
//! silent: the report names the file, where the cut was, how many bytes went and what they
//! were. [`AuditLog::repair`](crate::AuditLog::repair) returns it; the `gx` commands print
//! it.

use core::fmt;
use std::path::{Path, PathBuf};

pub use super::segment::TailKind;

/// A repair made when the log was opened: the bytes after its last complete entry were cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairReport {
    pub(crate) path: PathBuf,
    pub(crate) offset: u64,
    pub(crate) removed: u64,
    pub(crate) kind: TailKind,
    pub(crate) last_seq: u64,
}

impl RepairReport {
    /// The file that was cut (the active segment).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length after the cut: where the removed bytes started.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes were removed.
    pub fn removed_bytes(&self) -> u64 {
        self.removed
    }

    /// What the removed bytes were.
    pub fn kind(&self) -> TailKind {
        self.kind
    }

    /// The seq of the last entry kept (0 when none is left in the file).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

impl fmt::Display for RepairReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TailKind::TornEntry => "a torn entry (a write cut short by a crash)",
            TailKind::NulRun => "NUL bytes (space a crash left unwritten)",
        };
        write!(
            f,
            "repaired audit log {}: removed {} bytes at offset {} after seq {}: {what}",
            self.path.display(),
            self.removed,
            self.offset,
            self.last_seq
        )
    }
}
