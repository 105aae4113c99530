//! gx-core: the sans-I/O heart of gx.
//!
//! It never opens a file or socket, never reads a clock and never draws a random number:
//! the caller hands it bytes, buffers and the current time ([`UnixTime`]), and gets bytes
//! and decisions back. That is what lets the same code run in firmware on a Cortex-M and
//! in the Linux edge agent.
//!
//! It offers two things:
//! - **grant-token verification**: parse a JWKS snapshot once, then verify RS256 grant
//!   tokens offline against it, enforce scopes and delegation depth;
//! - **the audit trail**: build, hash (byte-exact with the hosted service) and sign audit
//!   entries, and check a chain of them in constant memory.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::std_instead_of_alloc, clippy::alloc_instead_of_core)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod time;
pub use time::{TimeError, UnixTime};

// The JSON lexer under both the token reader and the audit reader.
mod json;

// ---- crypto providers: the RSA operation of token verification ----
mod provider;
#[cfg(feature = "aws-lc-rs")]
pub use provider::AwsLcRs;
#[cfg(any(feature = "rust-crypto", feature = "aws-lc-rs"))]
pub use provider::DefaultProvider;
#[cfg(feature = "rust-crypto")]
pub use provider::RustCrypto;
pub use provider::{CryptoProvider, InvalidSignature, KeyRejected};

// ---- token verification: owned by the token module ----
mod token;
pub use token::{
    DECODE_BUF_LEN, GrantToken, JwksError, JwksSnapshot, Limit, MAX_AUDIENCES, MAX_KEYS,
    MAX_KID_LEN, MAX_MODULUS_BITS, MAX_REQUIRED_SCOPES, MAX_SCOPES, MAX_TOKEN_LEN,
    MIN_MODULUS_BITS, Malformed, MemoSlot, MissingScopePolicy, MissingScopes, OptionsError, Part,
    SkipReason, SkippedKey, VerificationMemo, VerifiedGrant, Verifier, VerifierOptions,
    VerifyError, enforce_scopes, has_scope,
};

// ---- audit trail: owned by the audit module ----
mod audit;
#[cfg(feature = "std")]
pub use audit::verify_chain_parallel;
pub use audit::{
    AsciiBuf, AuditEntry, AuditSigningKey, AuditStr, AuditVerifyingKey, BreakCode, ChainAnchor,
    ChainBreak, ChainHead, ChainVerifier, EntryError, EntryHash, EntrySignature, Field,
    GENESIS_PREV_HASH, KeyError, MAX_METADATA_DEPTH, MAX_SEQ, METADATA_MEMBER_SLOTS, Metadata,
    MetadataError, PrevHash, ScopeIter, Scopes, SignedAuditEntry, WriteError, entry_hash,
};
#[cfg(feature = "batch")]
pub use audit::{
    BatchChainVerifier, SIGNATURE_BATCH, SignatureCheck, signature_verdicts, verify_signatures,
};
// The Python client's own log format (read and verify only).
pub use audit::{LEGACY_GENESIS_PREV_HASH, LegacyPyChainVerifier, LegacyPyEntry};
