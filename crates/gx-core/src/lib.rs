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

// ---- token verification (issue #2): owned by the token/provider modules ----
pub mod provider;
mod token;
pub use token::{
    DECODE_BUF_LEN, GrantToken, JwksError, JwksSnapshot, Limit, MAX_AUDIENCES, MAX_KEYS,
    MAX_KID_LEN, MAX_MODULUS_BITS, MAX_REQUIRED_SCOPES, MAX_SCOPES, MAX_TOKEN_LEN,
    MIN_MODULUS_BITS, Malformed, MemoSlot, MissingScopePolicy, MissingScopes, OptionsError, Part,
    SkipReason, SkippedKey, VerificationMemo, VerifiedGrant, Verifier, VerifierOptions,
    VerifyError, enforce_scopes, has_scope,
};

// ---- audit trail (issue #3): owned by the audit module ----
pub mod audit;
pub use audit::{
    AuditEntry, AuditSigningKey, AuditStr, AuditVerifyingKey, ChainAnchor, ChainBreak,
    ChainVerifier, EntryHash, Metadata, Scopes, SignedAuditEntry, entry_hash,
};
