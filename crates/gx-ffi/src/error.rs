//! One error enum for the whole C API, and the protocol code string of each value.
//!
//! Values are stable integers grouped by origin: 0 is success, 1..=99 the caller's
//! misuse of the C API (never caused by data), 100.. token verification, 200.. the JWKS,
//! 300.. audit entries, 350.. metadata, 400.. chain breaks, 500.. keys. gx-core's errors
//! map onto this enum through their stable `code()` strings, so the C code string of an
//! error is exactly what gx-core and the hosted service call it.

use core::ffi::{CStr, c_char};

/// Every outcome of a gx C API call: `GX_ERROR_OK`, or why it failed.
///
/// The integer values are stable; `gx_error_code_str` gives the protocol's code string.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GxError {
    /// Success.
    Ok = 0,
    /// A pointer argument the function needs is NULL.
    NullArgument = 1,
    /// An argument is out of range: a string that is not UTF-8, more scopes than the C
    /// API's tables hold, a key of the wrong length.
    InvalidArgument = 2,
    /// Storage passed in was not set up by its `gx_*` constructor (or was released).
    NotInitialized = 3,
    /// `gx_heap_init` has not been called: the function would need the arena.
    HeapNotInitialized = 4,
    /// `gx_heap_init` was called before; the arena is handed over once.
    HeapAlreadyInitialized = 5,
    /// The arena given to `gx_heap_init` is smaller than `GX_HEAP_MIN_LEN`.
    HeapTooSmall = 6,
    /// This build has no arena (feature `arena` off): it uses the program's allocator.
    HeapUnavailable = 7,
    /// The caller's output buffer is too small.
    BufferFull = 8,
    /// gx-core reported an error this version of the C API has no value for.
    Internal = 99,

    /// The token is not a well-formed compact JWS with JSON header and claims.
    MalformedToken = 100,
    /// The token, its scope list or the decode buffer is over a limit.
    TokenTooLarge = 101,
    /// `alg` is `none` or an HMAC algorithm.
    BlockedAlgorithm = 102,
    /// `alg` is not `RS256`.
    UnsupportedAlgorithm = 103,
    /// No `kid` and the snapshot holds several usable keys.
    MissingKid = 104,
    /// No usable key has the token's `kid`.
    KidNotFound = 105,
    /// The snapshot holds no usable RS256 key.
    NoUsableKeys = 106,
    /// The signature does not verify.
    BadSignature = 107,
    /// `now` is past `exp` plus the skew.
    TokenExpired = 108,
    /// `now` plus the skew is before `nbf`.
    TokenNotYetValid = 109,
    /// `iat` is later than `now` plus the skew.
    FutureIat = 110,
    /// A required claim is absent.
    MissingClaim = 111,
    /// A claim has the wrong type or an unacceptable value.
    InvalidClaim = 112,
    /// The grant lacks a required scope.
    ScopeViolation = 113,
    /// `delegationDepth` is over the maximum.
    DelegationDepthExceeded = 114,
    /// The snapshot's `validUntil` has passed.
    JwksSnapshotExpired = 115,
    /// `iss` is not the expected issuer.
    IssuerMismatch = 116,
    /// `aud` does not hold the expected audience.
    AudienceMismatch = 117,

    /// The JWKS is not JSON, not an object, or has a duplicated member.
    MalformedJwks = 200,
    /// The JWKS has no `keys` array.
    MissingKeys = 201,
    /// The JWKS lists more keys than a snapshot holds.
    TooManyKeys = 202,
    /// `fetchedAt` or `validUntil` is not an ISO-8601 date-time.
    BadTimestamp = 203,

    /// An audit line is not UTF-8.
    EntryNotUtf8 = 300,
    /// An audit line is not valid JSON.
    EntrySyntax = 301,
    /// An audit line is not a JSON object.
    EntryNotObject = 302,
    /// Data follows the entry object.
    EntryTrailingData = 303,
    /// An entry member is not a field of the format.
    EntryUnknownField = 304,
    /// An entry field appears twice.
    EntryDuplicateField = 305,
    /// A required entry field is absent.
    EntryMissingField = 306,
    /// An entry field has the wrong JSON type.
    EntryWrongType = 307,
    /// An entry string or the scope list is empty or too long.
    EntryBadLength = 308,
    /// `seq` is not a positive safe integer.
    EntryBadSeq = 309,
    /// `timestamp` is not a date-time.
    EntryBadTimestamp = 310,
    /// `prevHash`, `hash` or `signature` is not lowercase hex of the right length.
    EntryBadHex = 311,
    /// A legacy signature is not padded base64url.
    EntryBadBase64 = 312,

    /// Metadata is not valid JSON.
    MetadataSyntax = 350,
    /// Metadata is not a JSON object.
    MetadataNotObject = 351,
    /// Metadata nests too deeply.
    MetadataTooDeep = 352,
    /// Metadata holds `__proto__` or `constructor.prototype`.
    MetadataForbiddenKey = 353,
    /// Metadata needs more working memory than available.
    MetadataTooComplex = 354,
    /// A metadata number this build cannot hash exactly (no `float-metadata`).
    MetadataNumberUnsupported = 355,

    /// Chain break: the entry breaks a shape rule or does not parse.
    InvalidEntry = 400,
    /// Chain break: the recomputed hash differs from `hash`.
    InvalidHash = 401,
    /// Chain break: `prevHash` is not the previous entry's hash.
    BrokenChain = 402,
    /// Chain break: `seq` is not the previous `seq` + 1.
    SeqGap = 403,
    /// Chain break: the signature does not verify.
    InvalidSignature = 404,
    /// Chain break: the first entry is not `seq` 1 with the genesis `prevHash`.
    BadGenesis = 405,

    /// A key PEM is not of the expected kind.
    KeyBadPem = 500,
    /// A key's DER is not an Ed25519 structure.
    KeyBadDer = 501,
    /// A key JWK is not an Ed25519 JWK.
    KeyBadJwk = 502,
    /// Public key bytes are not a valid Ed25519 point.
    KeyInvalidPublic = 503,
    /// A PKCS#8 file's public key does not match its private key.
    KeyMismatchedPublic = 504,
}

