//! Why a grant token was refused: one variant per cause, each with a stable wire code.
//!
//! Errors borrow the offending text (a kid, an `alg`, a duplicated member name) from the
//! caller's buffer instead of copying it, so they stay small and allocation-free.

use core::fmt;

use super::json::JsonError;
use super::missing::MissingScopes;
use crate::UnixTime;

/// The part of a compact JWS a structural problem was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The protected header (first segment).
    Header,
    /// The claim set (second segment).
    Claims,
    /// The signature (third segment).
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Claims => "claims",
            Self::Signature => "signature",
        })
    }
}

/// What is structurally wrong with a token (all reported as `MALFORMED_TOKEN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not exactly three dot-separated segments (compact JWS only).
    Segments,
    /// The header or claims segment is empty.
    EmptySegment(Part),
    /// A segment carries `=` padding, which base64url in JWS forbids.
    Padding(Part),
    /// A segment holds a character outside the base64url alphabet, or a non-canonical
    /// final character.
    Base64(Part),
    /// The decoded segment is not UTF-8 JSON (byte offset in the decoded text).
    Json(Part, usize),
    /// The decoded segment is JSON but not an object.
    NotAnObject(Part),
    /// JSON nested deeper than the limit.
    TooDeep(Part),
    /// More members in one object than the limit.
    TooManyMembers(Part),
    /// The header has no `alg`, or it is not a string.
    MissingAlg,
    /// The header's `kid` is not a string.
    KidNotString,
    /// The header lists `crit` extensions; gx understands none, so it refuses them all
    /// (RFC 7515 §4.1.11).
    CriticalHeader,
}

/// Which bound a token broke (all reported as `TOKEN_TOO_LARGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The token text is longer than [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN) bytes.
    TokenBytes(usize),
    /// `scp` holds more than [`MAX_SCOPES`](crate::MAX_SCOPES) entries.
    Scopes,
    /// `aud` holds more than [`MAX_AUDIENCES`](crate::MAX_AUDIENCES) entries.
    Audiences,
    /// The caller's decode buffer is smaller than the decoded header and claims
    /// (`needed` bytes).
    Buffer {
        /// Bytes the decoded header and claims need.
        needed: usize,
    },
}

/// Why a grant token did not verify.
///
/// Causes group as: structure ([`Malformed`](Self::Malformed), [`TooLarge`](Self::TooLarge),
/// [`DuplicateMember`](Self::DuplicateMember)), header and key selection, the signature,
/// and the claims. [`code`](Self::code) gives the stable wire code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError<'a> {
    /// The token is not a well-formed compact JWS with JSON header and claims.
    Malformed(Malformed),
    /// A member name appears twice in the header or the claims.
    DuplicateMember {
        /// Where.
        part: Part,
        /// The member name, as written (escapes kept).
        name: &'a str,
    },
    /// The token, its scope list or the caller's buffer is over a limit.
    TooLarge(Limit),
    /// `alg` is `none` (in any case) or an HMAC algorithm: never acceptable for a token
    /// verified with a public key.
    BlockedAlgorithm {
        /// The `alg` of the header.
        alg: &'a str,
    },
    /// `alg` is something other than `RS256`.
    UnsupportedAlgorithm {
        /// The `alg` of the header.
        alg: &'a str,
    },
    /// The header has no `kid` and the snapshot holds more than one usable key.
    MissingKid,
    /// No usable key of the snapshot has the token's `kid`.
    KidNotFound {
        /// The `kid` of the header.
        kid: &'a str,
    },
    /// The snapshot holds no usable RS256 key at all.
    NoUsableKeys,
    /// The signature does not verify under the selected key.
    BadSignature,
    /// `now` is past `exp` plus the allowed clock skew.
    Expired {
        /// The token's `exp`.
        exp: UnixTime,
    },
    /// `now` plus the skew is before `nbf`.
    NotYetValid {
        /// The token's `nbf`.
        nbf: UnixTime,
    },
    /// `iat` is later than `now` plus the skew.
    FutureIat {
        /// The token's `iat`.
        iat: UnixTime,
    },
    /// A required claim is absent.
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong type or an unacceptable value.
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The grant lacks required scopes (every missing one is listed).
    ScopeViolation(MissingScopes<'a>),
    /// `delegationDepth` is over the configured maximum.
    DelegationDepthExceeded {
        /// The token's depth.
        depth: u32,
        /// The configured maximum.
        max: u32,
    },
    /// The JWKS snapshot's `validUntil` has passed.
    SnapshotExpired {
        /// The snapshot's `validUntil`.
        valid_until: UnixTime,
    },
    /// `iss` differs from the expected issuer.
    IssuerMismatch {
        /// The token's `iss`.
        found: &'a str,
    },
    /// `aud` does not contain the expected audience.
    AudienceMismatch,
}

