//! The audit trail: entries, their byte-exact hash, Ed25519 signatures, and streaming
//! chain verification.
//!
//! # What is where
//! - [`AuditEntry`] / [`SignedAuditEntry`]: the entry model. Build entries from plain
//!   strings, or parse a wire line with [`SignedAuditEntry::parse_line`] (strict: every
//!   shape rule of the protocol, unknown fields refused, a code per failure).
//! - [`entry_hash`]: SHA-256 of the nine `|`-joined fields, metadata canonicalised as
//!   JavaScript's `JSON.stringify(JSON.parse(text))`.
//! - [`AuditSigningKey`] / [`AuditVerifyingKey`]: Ed25519 over the hex hash.
//! - [`ChainVerifier`]: one entry at a time, constant memory, first break wins.
//! - `verify_signatures` / `signature_verdicts` (feature `batch`): Ed25519 checks in
//!   batches with the single check's verdict; `BatchChainVerifier` on top of them, and
//!   `verify_chain_parallel` (feature `std`).
//! - `legacy` ([`LegacyPyEntry`], [`LegacyPyChainVerifier`]): the Python client's own log
//!   format, which the hosted service rejects.
//!
//! # Features
//! - none: everything above except batching and threads, no allocation.
//! - `alloc`: metadata wider than the stack slots, `to_json`/`to_canonical_string`.
//! - `batch`: batched signature checks and `BatchChainVerifier` (ed25519-dalek's
//!   `verify_batch`; needs `alloc`).
//! - `std`: `verify_chain_parallel` (scoped threads; batched per thread with `batch`).
//! - `float-metadata` (default, and implied by `std`): metadata numbers of any form,
//!   printed exactly as JavaScript does (an `f64` parser and `ryu-js`, ~27 KiB of flash).
//!   Without it, metadata numbers must be integers with |n| <= 2^53 (printed as the plain
//!   decimal they are, as JavaScript would) and any other number is refused with
//!   [`MetadataError::UnsupportedNumber`] when parsed or hashed: never a different hash.
//!
//! # Memory
//! Nothing here allocates unless the `alloc` feature is on and a metadata object
//! needs it. Parsed entries borrow the caller's line; strings are decoded on the fly.
//! Hashing streams into SHA-256 with no buffer. Writing goes into the caller's
//! `&mut [u8]` ([`WriteError::Full`] when too small) or an `embedded_io::Write`.
//!
//! Canonicalising metadata needs to order each object's keys. It uses a pool of
//! member slots (24 bytes each) as a stack: an object's members occupy slots while
//! it is written, nested objects use the slots above. The slots a metadata object
//! needs (the largest sum of member counts of the objects open at once along any path,
//! [`Metadata::slots_needed`]) are known once it is validated. Up to 8 slots come from a
//! small stack array, up to [`METADATA_MEMBER_SLOTS`] (64, about 1.5 KiB of stack) from
//! a larger one; beyond that the `alloc` feature takes them from the heap, and without
//! it hashing fails with [`MetadataError::TooComplex`]. Nesting is limited to
//! [`MAX_METADATA_DEPTH`] (32) levels, which bounds the recursion (and so the stack)
//! of validation and canonicalisation.

#[cfg(any(test, feature = "alloc"))]
extern crate alloc;

#[cfg(any(feature = "batch", feature = "std"))]
mod batch;
mod chain;
mod entry;
mod error;
mod fields;
mod json;
mod keys;
mod legacy;
mod line;
#[cfg(feature = "batch")]
mod signatures;
mod sink;
mod text;

#[cfg(feature = "batch")]
pub use batch::BatchChainVerifier;
#[cfg(feature = "std")]
pub use batch::verify_chain_parallel;
pub use chain::{ChainAnchor, ChainHead, ChainVerifier};
pub use entry::{
    AsciiBuf, AuditEntry, EntryHash, EntrySignature, GENESIS_PREV_HASH, MAX_SEQ, PrevHash,
    SignedAuditEntry, entry_hash,
};
pub use error::{BreakCode, ChainBreak, EntryError, Field, KeyError, MetadataError, WriteError};
pub use keys::{AuditSigningKey, AuditVerifyingKey};
pub use legacy::{LEGACY_GENESIS_PREV_HASH, LegacyPyChainVerifier, LegacyPyEntry};
#[cfg(feature = "batch")]
pub use signatures::{SIGNATURE_BATCH, SignatureCheck, signature_verdicts, verify_signatures};
pub use text::{AuditStr, MAX_METADATA_DEPTH, METADATA_MEMBER_SLOTS, Metadata, ScopeIter, Scopes};
