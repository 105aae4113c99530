//! [`verify_log`]: checks a whole log, every segment in order, one line in memory at a time.
//!
//! Every entry goes through gx-core's chain verification ([`BatchChainVerifier`] under one
//! key, or under several keys whose first seqs are known, signatures checked in batches
//! with the single check's verdict; [`ChainVerifier`] one by one under a schedule with a
//! key of unknown start): shape, recomputed hash,
//! signature, seq, link. The first break is reported with its index (0-based, counting
//! entries across all segments), seq and code, and verification stops there. A torn last
//! line counts as a break (`INVALID_ENTRY`): `verify_log` reports the file as it is and
//! never repairs it.
//!
//! Where the chain starts: at genesis, unless the oldest entry on disk has seq > 1 and
//! the sync cursor says the entries before it were confirmed by the server (so gx
//! deleted them). Then the chain is anchored at that entry's `prevHash`, and the report
//! says so ([`VerifyReport::anchored_after`]).
//!
//! Which key: a log that lived through refreshes is signed with several audit keys, each
//! from some seq on. [`verify_log_keys`] takes them as [`KeySpan`]s, oldest first (a
//! device's [`AuditKeyHistory`](crate::AuditKeyHistory) gives them with their first
//! seqs). A span whose first seq is unknown (keys given by hand) takes over at the first
//! entry that verifies under it and not under the key before; once a later key took
//! over, earlier keys are never used again.

use std::fs::File;
use std::path::{Path, PathBuf};

use gx_core::{
    AuditVerifyingKey, BatchChainVerifier, BreakCode, ChainAnchor, ChainBreak, ChainVerifier,
    LegacyPyChainVerifier, PrevHash, SignedAuditEntry,
};

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

/// One audit key of a log and the seq from which it signs, if known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpan {
    key: AuditVerifyingKey,
    from_seq: Option<u64>,
}

impl KeySpan {
    /// `key`, signing from `seq` on.
    pub fn from_seq(key: AuditVerifyingKey, seq: u64) -> Self {
        Self {
            key,
            from_seq: Some(seq),
        }
    }

    /// `key`, from wherever the entries show it takes over.
    pub fn unbounded(key: AuditVerifyingKey) -> Self {
        Self {
            key,
            from_seq: None,
        }
    }

    /// The key.
    pub fn key(&self) -> &AuditVerifyingKey {
        &self.key
    }

    /// The first seq it signs, if known.
    pub fn first_seq(&self) -> Option<u64> {
        self.from_seq
    }
}

/// Verifies every entry of the wire-format log at `path` (all its segments) under
/// `keys`, oldest first (see the module docs). An empty `keys` verifies nothing: every
/// entry is `INVALID_SIGNATURE`.
///
/// # Errors
/// As [`verify_log`].
pub fn verify_log_keys(path: impl AsRef<Path>, keys: &[KeySpan]) -> Result<VerifyReport, LogError> {
    verify_log_keys_with_progress(path, keys, &mut |_, _| {})
}