impl VerifyError<'_> {
    /// The stable wire code of this error, e.g. `"KID_NOT_FOUND"`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::DuplicateMember { .. } => "MALFORMED_TOKEN",
            Self::TooLarge(_) => "TOKEN_TOO_LARGE",
            Self::BlockedAlgorithm { .. } => "BLOCKED_ALGORITHM",
            Self::UnsupportedAlgorithm { .. } => "UNSUPPORTED_ALGORITHM",
            Self::MissingKid => "MISSING_KID",
            Self::KidNotFound { .. } => "KID_NOT_FOUND",
            Self::NoUsableKeys => "NO_USABLE_KEYS",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::Expired { .. } => "TOKEN_EXPIRED",
            Self::NotYetValid { .. } => "TOKEN_NOT_YET_VALID",
            Self::FutureIat { .. } => "FUTURE_IAT",
            Self::MissingClaim { .. } => "MISSING_CLAIM",
            Self::InvalidClaim { .. } => "INVALID_CLAIM",
            Self::ScopeViolation(_) => "SCOPE_VIOLATION",
            Self::DelegationDepthExceeded { .. } => "DELEGATION_DEPTH_EXCEEDED",
            Self::SnapshotExpired { .. } => "JWKS_SNAPSHOT_EXPIRED",
            Self::IssuerMismatch { .. } => "ISSUER_MISMATCH",
            Self::AudienceMismatch => "AUDIENCE_MISMATCH",
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segments => f.write_str("not a compact JWS of three segments"),
            Self::EmptySegment(p) => write!(f, "empty {p} segment"),
            Self::Padding(p) => write!(f, "{p} segment has base64 padding"),
            Self::Base64(p) => write!(f, "{p} segment is not base64url"),
            Self::Json(p, at) => write!(f, "{p} is not JSON (at byte {at})"),
            Self::NotAnObject(p) => write!(f, "{p} is not a JSON object"),
            Self::TooDeep(p) => write!(f, "{p} JSON nested too deep"),
            Self::TooManyMembers(p) => write!(f, "{p} has too many members"),
            Self::MissingAlg => f.write_str("header has no string alg"),
            Self::KidNotString => f.write_str("header kid is not a string"),
            Self::CriticalHeader => f.write_str("header has crit extensions, none supported"),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TokenBytes(n) => write!(f, "token of {n} bytes is over {}", crate::MAX_TOKEN_LEN),
            Self::Scopes => write!(f, "claim scp has more than {} scopes", crate::MAX_SCOPES),
            Self::Audiences => write!(
                f,
                "claim aud has more than {} entries",
                crate::MAX_AUDIENCES
            ),
            Self::Buffer { needed } => write!(f, "decode buffer too small: {needed} bytes needed"),
        }
    }
}

impl fmt::Display for VerifyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            Self::Malformed(m) => write!(f, "{m}"),
            Self::DuplicateMember { part, name } => {
                write!(f, "{part} member {name:?} appears twice")
            }
            Self::TooLarge(l) => write!(f, "{l}"),
            Self::BlockedAlgorithm { alg } => write!(f, "alg {alg:?} is blocked"),
            Self::UnsupportedAlgorithm { alg } => {
                write!(f, "alg {alg:?} is not supported, only RS256")
            }
            Self::MissingKid => f.write_str("token has no kid and the snapshot has several keys"),
            Self::KidNotFound { kid } => write!(f, "no usable key with kid {kid:?}"),
            Self::NoUsableKeys => f.write_str("the JWKS snapshot holds no usable RS256 key"),
            Self::BadSignature => f.write_str("invalid signature"),
            Self::Expired { exp } => write!(f, "token expired at {exp} (claim exp)"),
            Self::NotYetValid { nbf } => write!(f, "token not valid before {nbf} (claim nbf)"),
            Self::FutureIat { iat } => write!(f, "token issued in the future at {iat} (claim iat)"),
            Self::MissingClaim { claim } => write!(f, "claim {claim} is missing"),
            Self::InvalidClaim { claim, reason } => write!(f, "claim {claim} {reason}"),
            Self::ScopeViolation(m) => write!(f, "missing scopes: {m}"),
            Self::DelegationDepthExceeded { depth, max } => {
                write!(f, "delegationDepth {depth} is over the maximum {max}")
            }
            Self::SnapshotExpired { valid_until } => {
                write!(f, "JWKS snapshot validUntil {valid_until} has passed")
            }
            Self::IssuerMismatch { found } => {
                write!(f, "claim iss {found:?} is not the expected issuer")
            }
            Self::AudienceMismatch => f.write_str("claim aud does not hold the expected audience"),
        }
    }
}

impl core::error::Error for VerifyError<'_> {}

/// Maps a JSON problem in `part` to a verification error; a duplicated member is named.
pub(crate) fn json_error(b: &[u8], e: JsonError, part: Part) -> VerifyError<'_> {
    match e {
        JsonError::Syntax(at) => VerifyError::Malformed(Malformed::Json(part, at)),
        JsonError::NotAnObject => VerifyError::Malformed(Malformed::NotAnObject(part)),
        JsonError::TooDeep => VerifyError::Malformed(Malformed::TooDeep(part)),
        JsonError::TooManyMembers => VerifyError::Malformed(Malformed::TooManyMembers(part)),
        JsonError::Duplicate(span) => VerifyError::DuplicateMember {
            part,
            name: b
                .get(span.start..span.end)
                .and_then(|n| core::str::from_utf8(n).ok())
                .unwrap_or(""),
        },
    }
}

#[cfg(test)]
mod tests;
