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

use super::chain::{ChainAnchor, ChainHead, Links};
use super::entry::{EntryHash, EntrySignature, PrevHash};
use super::error::{BreakCode, ChainBreak, EntryError, Field, WriteError};
use super::json::{self, Style, body_is, scan_number};
use super::keys::AuditVerifyingKey;
use super::line::{members, parse_seq, scopes_at, string_at};
use super::text::{AuditStr, Metadata, Scopes, canonicalize};

/// The legacy genesis `prev_hash`: 64 zeros (the wire format uses 16).
pub const LEGACY_GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

const FIELDS: [(&str, Field); 11] = [
    ("seq", Field::Seq),
    ("timestamp", Field::Timestamp),
    ("action", Field::Action),
    ("agent_did", Field::AgentDid),
    ("grant_id", Field::GrantId),
    ("scopes", Field::Scopes),
    ("result", Field::Result),
    ("metadata", Field::Metadata),
    ("prev_hash", Field::PrevHash),
    ("hash", Field::Hash),
    ("signature", Field::Signature),
];

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
            super::error::MetadataError::Syntax { offset } => EntryError::Syntax { offset },
            super::error::MetadataError::NotAnObject => EntryError::NotAnObject,
            other => EntryError::Metadata(other),
        })?;
        let mut seen = 0u16;
        let mut seq = None;
        let mut strs: [Option<AuditStr<'a>>; 5] = [None; 5];
        let mut scopes = None;
        let mut metadata = None;
        let mut prev = None;
        let mut hash = None;
        let mut sig = None;
        members(text, |key, esc, koff, i| {
            let (k, field) = FIELDS
                .iter()
                .enumerate()
                .find(|(_, (name, _))| body_is(key, esc, name))
                .map(|(k, (_, f))| (k, *f))
                .ok_or(EntryError::UnknownField { offset: koff })?;
            if seen & (1 << k) != 0 {
                return Err(EntryError::DuplicateField(field));
            }
            seen |= 1 << k;
            let b = text.as_bytes();
            match field {
                Field::Seq => {
                    let end = scan_number(b, i).map_err(|_| EntryError::WrongType(field))?;
                    let digits = text.get(i..end).unwrap_or_default();
                    if !digits.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(EntryError::BadSeq);
                    }
                    seq = Some(parse_seq(digits)?);
                    Ok(end)
                }
                Field::Scopes => {
                    let (s, end) = scopes_at(text, i)?;
                    scopes = Some(s);
                    Ok(end)
                }
                Field::Metadata => {
                    if b.get(i..i + 4) == Some(b"null") {
                        return Ok(i + 4);
                    }
                    let (m, end) = super::line::metadata_at(text, i)?;
                    metadata = Some(m);
                    Ok(end)
                }
                Field::PrevHash | Field::Hash | Field::Signature => {
                    let (body, esc, end) = string_at(text, i, field)?;
                    if esc {
                        return Err(EntryError::BadHex(field));
                    }
                    match field {
                        Field::PrevHash => {
                            let h =
                                EntryHash::from_hex(body).map_err(|_| EntryError::BadHex(field))?;
                            prev = Some(if h.as_bytes() == &[0; 32] {
                                PrevHash::Genesis
                            } else {
                                PrevHash::Entry(h)
                            });
                        }
                        Field::Hash => hash = Some(EntryHash::from_hex(body)?),
                        _ => {
                            let mut s = [0u8; 64];
                            match Base64Url::decode(body, &mut s) {
                                Ok(d) if d.len() == 64 => sig = Some(EntrySignature::from_bytes(s)),
                                _ => return Err(EntryError::BadBase64(field)),
                            }
                        }
                    }
                    Ok(end)
                }
                _ => {
                    let (body, esc, end) = string_at(text, i, field)?;
                    let slot = match field {
                        Field::Timestamp => 0,
                        Field::Action => 1,
                        Field::AgentDid => 2,
                        Field::GrantId => 3,
                        _ => 4,
                    };
                    if let Some(s) = strs.get_mut(slot) {
                        *s = Some(AuditStr::from_body(body, esc));
                    }
                    Ok(end)
                }
            }
        })?;
        let [ts, action, agent, grant, result] = strs;
        let missing = EntryError::MissingField;
        let e = Self {
            line: text,
            slots: shape.slots,
            seq: seq.ok_or(missing(Field::Seq))?,
            timestamp: ts.ok_or(missing(Field::Timestamp))?,
            action: action.ok_or(missing(Field::Action))?,
            agent_did: agent.ok_or(missing(Field::AgentDid))?,
            grant_id: grant.ok_or(missing(Field::GrantId))?,
            scopes: scopes.ok_or(missing(Field::Scopes))?,
            result: result.ok_or(missing(Field::Result))?,
            metadata,
            prev_hash: prev.ok_or(missing(Field::PrevHash))?,
            hash: hash.ok_or(missing(Field::Hash))?,
            signature: sig.ok_or(missing(Field::Signature))?,
        };
        Ok(e)
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
            _ => EntryError::Metadata(super::error::MetadataError::TooComplex),
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
    links: Links,
    index: u64,
    broken: Option<ChainBreak>,
}

impl<'k> LegacyPyChainVerifier<'k> {
    /// A verifier from `anchor` (an anchor hash is the previous entry's legacy hash).
    pub fn new(anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        Self {
            key,
            links: Links::new(anchor),
            index: 0,
            broken: None,
        }
    }

    /// Checks the next entry.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn push(&mut self, e: &LegacyPyEntry<'_>) -> Result<(), ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let index = self.index;
        self.index += 1;
        match e
            .verify(self.key)
            .and_then(|()| self.links.check(e.seq, e.prev_hash))
        {
            Ok(()) => {
                self.links.advance(e.seq, e.hash);
                Ok(())
            }
            Err(code) => {
                let b = ChainBreak {
                    index,
                    seq: Some(e.seq),
                    code,
                };
                self.broken = Some(b);
                Err(b)
            }
        }
    }

    /// Parses and checks one line; a line that does not parse is `INVALID_ENTRY`.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        match LegacyPyEntry::parse_line(line) {
            Ok(e) => self.push(&e),
            Err(_) => {
                let b = ChainBreak {
                    index: self.index,
                    seq: None,
                    code: BreakCode::InvalidEntry,
                };
                self.index += 1;
                self.broken = Some(b);
                Err(b)
            }
        }
    }

    /// Ends verification.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn finish(self) -> Result<ChainHead, ChainBreak> {
        match self.broken {
            Some(b) => Err(b),
            None => Ok(ChainHead {
                entries: self.index,
                last: self.links.last(),
            }),
        }
    }
}
