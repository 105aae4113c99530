//! The Python client's (`grantex-gemma` 0.1.x) own audit log format: read and verify
//! only.
//!
//! **The hosted Grantex service rejects these entries.** Their field names, genesis,
//! hash and signature encoding all differ from the wire format, so they can never be
//! synced; gx reads them only so that a device migrating from the Python client can
//! prove its old log intact. New entries are always written in the wire format.
//!
//! The format, one JSON object per line:
//! - snake_case fields `seq, timestamp, action, agent_did, grant_id, scopes, result,
//!   metadata, prev_hash, hash, signature`;
//! - genesis `prev_hash` is 64 zeros ([`LEGACY_GENESIS_PREV_HASH`]);
//! - `hash` = SHA-256 of Python's `json.dumps(fields, sort_keys=True,
//!   separators=(",", ":"))` over every field but `hash` and `signature` (keys sorted
//!   by code point at every level, non-ASCII escaped as `\uXXXX`, integers exact,
//!   floats as `repr`);
//! - `signature` = padded base64url of Ed25519 over the 64 hex characters of `hash`.

use base64ct::{Base64Url, Encoding};
use sha2::{Digest, Sha256};

use super::chain::{ChainAnchor, ChainHead, Progress};
use super::entry::{EntryHash, EntrySignature, PrevHash};
use super::error::{BreakCode, ChainBreak, EntryError, Field, MetadataError, WriteError};
use super::fields::{self, Fields, Format, parse_seq};
use super::json::{self, Style};
use super::keys::AuditVerifyingKey;
use super::text::{AuditStr, Metadata, Scopes, canonicalize};

/// The legacy genesis `prev_hash`: 64 zeros (the wire format uses 16).
pub const LEGACY_GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The Python client's member names and encodings.
struct LegacyPy;

impl Format for LegacyPy {
    const RENAMED: [&'static str; 3] = ["agent_did", "grant_id", "prev_hash"];
    const NULL_METADATA: bool = true;

    /// Plain digits only (the whole line was validated, so anything that is not a
    /// number is of the wrong type).
    fn seq(text: &str, i: usize) -> Result<(u64, usize), EntryError> {
        let span = crate::json::number(text.as_bytes(), i)
            .map_err(|_| EntryError::WrongType(Field::Seq))?;
        let digits = text.get(span.start..span.end).unwrap_or_default();
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(EntryError::BadSeq);
        }
        Ok((parse_seq(digits)?, span.end))
    }

    /// Any 64 hex digits; all zeros is the genesis.
    fn prev_hash(text: &str) -> Result<PrevHash, EntryError> {
        let h = EntryHash::from_hex(text).map_err(|_| EntryError::BadHex(Field::PrevHash))?;
        Ok(if h.as_bytes() == &[0; 32] {
            PrevHash::Genesis
        } else {
            PrevHash::Entry(h)
        })
    }

    /// Padded base64url of the 64 signature bytes.
    fn signature(text: &str) -> Result<EntrySignature, EntryError> {
        let mut s = [0u8; 64];
        match Base64Url::decode(text, &mut s) {
            Ok(d) if d.len() == 64 => Ok(EntrySignature::from_bytes(s)),
            _ => Err(EntryError::BadBase64(Field::Signature)),
        }
    }
}

/// One parsed line of a Python-client log. Borrowed from the line.
///
/// **Not accepted by the hosted service**; see the module docs.
#[derive(Clone, Copy, Debug)]
pub struct LegacyPyEntry<'a> {
    line: &'a str,
    slots: usize,
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The timestamp as written (Python `isoformat()`).
    pub timestamp: AuditStr<'a>,
    /// What the agent did.
    pub action: AuditStr<'a>,
    /// The agent's DID.
    pub agent_did: AuditStr<'a>,
    /// The grant id.
    pub grant_id: AuditStr<'a>,
    /// The scopes used.
    pub scopes: Scopes<'a>,
    /// Outcome.
    pub result: AuditStr<'a>,
    /// Metadata (absent or `null` give `None`).
    pub metadata: Option<Metadata<'a>>,
    /// Link to the previous entry; [`PrevHash::Genesis`] for the 64-zero genesis.
    pub prev_hash: PrevHash,
    /// The hash as claimed.
    pub hash: EntryHash,
    /// The signature, decoded from base64url.
    pub signature: EntrySignature,
}