/// As [`verify_log_keys`], calling `progress(done, total)` after each entry with the bytes
/// read so far and the size of all segments when the run started: for a progress bar.
///
/// # Errors
/// As [`verify_log`].
pub fn verify_log_keys_with_progress(
    path: impl AsRef<Path>,
    keys: &[KeySpan],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LogError> {
    let paths = LogPaths::new(path.as_ref());
    let files = log_files(&paths)?;
    let anchor = wire_anchor(&paths, &files)?;
    let mut checker = Checker::scheduled(anchor, keys);
    run(&files, &mut checker, progress)?;
    Ok(checker.report())
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
    let files = log_files(&paths)?;
    let anchor = match format {
        LogFormat::Wire => wire_anchor(&paths, &files)?,
        LogFormat::LegacyPython => ChainAnchor::Genesis,
    };
    let mut checker = Checker::new(format, anchor, key);
    run(&files, &mut checker, progress)?;
    Ok(checker.report())
}

/// The rotated segments, oldest first, then the active file.
fn log_files(paths: &LogPaths) -> Result<Vec<PathBuf>, LogError> {
    let mut files: Vec<PathBuf> = paths.list_segments()?.into_iter().map(|(_, p)| p).collect();
    files.push(paths.base().to_path_buf());
    Ok(files)
}

/// Feeds every line of `files` to `checker` until the end or the first break, reporting
/// the bytes read so far after each entry.
fn run(
    files: &[PathBuf],
    checker: &mut Checker<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), LogError> {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let mut before = 0u64;
    let mut buf = Vec::new();
    for file_path in files {
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
                    return Ok(());
                }
                Line::Complete => {
                    if checker.push(&buf).is_err() {
                        return Ok(());
                    }
                    let done = before + lines.line_start() + buf.len() as u64 + 1;
                    progress(done.min(total), total);
                }
            }
        }
        before += size;
    }
    Ok(())
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
    Wire(BatchChainVerifier<'k>),
    Legacy(LegacyPyChainVerifier<'k>),
    Scheduled(Schedule<'k>),
    Boundaries(Boundaries<'k>),
}

/// Wire-format verification under keys whose first seqs are all known (a device's key
/// history): one [`BatchChainVerifier`] for the whole chain, its key switched at each
/// boundary, so the signatures are checked in batches as under one key.
struct Boundaries<'k> {
    spans: &'k [KeySpan],
    /// The span in force.
    current: usize,
    chain: BatchChainVerifier<'k>,
}

impl<'k> Boundaries<'k> {
    /// Checks one line, switching keys where the spans say.
    fn push_line(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        // The seq decides the key; a line that does not parse is reported by the verifier.
        if let Ok(e) = SignedAuditEntry::parse_line(line) {
            let spans: &'k [KeySpan] = self.spans;
            let span = known_span(spans, self.current, e.entry.seq);
            if span != self.current
                && let Some(next) = spans.get(span)
            {
                self.current = span;
                self.chain.set_key(&next.key);
            }
            return self.chain.push(&e);
        }
        self.chain.push_line(line)
    }
}

/// The span that signs `seq` as far as known boundaries tell, from span `current` on: the
/// last one whose first seq is known and at or before `seq`, stopping at the first span of
/// unknown start.
fn known_span(spans: &[KeySpan], current: usize, seq: u64) -> usize {
    let mut at = current;
    while let Some(next) = spans.get(at + 1) {
        match next.from_seq {
            Some(first) if seq >= first => at += 1,
            _ => break,
        }
    }
    at
}

/// Wire-format verification under a sequence of keys: one [`ChainVerifier`] per key,
/// each anchored where the previous one stopped.
struct Schedule<'k> {
    spans: &'k [KeySpan],
    /// The span in force.
    current: usize,
    chain: Option<ChainVerifier<'k>>,
    /// The anchor for the first verifier.
    anchor: ChainAnchor,
}

impl<'k> Schedule<'k> {
    /// Checks one parsed entry, switching keys where the schedule says.
    fn push(&mut self, e: &SignedAuditEntry<'_>) -> Result<(), BreakCode> {
        let seq = e.entry.seq;
        let spans: &'k [KeySpan] = self.spans;
        let known = known_span(spans, self.current, seq);
        if known != self.current {
            self.switch(known);
        }
        let Some(span) = spans.get(self.current) else {
            return Err(BreakCode::InvalidSignature);
        };
        let chain = self
            .chain
            .get_or_insert_with(|| ChainVerifier::new(self.anchor, &span.key));
        match chain.push(e) {
            Ok(()) => Ok(()),
            Err(b) if b.code == BreakCode::InvalidSignature => {
                // A later key of unknown start may have taken over here.
                let later = spans
                    .iter()
                    .enumerate()
                    .skip(self.current + 1)
                    .take_while(|(_, s)| s.from_seq.is_none())
                    .find(|(_, s)| s.key.verify_hash(&e.hash, &e.signature).is_ok())
                    .map(|(i, _)| i);
                let Some(i) = later else {
                    return Err(b.code);
                };
                self.switch(i);
                let anchor = self.anchor;
                let key = &spans.get(i).ok_or(b.code)?.key;
                let chain = self.chain.insert(ChainVerifier::new(anchor, key));
                chain.push(e).map_err(|b| b.code)
            }
            Err(b) => Err(b.code),
        }
    }

    /// Moves to span `i`, anchoring its verifier after the last verified entry.
    fn switch(&mut self, i: usize) {
        if let Some(chain) = self.chain.take() {
            self.anchor = match chain.last() {
                Some((seq, hash)) => ChainAnchor::After { seq, hash },
                None => ChainAnchor::Genesis,
            };
        }
        self.current = i;
    }
}

impl<'k> Checker<'k> {
    fn new(format: LogFormat, anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        let verifier = match format {
            LogFormat::Wire => Verifier::Wire(BatchChainVerifier::new(anchor, key)),
            LogFormat::LegacyPython => Verifier::Legacy(LegacyPyChainVerifier::new(anchor, key)),
        };
        Self::starting(verifier, anchor)
    }

    fn scheduled(anchor: ChainAnchor, spans: &'k [KeySpan]) -> Self {
        // Every boundary known (one key, or the device's key history): batched, the key
        // switched at each boundary. A key of unknown start needs the one-by-one schedule,
        // which tries it where the current key fails.
        let verifier = match spans.split_first() {
            Some((first, rest)) if rest.iter().all(|s| s.from_seq.is_some()) => {
                Verifier::Boundaries(Boundaries {
                    spans,
                    current: 0,
                    chain: BatchChainVerifier::new(anchor, &first.key),
                })
            }
            _ => Verifier::Scheduled(Schedule {
                spans,
                current: 0,
                chain: None,
                anchor,
            }),
        };
        Self::starting(verifier, anchor)
    }

    /// A checker that has seen no entry yet.
    fn starting(verifier: Verifier<'k>, anchor: ChainAnchor) -> Self {
        Self {
            verifier,
            anchor,
            verified: 0,
            first_break: None,
        }
    }

    fn push(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        if let Some(b) = self.first_break {
            return Err(b);
        }
        let index = self.verified;
        let res = match &mut self.verifier {
            Verifier::Wire(v) => v.push_line(line),
            Verifier::Legacy(v) => v.push_line(line),
            Verifier::Boundaries(v) => v.push_line(line),
            Verifier::Scheduled(s) => match SignedAuditEntry::parse_line(line) {
                Ok(e) => s.push(&e).map_err(|code| ChainBreak {
                    index,
                    seq: Some(e.entry.seq),
                    code,
                }),
                Err(_) => Err(ChainBreak {
                    index,
                    seq: None,
                    code: BreakCode::InvalidEntry,
                }),
            },
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

    /// Checks the signatures still pending and reports.
    fn report(self) -> VerifyReport {
        let (verified, first_break) = match self.verifier {
            // A pushed entry may still wait for its batch: the verifier's own verdict
            // says how many verified (every entry before the first break).
            Verifier::Wire(v) | Verifier::Boundaries(Boundaries { chain: v, .. }) => {
                match v.finish() {
                    Ok(head) => (head.entries, None),
                    Err(b) => (b.index, Some(b)),
                }
            }
            _ => (self.verified, self.first_break),
        };
        let anchored_after = match self.anchor {
            ChainAnchor::After { seq, .. } => Some(seq),
            ChainAnchor::Genesis => None,
        };
        // Verified entries have consecutive seqs from the anchor's.
        let last_seq = anchored_after.unwrap_or(0).saturating_add(verified);
        VerifyReport {
            entries: verified,
            last_seq,
            anchored_after,
            first_break,
        }
    }
}
