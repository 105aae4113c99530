//! The entry model: [`AuditEntry`], [`SignedAuditEntry`], hashes, signatures, and the
//! entry hash of the protocol.
//!
//! The hash is SHA-256 over `seq|timestamp|action|agentDID|grantId|scopes|result|M|prevHash`
//! (scopes joined by `,`, `M` the metadata as `JSON.stringify(JSON.parse(text))` or empty),
//! computed by streaming every part straight into the hasher: no buffer is needed.

use core::fmt;

use sha2::{Digest, Sha256};

use super::error::{EntryError, Field, WriteError};
use super::sink::Sink;
use super::text::{AuditStr, Metadata, Scopes};
use crate::UnixTime;

/// The `prevHash` of the first entry of a chain: sixteen zeros (not 64).
pub const GENESIS_PREV_HASH: &str = "0000000000000000";

/// Largest `seq` the protocol allows (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_SEQ: u64 = (1 << 53) - 1;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Fixed-size ASCII text (lowercase hex, base64), handed out by value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsciiBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> AsciiBuf<N> {
    pub(crate) fn from_parts(buf: [u8; N], len: usize) -> Self {
        Self {
            buf,
            len: len.min(N),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl<const N: usize> zeroize::Zeroize for AsciiBuf<N> {
    fn zeroize(&mut self) {
        self.buf.zeroize();
        self.len = 0;
    }
}

impl<const N: usize> fmt::Display for AsciiBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for AsciiBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

pub(crate) fn hex_encode<const N: usize>(bytes: &[u8]) -> AsciiBuf<N> {
    let mut buf = [0u8; N];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
        }
    }
    AsciiBuf::from_parts(buf, (bytes.len() * 2).min(N))
}

/// Each byte's value as a lowercase hex digit, or `0xff` for a byte that is not one.
const HEX_DIGIT: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes exactly `2 * out.len()` lowercase hex digits (one table lookup a digit, no
/// branch per digit: this runs three times for every entry read).
pub(crate) fn hex_decode(text: &[u8], out: &mut [u8]) -> bool {
    if text.len() != out.len() * 2 {
        return false;
    }
    let digit = |c: u8| HEX_DIGIT.get(usize::from(c)).copied().unwrap_or(0xff);
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (h, l) = match pair {
            [h, l] => (digit(*h), digit(*l)),
            _ => (0xff, 0xff),
        };
        bad |= h | l;
        *o = h << 4 | l;
    }
    bad & 0xf0 == 0
}

/// An entry hash: a SHA-256 digest, written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryHash([u8; 32]);

impl EntryHash {
    /// From the 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 64 lowercase hex characters.
    ///
    /// # Errors
    /// [`EntryError::BadHex`] for anything else.
    pub fn from_hex(hex: &str) -> Result<Self, EntryError> {
        let mut b = [0u8; 32];
        if hex_decode(hex.as_bytes(), &mut b) {
            Ok(Self(b))
        } else {
            Err(EntryError::BadHex(Field::Hash))
        }
    }

    /// The 64 lowercase hex characters (what is signed and written).
    pub fn to_hex(&self) -> AsciiBuf<64> {
        hex_encode(&self.0)
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({self})")
    }
}

/// The `prevHash` of an entry: the genesis marker or the previous entry's hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PrevHash {
    /// [`GENESIS_PREV_HASH`]: this entry starts the chain.
    Genesis,
    /// The hash of the entry before.
    Entry(EntryHash),
}

impl PrevHash {
    /// From its wire text: sixteen `0`, or 64 lowercase hex.
    ///
    /// # Errors
    /// [`EntryError::BadHex`] for anything else.
    pub fn from_wire(text: &str) -> Result<Self, EntryError> {
        if text == GENESIS_PREV_HASH {
            Ok(Self::Genesis)
        } else {
            EntryHash::from_hex(text)
                .map(Self::Entry)
                .map_err(|_| EntryError::BadHex(Field::PrevHash))
        }
    }

    /// Its wire text.
    pub fn to_wire(&self) -> AsciiBuf<64> {
        match self {
            Self::Genesis => {
                let mut b = [b'0'; 64];
                b[16..].fill(0);
                AsciiBuf::from_parts(b, 16)
            }
            Self::Entry(h) => h.to_hex(),
        }
    }
}

impl fmt::Display for PrevHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_wire().as_str())
    }
}

impl From<EntryHash> for PrevHash {
    fn from(h: EntryHash) -> Self {
        Self::Entry(h)
    }
}

/// An Ed25519 signature over the hex of an entry hash, written as 128 lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntrySignature([u8; 64]);

impl EntrySignature {
    /// From the 64 signature bytes.
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The 64 signature bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// From 128 lowercase hex characters.
    ///
    /// # Errors
    /// [`EntryError::BadHex`] for anything else.
    pub fn from_hex(hex: &str) -> Result<Self, EntryError> {
        let mut b = [0u8; 64];
        if hex_decode(hex.as_bytes(), &mut b) {
            Ok(Self(b))
        } else {
            Err(EntryError::BadHex(Field::Signature))
        }
    }

    /// The 128 lowercase hex characters.
    pub fn to_hex(&self) -> AsciiBuf<128> {
        hex_encode(&self.0)
    }
}

impl fmt::Display for EntrySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for EntrySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntrySignature({self})")
    }
}

