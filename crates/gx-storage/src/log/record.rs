//! What goes into an append ([`EntryFields`]) and what comes out of the log ([`LogRecord`]).

use gx_core::{EntryError, EntryHash, SignedAuditEntry};

/// The longest entry line (without its newline) a log accepts: 960 KiB.
///
/// A sync request body may be at most 1 MiB (`protocol.md`), and the sync client keeps
/// its bodies under 1000 KiB; 960 KiB leaves room for the request's `bundleId`,
/// `deviceId` and framing, so any entry the log accepts fits in a request of its own. An
/// append past it fails with [`LogError::EntryTooLarge`](crate::LogError::EntryTooLarge);
/// reading refuses longer lines without holding them.
pub const MAX_ENTRY_BYTES: usize = 960 * 1024;

/// The caller-chosen fields of one entry. The log adds `seq`, `timestamp`, `prevHash`,
/// `hash` and `signature`.
///
/// [`AuditLog::append`](crate::AuditLog::append) fills the subject (`agent_did`,
/// `grant_id`, `scopes`) from a verified grant; this struct lets callers without one
/// (tests, tools) append directly.
#[derive(Clone, Copy, Debug)]
pub struct EntryFields<'a> {
    /// What the agent did, e.g. `"tool:read_contacts"` (1..256 chars).
    pub action: &'a str,
    /// The agent's DID (1..512 chars).
    pub agent_did: &'a str,
    /// The grant the action ran under (1..128 chars).
    pub grant_id: &'a str,
    /// The grant's scopes (1..100 strings of 1..256 chars).
    pub scopes: &'a [&'a str],
    /// The outcome, e.g. `"success"` (1..64 chars).
    pub result: &'a str,
    /// Optional metadata: the text of one JSON object.
    pub metadata: Option<&'a str>,
}

/// One entry as stored: its seq, its hash and its exact JSONL line.
///
/// The line is the wire form of the protocol, ready to be put in a sync request's
/// `entries` array as is. Parse it with gx-core when the fields are needed.
#[derive(Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub(crate) seq: u64,
    pub(crate) hash: EntryHash,
    pub(crate) line: String,
}

impl LogRecord {
    /// The entry's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The entry's hash (its `Display` is the 64 lowercase hex characters of the line).
    pub fn hash(&self) -> EntryHash {
        self.hash
    }

    /// Parses the line back into gx-core's entry, e.g. to show its fields.
    ///
    /// # Errors
    /// Never for a record read from a log gx opened (every line was parsed on the way);
    /// the [`EntryError`] of the parse otherwise.
    pub fn entry(&self) -> Result<SignedAuditEntry<'_>, EntryError> {
        SignedAuditEntry::parse_line(self.line.as_bytes())
    }

    /// The JSON line, without its trailing newline.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Takes the JSON line out of the record.
    pub fn into_line(self) -> String {
        self.line
    }
}

impl core::fmt::Debug for LogRecord {
    /// Shows the seq and hash only: entries may carry personal data in their metadata.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogRecord")
            .field("seq", &self.seq)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}