impl GxError {
    /// Every value, for the code lookup.
    const ALL: [Self; 62] = [
        Self::Ok,
        Self::NullArgument,
        Self::InvalidArgument,
        Self::NotInitialized,
        Self::HeapNotInitialized,
        Self::HeapAlreadyInitialized,
        Self::HeapTooSmall,
        Self::HeapUnavailable,
        Self::BufferFull,
        Self::Internal,
        Self::MalformedToken,
        Self::TokenTooLarge,
        Self::BlockedAlgorithm,
        Self::UnsupportedAlgorithm,
        Self::MissingKid,
        Self::KidNotFound,
        Self::NoUsableKeys,
        Self::BadSignature,
        Self::TokenExpired,
        Self::TokenNotYetValid,
        Self::FutureIat,
        Self::MissingClaim,
        Self::InvalidClaim,
        Self::ScopeViolation,
        Self::DelegationDepthExceeded,
        Self::JwksSnapshotExpired,
        Self::IssuerMismatch,
        Self::AudienceMismatch,
        Self::MalformedJwks,
        Self::MissingKeys,
        Self::TooManyKeys,
        Self::BadTimestamp,
        Self::EntryNotUtf8,
        Self::EntrySyntax,
        Self::EntryNotObject,
        Self::EntryTrailingData,
        Self::EntryUnknownField,
        Self::EntryDuplicateField,
        Self::EntryMissingField,
        Self::EntryWrongType,
        Self::EntryBadLength,
        Self::EntryBadSeq,
        Self::EntryBadTimestamp,
        Self::EntryBadHex,
        Self::EntryBadBase64,
        Self::MetadataSyntax,
        Self::MetadataNotObject,
        Self::MetadataTooDeep,
        Self::MetadataForbiddenKey,
        Self::MetadataTooComplex,
        Self::MetadataNumberUnsupported,
        Self::InvalidEntry,
        Self::InvalidHash,
        Self::BrokenChain,
        Self::SeqGap,
        Self::InvalidSignature,
        Self::BadGenesis,
        Self::KeyBadPem,
        Self::KeyBadDer,
        Self::KeyBadJwk,
        Self::KeyInvalidPublic,
        Self::KeyMismatchedPublic,
    ];