/// An unsigned audit entry: what gets hashed.
///
/// Build one with plain strings (`AuditStr::new`, `Scopes::new`, `Metadata::parse`)
/// or get one from [`SignedAuditEntry::parse_line`]. [`AuditEntry::check_shape`] applies
/// the protocol's shape rules; signing and chain verification call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// ISO-8601 date-time, as the client wrote it (hashed verbatim).
    pub timestamp: AuditStr<'a>,
    /// What the agent did (1..=256 UTF-16 units).
    pub action: AuditStr<'a>,
    /// The agent's DID (`agentDID`, 1..=512).
    pub agent_did: AuditStr<'a>,
    /// The grant the action ran under (`grantId`, 1..=128).
    pub grant_id: AuditStr<'a>,
    /// The scopes used (1..=100, each 1..=256).
    pub scopes: Scopes<'a>,
    /// Outcome (1..=64), e.g. `success`.
    pub result: AuditStr<'a>,
    /// Optional metadata object.
    pub metadata: Option<Metadata<'a>>,
    /// Link to the previous entry.
    pub prev_hash: PrevHash,
}

fn check_len(s: &AuditStr<'_>, max: usize, field: Field) -> Result<(), EntryError> {
    if s.is_empty() {
        return Err(EntryError::BadLength(field));
    }
    // A UTF-8 byte count bounds the UTF-16 length, so short texts need no counting.
    if s.as_str().is_some_and(|p| p.len() <= max) || s.utf16_len() <= max {
        Ok(())
    } else {
        Err(EntryError::BadLength(field))
    }
}

impl AuditEntry<'_> {
    /// Checks the protocol's shape rules: `seq` a positive safe integer, `timestamp` a
    /// date-time, string lengths (in UTF-16 units), 1..=100 scopes of 1..=256.
    /// (`metadata` was validated when it was parsed; hex fields are typed.)
    ///
    /// # Errors
    /// The first rule broken.
    pub fn check_shape(&self) -> Result<(), EntryError> {
        if self.seq == 0 || self.seq > MAX_SEQ {
            return Err(EntryError::BadSeq);
        }
        let mut ts = [0u8; 64];
        let ts = self
            .timestamp
            .write_utf8(&mut ts)
            .map_err(|_| EntryError::BadTimestamp)?;
        UnixTime::parse_iso(ts).map_err(|_| EntryError::BadTimestamp)?;
        check_len(&self.action, 256, Field::Action)?;
        check_len(&self.agent_did, 512, Field::AgentDid)?;
        check_len(&self.grant_id, 128, Field::GrantId)?;
        if self.scopes.is_empty() || self.scopes.len() > 100 {
            return Err(EntryError::BadLength(Field::Scopes));
        }
        for s in self.scopes.iter() {
            check_len(&s, 256, Field::Scopes)?;
        }
        check_len(&self.result, 64, Field::Result)
    }

    /// The entry hash (see [`entry_hash`]).
    ///
    /// # Errors
    /// [`EntryError::Metadata`] when the metadata needs more working memory than
    /// available (see [`METADATA_MEMBER_SLOTS`](crate::audit::METADATA_MEMBER_SLOTS)).
    pub fn hash(&self) -> Result<EntryHash, EntryError> {
        entry_hash(self)
    }

    /// Writes the protocol's hash input (`seq|timestamp|...|prevHash`).
    pub(crate) fn put_hash_input<S: Sink + ?Sized>(&self, out: &mut S) -> Result<(), WriteError> {
        let mut n = [0u8; 20];
        out.put(decimal(self.seq, &mut n))?;
        for s in [
            &self.timestamp,
            &self.action,
            &self.agent_did,
            &self.grant_id,
        ] {
            out.put(b"|")?;
            s.put_utf8(out)?;
        }
        out.put(b"|")?;
        for (i, s) in self.scopes.iter().enumerate() {
            if i > 0 {
                out.put(b",")?;
            }
            s.put_utf8(out)?;
        }
        out.put(b"|")?;
        self.result.put_utf8(out)?;
        out.put(b"|")?;
        if let Some(m) = &self.metadata {
            m.put_canonical(out)?;
        }
        out.put(b"|")?;
        out.put(self.prev_hash.to_wire().as_bytes())
    }
}

/// Decimal digits of `v` in `buf`.
pub(crate) fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// The protocol's entry hash: SHA-256 over the nine `|`-joined fields, metadata as
/// JavaScript's `JSON.stringify(JSON.parse(text))`, exactly as the hosted service
/// recomputes it. Strings are hashed as UTF-8 of their decoded value (a lone surrogate
/// hashes as U+FFFD, as in Node).
///
/// # Errors
/// [`EntryError::Metadata`] when the metadata needs more working memory than available.
pub fn entry_hash(entry: &AuditEntry<'_>) -> Result<EntryHash, EntryError> {
    let mut h = Sha256::new();
    entry.put_hash_input(&mut h).map_err(|e| match e {
        WriteError::Metadata(m) => EntryError::Metadata(m),
        // The hasher never fails.
        _ => EntryError::Metadata(super::error::MetadataError::TooComplex),
    })?;
    Ok(EntryHash(h.finalize().into()))
}

/// An entry with its hash and signature: one line of the JSONL log, one element of a
/// sync request's `entries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedAuditEntry<'a> {
    /// The hashed fields.
    pub entry: AuditEntry<'a>,
    /// The entry hash as claimed by the writer (checked by verification, not by parsing).
    pub hash: EntryHash,
    /// Ed25519 signature over the hex of `hash`.
    pub signature: EntrySignature,
}
