//! Opening a log after whatever happened to it: find the segments, repair a torn last
//! line, and find the chain head (last seq and hash) to continue from.
//!
//! Only the active segment can end in a torn line: a segment is fsynced before it is
//! renamed into place. Repair truncates the file to its last complete line, which never
//! loses an acknowledged entry (an append returns only after its newline is written), and
//! only when what follows that line is what a crash can leave (a prefix of one entry, or
//! NUL bytes) and the sync cursor does not say the server holds more than the file keeps.
//! Every repair is reported ([`RepairReport`]). Any other damage is an error that names
//! the file and line; the log is left as found.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

use gx_core::UnixTime;
use serde_json::Value;

use super::LogError;
use gx_core::{EntryHash, PrevHash};

use super::RepairReport;
use super::codec::ChainHead;
use super::lock::{self, LockWait};
use super::open::{self, Access, Opened};
use super::segment::{self, LogPaths, Scan};
use crate::SyncCursor;
use crate::fault::FaultPoint;

/// A rotated segment and the seqs it holds.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) last: u64,
    pub(crate) len: u64,
    pub(crate) path: PathBuf,
}

/// Everything `AuditLog::open` needs to start appending.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) active: File,
    pub(crate) active_len: u64,
    pub(crate) active_first: Option<u64>,
    pub(crate) segments: VecDeque<Segment>,
    pub(crate) head: ChainHead,
    pub(crate) cursor: u64,
    pub(crate) repair: Option<RepairReport>,
}

/// Opens the active segment for appending, creating it (mode 0600) if missing, never
/// through a symlink.
pub(crate) fn open_active(path: &Path) -> Result<Opened, LogError> {
    open::open(path, Access::Append).map_err(|e| e.into_log("open", path))
}

/// Takes the lock on the active segment, then finds where the log stands, repairing what
/// a crash left at its end (and reporting it) unless that would cut a synced entry.
pub(crate) fn recover(paths: &LogPaths, wait: &LockWait) -> Result<Recovered, LogError> {
    let base = paths.base();
    let opened = lock::open_locked_active(base, wait, || {
        crate::fault::call(FaultPoint::LogOpen, base, || Ok(()))
            .map_err(|e| LogError::io("open", base, e))?;
        open_active(base)
    })?;
    if opened.created {
        // The new name must survive a power cut like the entries written under it.
        segment::sync_dir(paths)?;
    }
    let active = opened.file;
    let cursor = SyncCursor::at(paths.cursor()).load()?;
    let listed = paths.list_segments()?;
    let scan = segment::scan(base, &active)?;

    // The chain head: the active segment's last entry, else the newest segment's, else
    // the TypeScript client's head file, else genesis (only if nothing was ever synced).
    let mut newest_scan: Option<Scan> = None;
    let head = if let Some(last) = scan.last {
        head_of(last.seq, last.hash, last.timestamp)
    } else if let Some((_, path)) = listed.last() {
        let file = open::open_read(path).map_err(|e| e.into_log("open", path))?;
        let s = segment::scan(path, &file)?;
        let Some(last) = s.last.filter(|_| s.torn_bytes == 0) else {
            return Err(LogError::CorruptLine {
                path: path.clone(),
                line: 1,
                code: "INVALID_ENTRY",
            });
        };
        newest_scan = Some(s);
        head_of(last.seq, last.hash, last.timestamp)
    } else if let Some(head) = read_ts_head(&paths.ts_head())? {
        head
    } else if cursor > 0 {
        return Err(LogError::HeadLost {
            path: base.to_path_buf(),
            synced_seq: cursor,
        });
    } else {
        ChainHead::GENESIS
    };

    if head.seq < cursor {
        // The cursor says the server holds entries the log no longer has whole: cutting
        // or continuing would reissue a confirmed seq with another hash.
        return Err(LogError::SyncedEntryDamaged {
            path: base.to_path_buf(),
            last_intact: head.seq,
            synced_seq: cursor,
        });
    }
    let mut repair = None;
    if let Some(kind) = scan.tail.filter(|_| scan.torn_bytes > 0) {
        crate::fault::call(FaultPoint::LogTruncate, base, || {
            active.set_len(scan.valid_len)?;
            active.sync_all()
        })
        .map_err(|e| LogError::io("truncate torn line", base, e))?;
        repair = Some(RepairReport {
            path: base.to_path_buf(),
            offset: scan.valid_len,
            removed: scan.torn_bytes,
            kind,
            last_seq: head.seq,
        });
    }

    let active_first = scan.first.map(|f| f.seq);
    let mut segments = VecDeque::with_capacity(listed.len());
    let mut iter = listed.iter().peekable();
    while let Some((_, path)) = iter.next() {
        let last = match iter.peek() {
            Some((next_first, _)) => next_first.saturating_sub(1),
            None => match (active_first, &newest_scan) {
                (Some(f), _) => f.saturating_sub(1),
                (None, Some(s)) => s.last.map_or(head.seq, |l| l.seq),
                (None, None) => head.seq,
            },
        };
        let len = std::fs::symlink_metadata(path)
            .map_err(|e| LogError::io("stat", path, e))?
            .len();
        segments.push_back(Segment {
            last,
            len,
            path: path.clone(),
        });
    }

    Ok(Recovered {
        active,
        active_len: scan.valid_len,
        active_first,
        segments,
        head,
        cursor,
        repair,
    })
}

fn head_of(seq: u64, hash: EntryHash, timestamp: UnixTime) -> ChainHead {
    ChainHead {
        seq,
        hash: PrevHash::Entry(hash),
        timestamp,
    }
}

/// Reads `<log>.head` (`{"seq":N,"prevHash":"..."}`), which the TypeScript client writes
/// before rotating its log away: the last seq and the hash to link the next entry to.
fn read_ts_head(path: &Path) -> Result<Option<ChainHead>, LogError> {
    let file = match open::open_read(path) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into_log("read", path)),
    };
    // The file is `{"seq":N,"prevHash":"<64 hex>"}`: a few dozen bytes.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 4096), &mut bytes)
        .map_err(|e| LogError::io("read", path, e))?;
    let corrupt = || LogError::CorruptLine {
        path: path.to_path_buf(),
        line: 1,
        code: "INVALID_ENTRY",
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
    let seq = value
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(corrupt)?;
    let hash = value
        .get("prevHash")
        .and_then(Value::as_str)
        .and_then(|t| PrevHash::from_wire(t).ok())
        .ok_or_else(corrupt)?;
    Ok(Some(ChainHead {
        seq,
        hash,
        timestamp: UnixTime::EPOCH,
    }))
}
