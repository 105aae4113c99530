//! Errors of the audit trail: entry shape, metadata, writing, keys and chain breaks.
//!
//! Every variant has a stable `code()` string. Entry and metadata codes are finer than
//! the protocol's; [`EntryError::wire_code`] maps them to the one code the hosted
//! service answers for a bad entry (`INVALID_ENTRY`).

use core::fmt;

/// A field of an audit entry, as named on the wire (TypeScript client spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `seq`
    Seq,
    /// `timestamp`
    Timestamp,
    /// `action`
    Action,
    /// `agentDID` (`agent_did` in the legacy Python format)
    AgentDid,
    /// `grantId` (`grant_id` in the legacy Python format)
    GrantId,
    /// `scopes`
    Scopes,
    /// `result`
    Result,
    /// `metadata`
    Metadata,
    /// `prevHash` (`prev_hash` in the legacy Python format)
    PrevHash,
    /// `hash`
    Hash,
    /// `signature`
    Signature,
}

impl Field {
    /// The field's name in the wire format.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Seq => "seq",
            Self::Timestamp => "timestamp",
            Self::Action => "action",
            Self::AgentDid => "agentDID",
            Self::GrantId => "grantId",
            Self::Scopes => "scopes",
            Self::Result => "result",
            Self::Metadata => "metadata",
            Self::PrevHash => "prevHash",
            Self::Hash => "hash",
            Self::Signature => "signature",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// Why a metadata JSON text was refused, or could not be canonicalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// The text is not well-formed JSON (byte offset of the problem in the metadata text).
    Syntax {
        /// Byte offset into the metadata text.
        offset: usize,
    },
    /// The text is JSON but not an object (the protocol allows only objects).
    NotAnObject,
    /// Objects and arrays nest deeper than [`MAX_METADATA_DEPTH`](crate::audit::MAX_METADATA_DEPTH).
    TooDeep,
    /// A key `__proto__`, or a key `constructor` whose value is an object with a key
    /// `prototype`: the hosted service rejects the whole request (HTTP 400).
    ForbiddenKey,
    /// Canonicalising needs more member slots than the working memory holds
    /// ([`Metadata::slots_needed`](crate::Metadata::slots_needed) against
    /// [`METADATA_MEMBER_SLOTS`](crate::METADATA_MEMBER_SLOTS); enable `alloc` to lift the
    /// bound).
    TooComplex,
    /// A number that is not an integer with |n| <= 2^53 (byte offset of the number), in
    /// a build without the `float-metadata` feature: it cannot be hashed exactly as
    /// JavaScript prints it, so it is refused rather than hashed wrongly.
    UnsupportedNumber {
        /// Byte offset into the metadata text.
        offset: usize,
    },
}

impl MetadataError {
    /// A stable code for this failure.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "METADATA_SYNTAX",
            Self::NotAnObject => "METADATA_NOT_OBJECT",
            Self::TooDeep => "METADATA_TOO_DEEP",
            Self::ForbiddenKey => "METADATA_FORBIDDEN_KEY",
            Self::TooComplex => "METADATA_TOO_COMPLEX",
            Self::UnsupportedNumber { .. } => "METADATA_NUMBER_UNSUPPORTED",
        }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { offset } => write!(f, "metadata is not valid JSON (at byte {offset})"),
            Self::NotAnObject => f.write_str("metadata is not a JSON object"),
            Self::TooDeep => f.write_str("metadata nests too deeply"),
            Self::ForbiddenKey => {
                f.write_str("metadata holds a `__proto__` key or `constructor.prototype`")
            }
            Self::TooComplex => f.write_str("metadata needs more working memory than available"),
            Self::UnsupportedNumber { offset } => write!(
                f,
                "metadata number at byte {offset} is not an integer within 2^53 \
                 (this build lacks the `float-metadata` feature)"
            ),
        }
    }
}

impl core::error::Error for MetadataError {}