    /// The protocol's code string (gx-core's `code()`), NUL-terminated.
    pub const fn code(self) -> &'static CStr {
        match self {
            Self::Ok => c"OK",
            Self::NullArgument => c"NULL_ARGUMENT",
            Self::InvalidArgument => c"INVALID_ARGUMENT",
            Self::NotInitialized => c"NOT_INITIALIZED",
            Self::HeapNotInitialized => c"HEAP_NOT_INITIALIZED",
            Self::HeapAlreadyInitialized => c"HEAP_ALREADY_INITIALIZED",
            Self::HeapTooSmall => c"HEAP_TOO_SMALL",
            Self::HeapUnavailable => c"HEAP_UNAVAILABLE",
            Self::BufferFull => c"BUFFER_FULL",
            Self::Internal => c"INTERNAL",
            Self::MalformedToken => c"MALFORMED_TOKEN",
            Self::TokenTooLarge => c"TOKEN_TOO_LARGE",
            Self::BlockedAlgorithm => c"BLOCKED_ALGORITHM",
            Self::UnsupportedAlgorithm => c"UNSUPPORTED_ALGORITHM",
            Self::MissingKid => c"MISSING_KID",
            Self::KidNotFound => c"KID_NOT_FOUND",
            Self::NoUsableKeys => c"NO_USABLE_KEYS",
            Self::BadSignature => c"BAD_SIGNATURE",
            Self::TokenExpired => c"TOKEN_EXPIRED",
            Self::TokenNotYetValid => c"TOKEN_NOT_YET_VALID",
            Self::FutureIat => c"FUTURE_IAT",
            Self::MissingClaim => c"MISSING_CLAIM",
            Self::InvalidClaim => c"INVALID_CLAIM",
            Self::ScopeViolation => c"SCOPE_VIOLATION",
            Self::DelegationDepthExceeded => c"DELEGATION_DEPTH_EXCEEDED",
            Self::JwksSnapshotExpired => c"JWKS_SNAPSHOT_EXPIRED",
            Self::IssuerMismatch => c"ISSUER_MISMATCH",
            Self::AudienceMismatch => c"AUDIENCE_MISMATCH",
            Self::MalformedJwks => c"MALFORMED_JWKS",
            Self::MissingKeys => c"MISSING_KEYS",
            Self::TooManyKeys => c"TOO_MANY_KEYS",
            Self::BadTimestamp => c"BAD_TIMESTAMP",
            Self::EntryNotUtf8 => c"ENTRY_NOT_UTF8",
            Self::EntrySyntax => c"ENTRY_SYNTAX",
            Self::EntryNotObject => c"ENTRY_NOT_OBJECT",
            Self::EntryTrailingData => c"ENTRY_TRAILING_DATA",
            Self::EntryUnknownField => c"ENTRY_UNKNOWN_FIELD",
            Self::EntryDuplicateField => c"ENTRY_DUPLICATE_FIELD",
            Self::EntryMissingField => c"ENTRY_MISSING_FIELD",
            Self::EntryWrongType => c"ENTRY_WRONG_TYPE",
            Self::EntryBadLength => c"ENTRY_BAD_LENGTH",
            Self::EntryBadSeq => c"ENTRY_BAD_SEQ",
            Self::EntryBadTimestamp => c"ENTRY_BAD_TIMESTAMP",
            Self::EntryBadHex => c"ENTRY_BAD_HEX",
            Self::EntryBadBase64 => c"ENTRY_BAD_BASE64",
            Self::MetadataSyntax => c"METADATA_SYNTAX",
            Self::MetadataNotObject => c"METADATA_NOT_OBJECT",
            Self::MetadataTooDeep => c"METADATA_TOO_DEEP",
            Self::MetadataForbiddenKey => c"METADATA_FORBIDDEN_KEY",
            Self::MetadataTooComplex => c"METADATA_TOO_COMPLEX",
            Self::MetadataNumberUnsupported => c"METADATA_NUMBER_UNSUPPORTED",
            Self::InvalidEntry => c"INVALID_ENTRY",
            Self::InvalidHash => c"INVALID_HASH",
            Self::BrokenChain => c"BROKEN_CHAIN",
            Self::SeqGap => c"SEQ_GAP",
            Self::InvalidSignature => c"INVALID_SIGNATURE",
            Self::BadGenesis => c"BAD_GENESIS",
            Self::KeyBadPem => c"KEY_BAD_PEM",
            Self::KeyBadDer => c"KEY_BAD_DER",
            Self::KeyBadJwk => c"KEY_BAD_JWK",
            Self::KeyInvalidPublic => c"KEY_INVALID_PUBLIC",
            Self::KeyMismatchedPublic => c"KEY_MISMATCHED_PUBLIC",
        }
    }

    /// The value for a gx-core `code()` string; [`GxError::Internal`] for a code this
    /// version does not know (a newer gx-core), never a wrong value.
    pub(crate) fn from_code(code: &str) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.code().to_bytes() == code.as_bytes())
            .unwrap_or(Self::Internal)
    }

    /// The value for an integer, if it is one of ours.
    fn from_i32(value: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| *e as i32 == value)
    }
}

/// Converts a `Result` of the C API into its status code.
pub(crate) fn status(r: Result<(), GxError>) -> GxError {
    match r {
        Ok(()) => GxError::Ok,
        Err(e) => e,
    }
}

/// The protocol's code string of `code` (`"TOKEN_EXPIRED"`, `"SEQ_GAP"`, `"OK"`, ...),
/// or `"UNKNOWN"` for an integer that is no `gx_error` value.
///
/// Ownership: the string is static and NUL-terminated; never free or modify it. Takes
/// any integer (not only `gx_error` values) and never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gx_error_code_str(code: i32) -> *const c_char {
    GxError::from_i32(code)
        .map_or(c"UNKNOWN", GxError::code)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_code() {
        for e in GxError::ALL {
            assert_eq!(GxError::from_code(e.code().to_str().unwrap()), e);
            assert_eq!(GxError::from_i32(e as i32), Some(e));
        }
        let distinct: std::collections::BTreeSet<i32> =
            GxError::ALL.iter().map(|e| *e as i32).collect();
        assert_eq!(
            distinct.len(),
            GxError::ALL.len(),
            "a value is listed twice"
        );
        assert_eq!(GxError::from_code("SOMETHING_NEW"), GxError::Internal);
    }

    #[test]
    fn code_str_of_any_integer_is_a_string() {
        let s = |c| {
            // SAFETY: gx_error_code_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(gx_error_code_str(c)) };
            text.to_str().unwrap()
        };
        assert_eq!(s(0), "OK");
        assert_eq!(s(108), "TOKEN_EXPIRED");
        assert_eq!(s(403), "SEQ_GAP");
        assert_eq!(s(-1), "UNKNOWN");
        assert_eq!(s(i32::MAX), "UNKNOWN");
    }
}
