//! The bridge to gx-core: build, hash and sign one entry line, and read one line back.
//!
//! All protocol knowledge (field order, shape rules, the entry hash, the signature)
//! lives in gx-core; this module only moves bytes between it and the files.

use gx_core::{
    AuditEntry, AuditSigningKey, AuditStr, EntryError, EntryHash, Metadata, PrevHash, Scopes,
    SignedAuditEntry, UnixTime, WriteError,
};

use super::{EntryFields, LogError};

/// The end of the chain: the last seq, its hash and its timestamp (seq 0: empty chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub(crate) seq: u64,
    pub(crate) hash: PrevHash,
    pub(crate) timestamp: UnixTime,
}

impl ChainHead {
    pub(crate) const GENESIS: Self = Self {
        seq: 0,
        hash: PrevHash::Genesis,
        timestamp: UnixTime::EPOCH,
    };
}

/// What the log needs to know about a stored line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineInfo {
    pub(crate) seq: u64,
    pub(crate) prev: PrevHash,
    pub(crate) hash: EntryHash,
    pub(crate) timestamp: UnixTime,
}

/// Reads one stored line (without its newline): gx-core's strict parse, so anything the
/// service would refuse is refused here too. The hash and signature are not checked
/// (that is [`verify_log`](crate::verify_log)'s job); the returned code is a chain-break
/// code.
pub(crate) fn parse_line(line: &[u8]) -> Result<LineInfo, &'static str> {
    let e = SignedAuditEntry::parse_line(line).map_err(|_| "INVALID_ENTRY")?;
    let mut buf = [0u8; 64];
    let timestamp = e
        .entry
        .timestamp
        .write_utf8(&mut buf)
        .ok()
        .and_then(|t| UnixTime::parse_iso(t).ok())
        .ok_or("INVALID_ENTRY")?;
    Ok(LineInfo {
        seq: e.entry.seq,
        prev: e.entry.prev_hash,
        hash: e.hash,
        timestamp,
    })
}

/// Appends the line (with its newline) of the entry after `head` to `out`, and returns
/// the new head and the entry's hash. On error `out` is unchanged: gx-core's reason for
/// an entry it refuses ([`LogError::InvalidEntry`]).
pub(crate) fn encode_entry(
    head: &ChainHead,
    timestamp: UnixTime,
    fields: &EntryFields<'_>,
    key: &AuditSigningKey,
    out: &mut Vec<u8>,
) -> Result<(ChainHead, EntryHash), LogError> {
    let seq = head
        .seq
        .checked_add(1)
        .ok_or(LogError::InvalidEntry(EntryError::BadSeq))?;
    let iso = timestamp
        .to_iso_bytes()
        .map_err(|_| LogError::InvalidEntry(EntryError::BadTimestamp))?;
    let ts =
        core::str::from_utf8(&iso).map_err(|_| LogError::InvalidEntry(EntryError::BadTimestamp))?;
    let metadata = match fields.metadata {
        Some(m) => {
            Some(Metadata::parse(m).map_err(|e| LogError::InvalidEntry(EntryError::Metadata(e)))?)
        }
        None => None,
    };
    let entry = AuditEntry {
        seq,
        timestamp: AuditStr::new(ts),
        action: AuditStr::new(fields.action),
        agent_did: AuditStr::new(fields.agent_did),
        grant_id: AuditStr::new(fields.grant_id),
        scopes: Scopes::new(fields.scopes),
        result: AuditStr::new(fields.result),
        metadata,
        prev_hash: head.hash,
    };
    let signed = key.sign_entry(entry).map_err(LogError::InvalidEntry)?;
    let len = signed.json_len().map_err(LogError::EntryNotWritten)? + 1;
    let start = out.len();
    out.resize(start + len, 0);
    let written = match out.get_mut(start..) {
        Some(buf) => signed.write_line(buf),
        None => Err(WriteError::Full),
    };
    match written {
        Ok(n) if n == len => Ok((
            ChainHead {
                seq,
                hash: PrevHash::Entry(signed.hash),
                timestamp,
            },
            signed.hash,
        )),
        Ok(_) => {
            out.truncate(start);
            Err(LogError::EntryNotWritten(WriteError::Full))
        }
        Err(e) => {
            out.truncate(start);
            Err(LogError::EntryNotWritten(e))
        }
    }
}