/// Why an audit entry (a JSONL line, or an entry built in code) breaks the protocol's
/// shape rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    /// The line is not UTF-8.
    NotUtf8,
    /// The line is not well-formed JSON (byte offset of the problem).
    Syntax {
        /// Byte offset into the line.
        offset: usize,
    },
    /// The line is JSON but not an object.
    NotAnObject,
    /// Something other than whitespace follows the object.
    TrailingData,
    /// A member whose name is not a field of the format (byte offset of its name).
    UnknownField {
        /// Byte offset into the line.
        offset: usize,
    },
    /// A field appears twice.
    DuplicateField(Field),
    /// A required field is absent.
    MissingField(Field),
    /// A field has the wrong JSON type (e.g. `seq` as a string, `metadata` as `null`).
    WrongType(Field),
    /// A string field, or the scope list, is empty or longer than the protocol allows
    /// (lengths counted in UTF-16 code units, as the service counts them).
    BadLength(Field),
    /// `seq` is not a positive safe integer (1..=2^53-1).
    BadSeq,
    /// `timestamp` is not a date-time.
    BadTimestamp,
    /// `prevHash`, `hash` or `signature` is not lowercase hex of the right length
    /// (or, for `prevHash`, the 16-zero genesis value).
    BadHex(Field),
    /// A legacy signature is not padded base64url of 64 bytes.
    BadBase64(Field),
    /// The metadata object is refused.
    Metadata(MetadataError),
}

impl EntryError {
    /// A stable code for this failure.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotUtf8 => "ENTRY_NOT_UTF8",
            Self::Syntax { .. } => "ENTRY_SYNTAX",
            Self::NotAnObject => "ENTRY_NOT_OBJECT",
            Self::TrailingData => "ENTRY_TRAILING_DATA",
            Self::UnknownField { .. } => "ENTRY_UNKNOWN_FIELD",
            Self::DuplicateField(_) => "ENTRY_DUPLICATE_FIELD",
            Self::MissingField(_) => "ENTRY_MISSING_FIELD",
            Self::WrongType(_) => "ENTRY_WRONG_TYPE",
            Self::BadLength(_) => "ENTRY_BAD_LENGTH",
            Self::BadSeq => "ENTRY_BAD_SEQ",
            Self::BadTimestamp => "ENTRY_BAD_TIMESTAMP",
            Self::BadHex(_) => "ENTRY_BAD_HEX",
            Self::BadBase64(_) => "ENTRY_BAD_BASE64",
            Self::Metadata(m) => m.code(),
        }
    }

    /// The code the hosted service answers for this entry: `INVALID_ENTRY`, except for a
    /// forbidden metadata key, which fails the whole request (`BAD_REQUEST`).
    pub const fn wire_code(&self) -> &'static str {
        match self {
            Self::Metadata(MetadataError::ForbiddenKey) => "BAD_REQUEST",
            _ => "INVALID_ENTRY",
        }
    }

    /// The field concerned, where there is one.
    pub const fn field(&self) -> Option<Field> {
        match self {
            Self::DuplicateField(f)
            | Self::MissingField(f)
            | Self::WrongType(f)
            | Self::BadLength(f)
            | Self::BadHex(f)
            | Self::BadBase64(f) => Some(*f),
            Self::BadSeq => Some(Field::Seq),
            Self::BadTimestamp => Some(Field::Timestamp),
            Self::Metadata(_) => Some(Field::Metadata),
            _ => None,
        }
    }
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("entry is not UTF-8"),
            Self::Syntax { offset } => write!(f, "entry is not valid JSON (at byte {offset})"),
            Self::NotAnObject => f.write_str("entry is not a JSON object"),
            Self::TrailingData => f.write_str("data after the entry object"),
            Self::UnknownField { offset } => write!(f, "unknown entry field at byte {offset}"),
            Self::DuplicateField(x) => write!(f, "field `{x}` appears twice"),
            Self::MissingField(x) => write!(f, "field `{x}` is missing"),
            Self::WrongType(x) => write!(f, "field `{x}` has the wrong type"),
            Self::BadLength(x) => write!(f, "field `{x}` is empty or too long"),
            Self::BadSeq => f.write_str("`seq` is not a positive safe integer"),
            Self::BadTimestamp => f.write_str("`timestamp` is not a date-time"),
            Self::BadHex(x) => write!(f, "field `{x}` is not lowercase hex of the right length"),
            Self::BadBase64(x) => write!(f, "field `{x}` is not padded base64url of 64 bytes"),
            Self::Metadata(m) => fmt::Display::fmt(m, f),
        }
    }
}

impl core::error::Error for EntryError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Metadata(m) => Some(m),
            _ => None,
        }
    }
}

impl From<MetadataError> for EntryError {
    fn from(e: MetadataError) -> Self {
        Self::Metadata(e)
    }
}

/// Why an entry could not be written out as a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The caller's buffer is too small; nothing meaningful was written.
    Full,
    /// The `embedded_io::Write` sink failed.
    Io(embedded_io::ErrorKind),
    /// The metadata could not be canonicalised (working-memory bound).
    Metadata(MetadataError),
}