impl<'a> LegacyPyEntry<'a> {
    /// Parses one line of a Python-client log (unknown or repeated fields refused).
    ///
    /// # Errors
    /// An [`EntryError`] naming the problem.
    pub fn parse_line(line: &'a [u8]) -> Result<Self, EntryError> {
        let text = core::str::from_utf8(line).map_err(|_| EntryError::NotUtf8)?;
        let shape = json::validate_object(text.as_bytes()).map_err(|e| match e {
            MetadataError::Syntax { offset } => EntryError::Syntax { offset },
            MetadataError::NotAnObject => EntryError::NotAnObject,
            other => EntryError::Metadata(other),
        })?;
        let Fields {
            entry,
            hash,
            signature,
        } = fields::read::<LegacyPy>(text)?;
        Ok(Self {
            line: text,
            slots: shape.slots,
            seq: entry.seq,
            timestamp: entry.timestamp,
            action: entry.action,
            agent_did: entry.agent_did,
            grant_id: entry.grant_id,
            scopes: entry.scopes,
            result: entry.result,
            metadata: entry.metadata,
            prev_hash: entry.prev_hash,
            hash,
            signature,
        })
    }

    /// Recomputes the legacy hash: SHA-256 of Python's sorted-key, ASCII-escaped
    /// `json.dumps` of every field but `hash` and `signature`.
    ///
    /// # Errors
    /// [`EntryError::Metadata`] when the line needs more working memory than available.
    pub fn computed_hash(&self) -> Result<EntryHash, EntryError> {
        let mut h = Sha256::new();
        canonicalize(
            self.line.as_bytes(),
            self.slots,
            Style::Py,
            &["hash", "signature"],
            &mut h,
        )
        .map_err(|e| match e {
            WriteError::Metadata(m) => EntryError::Metadata(m),
            _ => EntryError::Metadata(MetadataError::TooComplex),
        })?;
        Ok(EntryHash::from_bytes(h.finalize().into()))
    }

    /// Checks the recomputed hash and the signature under `key`.
    ///
    /// # Errors
    /// [`BreakCode::InvalidEntry`], [`BreakCode::InvalidHash`] or
    /// [`BreakCode::InvalidSignature`].
    pub fn verify(&self, key: &AuditVerifyingKey) -> Result<(), BreakCode> {
        let hash = self.computed_hash().map_err(|_| BreakCode::InvalidEntry)?;
        if hash != self.hash {
            return Err(BreakCode::InvalidHash);
        }
        key.verify_hash(&self.hash, &self.signature)
    }
}

/// Verifies a Python-client log one line at a time, in constant memory, with the same
/// codes and first-break-wins rule as [`ChainVerifier`](super::ChainVerifier); genesis
/// is `seq` 1 with the 64-zero `prev_hash`.
///
/// **A log that verifies here is still not accepted by the hosted service.**
#[derive(Clone, Debug)]
pub struct LegacyPyChainVerifier<'k> {
    key: &'k AuditVerifyingKey,
    progress: Progress,
}

impl<'k> LegacyPyChainVerifier<'k> {
    /// A verifier from `anchor` (an anchor hash is the previous entry's legacy hash).
    pub fn new(anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        Self {
            key,
            progress: Progress::new(anchor),
        }
    }

    /// Checks the next entry.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn push(&mut self, e: &LegacyPyEntry<'_>) -> Result<(), ChainBreak> {
        let key = self.key;
        self.progress
            .push(e.seq, e.prev_hash, e.hash, || e.verify(key))
    }

    /// Parses and checks one line; a line that does not parse is `INVALID_ENTRY`.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        self.progress.sticky()?;
        match LegacyPyEntry::parse_line(line) {
            Ok(e) => self.push(&e),
            Err(_) => Err(self.progress.unparsable()),
        }
    }

    /// Ends verification.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn finish(self) -> Result<ChainHead, ChainBreak> {
        self.progress.finish()
    }
}
