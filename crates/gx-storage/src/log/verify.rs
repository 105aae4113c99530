//! [`verify_log`]: checks a whole log, every segment in order, one line in memory at a time.
//!
//! Every entry goes through gx-core's [`ChainVerifier`]: shape, recomputed hash,
//! signature, seq, link. The first break is reported with its index (0-based, counting
//! entries across all segments), seq and code, and verification stops there. A torn last
//! line counts as a break (`INVALID_ENTRY`): `verify_log` reports the file as it is and
//! never repairs it.
//!
//! Where the chain starts: at genesis, unless the oldest entry on disk has seq > 1 and
//! the sync cursor says the entries before it were confirmed by the server (so gx
//! deleted them). Then the chain is anchored at that entry's `prevHash`, and the report
//! says so ([`VerifyReport::anchored_after`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use gx_core::audit::legacy::LegacyPyChainVerifier;
use gx_core::audit::{AuditVerifyingKey, ChainAnchor, ChainBreak, ChainVerifier, PrevHash};

use super::LogError;
use super::codec;
use super::segment::{Line, Lines, LogPaths};
use crate::SyncCursor;

/// Which on-disk format a log is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// The protocol's wire format, as gx and the TypeScript client write it.
    Wire,
    /// The Python client's (`grantex-gemma` 0.1.x) own format: snake_case fields,
    /// 64-zero genesis, sorted-key JSON hash, base64url signatures. gx can check such a
    /// log, but **the hosted service rejects these entries**: they cannot be synced.
    LegacyPython,
}

/// The outcome of [`verify_log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    entries: u64,
    last_seq: u64,
    anchored_after: Option<u64>,
    first_break: Option<ChainBreak>,
}

impl VerifyReport {
    /// How many entries verified before the first break (all of them if none).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The seq of the last entry that verified (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// `Some(seq)` when the chain was checked from a synced, deleted entry `seq` rather
    /// than from genesis.
    pub fn anchored_after(&self) -> Option<u64> {
        self.anchored_after
    }

    /// The first entry that failed, if any.
    pub fn first_break(&self) -> Option<ChainBreak> {
        self.first_break
    }

    /// Whether every entry verified.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Verifies every entry of the wire-format log at `path` (all its segments) under `key`.
///
/// # Errors
/// [`LogError::Io`] when a file cannot be read, [`LogError::CorruptCursor`]. A log that
/// does not verify is not an error: see [`VerifyReport::first_break`].
pub fn verify_log(
    path: impl AsRef<Path>,
    key: &AuditVerifyingKey,
) -> Result<VerifyReport, LogError> {
    verify_log_as(path, key, LogFormat::Wire)
}

/// As [`verify_log`], for a log in the given format.
///
/// # Errors
/// As [`verify_log`].
pub fn verify_log_as(
    path: impl AsRef<Path>,
    key: &AuditVerifyingKey,
    format: LogFormat,
) -> Result<VerifyReport, LogError> {
    verify_log_with_progress(path, key, format, &mut |_, _| {})
}

/// As [`verify_log_as`], calling `progress(done, total)` after each entry with the bytes
/// read so far and the size of all segments when the run started: for a progress bar.
///
/// # Errors
/// As [`verify_log`].
pub fn verify_log_with_progress(
    path: impl AsRef<Path>,
    key: &AuditVerifyingKey,
    format: LogFormat,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LogError> {
    let paths = LogPaths::new(path.as_ref());
    let mut files: Vec<PathBuf> = paths.list_segments()?.into_iter().map(|(_, p)| p).collect();
    files.push(paths.base().to_path_buf());
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let mut before = 0u64;
    let anchor = match format {
        LogFormat::Wire => wire_anchor(&paths, &files)?,
        LogFormat::LegacyPython => ChainAnchor::Genesis,
    };
    let mut checker = Checker::new(format, anchor, key);
    let mut buf = Vec::new();
    for file_path in &files {
        let file = match File::open(file_path) {
            Ok(f) => f,
            // The active file may be absent right after a crash inside a rotation.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LogError::io("open", file_path, e)),
        };
        let size = file.metadata().map_or(0, |m| m.len());
        let mut lines = Lines::new(file);
        loop {
            let kind = lines
                .next_line(&mut buf)
                .map_err(|e| LogError::io("read", file_path, e))?;
            match kind {
                Line::End => break,
                Line::Torn => {
                    checker.torn();
                    return Ok(checker.report());
                }
                Line::Complete => {
                    if checker.push(&buf).is_err() {
                        return Ok(checker.report());
                    }
                    let done = before + lines.line_start() + buf.len() as u64 + 1;
                    progress(done.min(total), total);
                }
            }
        }
        before += size;
    }
    Ok(checker.report())
}

/// Genesis, or the `prevHash` of the oldest entry when the cursor covers what came before.
fn wire_anchor(paths: &LogPaths, files: &[PathBuf]) -> Result<ChainAnchor, LogError> {
    let synced = SyncCursor::at(paths.cursor()).load()?;
    let mut buf = Vec::new();
    for file_path in files {
        let Ok(file) = File::open(file_path) else {
            continue;
        };
        let mut lines = Lines::new(file);
        let kind = lines
            .next_line(&mut buf)
            .map_err(|e| LogError::io("read", file_path, e))?;
        if kind != Line::Complete {
            continue;
        }
        return Ok(match codec::parse_line(&buf) {
            Ok(first) if first.seq > 1 && synced >= first.seq - 1 => match first.prev {
                PrevHash::Entry(hash) => ChainAnchor::After {
                    seq: first.seq - 1,
                    hash,
                },
                PrevHash::Genesis => ChainAnchor::Genesis,
            },
            _ => ChainAnchor::Genesis,
        });
    }
    Ok(ChainAnchor::Genesis)
}

/// One verifier per format, behind one interface, counting what verified.
struct Checker<'k> {
    verifier: Verifier<'k>,
    anchor: ChainAnchor,
    verified: u64,
    first_break: Option<ChainBreak>,
}

enum Verifier<'k> {
    Wire(ChainVerifier<'k>),
    Legacy(LegacyPyChainVerifier<'k>),
}

impl<'k> Checker<'k> {
    fn new(format: LogFormat, anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        let verifier = match format {
            LogFormat::Wire => Verifier::Wire(ChainVerifier::new(anchor, key)),
            LogFormat::LegacyPython => Verifier::Legacy(LegacyPyChainVerifier::new(anchor, key)),
        };
        Self {
            verifier,
            anchor,
            verified: 0,
            first_break: None,
        }
    }

    fn push(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        let res = match &mut self.verifier {
            Verifier::Wire(v) => v.push_line(line),
            Verifier::Legacy(v) => v.push_line(line),
        };
        match res {
            Ok(()) => self.verified += 1,
            Err(b) => {
                self.first_break.get_or_insert(b);
            }
        }
        res
    }

    /// A torn last line: the entry at the next index cannot be read.
    fn torn(&mut self) {
        // An empty line is not JSON: the verifier reports INVALID_ENTRY at the next index.
        let _ = self.push(b"");
    }

    fn report(&self) -> VerifyReport {
        let anchored_after = match self.anchor {
            ChainAnchor::After { seq, .. } => Some(seq),
            ChainAnchor::Genesis => None,
        };
        // Verified entries have consecutive seqs from the anchor's.
        let last_seq = anchored_after.unwrap_or(0).saturating_add(self.verified);
        VerifyReport {
            entries: self.verified,
            last_seq,
            anchored_after,
            first_break: self.first_break,
        }
    }
}