impl WriteError {
    /// A stable code for this failure.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Full => "BUFFER_FULL",
            Self::Io(_) => "WRITE_FAILED",
            Self::Metadata(m) => m.code(),
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("output buffer too small"),
            Self::Io(kind) => write!(f, "write failed: {kind:?}"),
            Self::Metadata(m) => fmt::Display::fmt(m, f),
        }
    }
}

impl core::error::Error for WriteError {}

/// Why a key could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a PEM block of the expected label (`PRIVATE KEY` / `PUBLIC KEY`), or bad base64.
    Pem,
    /// The DER is not an Ed25519 PKCS#8 / SPKI structure.
    Der,
    /// The JWK is not `{"kty":"OKP","crv":"Ed25519","x":...}` with a 32-byte `x`
    /// (and, for a private key, a 32-byte `d`).
    Jwk,
    /// The public key bytes are not a valid Ed25519 point.
    InvalidPublicKey,
    /// A PKCS#8 file carries a public key that does not belong to its private key.
    MismatchedPublicKey,
}

impl KeyError {
    /// A stable code for this failure.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Pem => "KEY_BAD_PEM",
            Self::Der => "KEY_BAD_DER",
            Self::Jwk => "KEY_BAD_JWK",
            Self::InvalidPublicKey => "KEY_INVALID_PUBLIC",
            Self::MismatchedPublicKey => "KEY_MISMATCHED_PUBLIC",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pem => "not a PEM block of the expected kind",
            Self::Der => "not an Ed25519 key structure",
            Self::Jwk => "not an Ed25519 JWK",
            Self::InvalidPublicKey => "not a valid Ed25519 public key",
            Self::MismatchedPublicKey => "embedded public key does not match the private key",
        })
    }
}

impl core::error::Error for KeyError {}

/// The reason a chain (or a single entry) failed verification; the codes are the
/// protocol's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakCode {
    /// The entry breaks a shape rule, or the line cannot be parsed.
    InvalidEntry,
    /// The recomputed hash differs from the entry's `hash`.
    InvalidHash,
    /// `prevHash` is not the previous entry's hash (or the anchor's).
    BrokenChain,
    /// `seq` is not the previous `seq` + 1.
    SeqGap,
    /// The signature does not verify under the key (opaque on purpose).
    InvalidSignature,
    /// The first entry of a chain verified from genesis is not `seq` 1 with the genesis
    /// `prevHash`.
    BadGenesis,
}

impl BreakCode {
    /// The protocol's code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidEntry => "INVALID_ENTRY",
            Self::InvalidHash => "INVALID_HASH",
            Self::BrokenChain => "BROKEN_CHAIN",
            Self::SeqGap => "SEQ_GAP",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::BadGenesis => "BAD_GENESIS",
        }
    }
}

impl fmt::Display for BreakCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl core::error::Error for BreakCode {}

/// The first entry at which a chain failed: its 0-based position in what was fed to
/// the verifier, its `seq` when it could be read, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainBreak {
    /// 0-based position of the failing entry among those pushed.
    pub index: u64,
    /// The entry's `seq`, unless the entry could not be parsed.
    pub seq: Option<u64>,
    /// Why it failed.
    pub code: BreakCode,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "{} at entry {} (seq {seq})", self.code, self.index),
            None => write!(f, "{} at entry {}", self.code, self.index),
        }
    }
}

impl core::error::Error for ChainBreak {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::alloc::string::ToString;

    #[test]
    fn codes_are_stable_and_wire_codes_match_the_protocol() {
        assert_eq!(EntryError::BadSeq.code(), "ENTRY_BAD_SEQ");
        assert_eq!(EntryError::BadSeq.wire_code(), "INVALID_ENTRY");
        let forbidden = EntryError::Metadata(MetadataError::ForbiddenKey);
        assert_eq!(forbidden.code(), "METADATA_FORBIDDEN_KEY");
        assert_eq!(forbidden.wire_code(), "BAD_REQUEST");
        assert_eq!(BreakCode::SeqGap.code(), "SEQ_GAP");
        assert_eq!(BreakCode::BadGenesis.to_string(), "BAD_GENESIS");
        let b = ChainBreak {
            index: 3,
            seq: Some(4),
            code: BreakCode::BrokenChain,
        };
        assert_eq!(b.to_string(), "BROKEN_CHAIN at entry 3 (seq 4)");
    }
}
