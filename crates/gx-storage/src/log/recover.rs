//! Opening a log after whatever happened to it: find the segments, repair a torn last
//! line, and find the chain head (last seq and hash) to continue from.
//!
//! Only the active segment can end in a torn line: a segment is fsynced before it is
//! renamed into place. Repair truncates the file to its last complete line, which never
//! loses an acknowledged entry (an append returns only after its newline is written).
//! Any other damage is an error that names the file and line; the log is left as found.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use gx_core::UnixTime;
use serde_json::Value;

use super::LogError;
use gx_core::audit::{EntryHash, PrevHash};

use super::codec::ChainHead;
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
    pub(crate) torn_bytes: u64,
}

/// Opens (creating if needed) the active segment for appending.
pub(crate) fn open_active(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| LogError::io("open", path, e))
}

pub(crate) fn recover(paths: &LogPaths) -> Result<Recovered, LogError> {
    let cursor = SyncCursor::at(paths.cursor()).load()?;
    let listed = paths.list_segments()?;
    let base = paths.base();
    let active = crate::fault::call(FaultPoint::LogOpen, base, || {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(base)
    })
    .map_err(|e| LogError::io("open", base, e))?;
    let scan = segment::scan(base, &active)?;
    let mut torn_bytes = 0;
    if scan.torn_bytes > 0 {
        crate::fault::call(FaultPoint::LogTruncate, base, || {
            active.set_len(scan.valid_len)?;
            active.sync_all()
        })
        .map_err(|e| LogError::io("truncate torn line", base, e))?;
        torn_bytes = scan.torn_bytes;
    }

    // The chain head: the active segment's last entry, else the newest segment's, else
    // the TypeScript client's head file, else genesis (only if nothing was ever synced).
    let mut newest_scan: Option<Scan> = None;
    let head = if let Some(last) = scan.last {
        head_of(last.seq, last.hash, last.timestamp)
    } else if let Some((_, path)) = listed.last() {
        let file = File::open(path).map_err(|e| LogError::io("open", path, e))?;
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
        let len = std::fs::metadata(path)
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
        torn_bytes,
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
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io("read", path, e)),
    };
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
