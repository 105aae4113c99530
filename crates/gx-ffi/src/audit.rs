//! Audit entries from C: `gx_audit_entry` (the fields as plain strings), its hash, and
//! the signed wire line written into the caller's buffer.
//!
//! Memory: nothing is allocated; the entry is hashed by streaming into SHA-256 and
//! written straight into the caller's buffer. Metadata is canonicalised with gx-core's
//! stack pools (up to 64 members open at once, about 1.5 KiB of stack).

use gx_core::{AuditEntry, AuditStr, EntryHash, Metadata, PrevHash, Scopes};

use crate::error::status;
use crate::keys::signing;
use crate::slice::{bytes_mut, deref, str_array};
use crate::{GxError, GxSigningKey, GxStr};

/// The most scopes an entry built through the C API may list (the protocol allows 100;
/// the table of them lives on the stack).
pub const GX_MAX_ENTRY_SCOPES: usize = 32;

/// An audit entry's fields. Strings are UTF-8, not NUL-terminated, read during the call
/// only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxAuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// ISO-8601 date-time as the log writes it, e.g. `2026-11-27T10:00:00.000Z`.
    pub timestamp: GxStr,
    /// What the agent did (1..=256 UTF-16 units).
    pub action: GxStr,
    /// The agent's DID (`gx_grant.agent_did`).
    pub agent_did: GxStr,
    /// The grant the action ran under (`gx_grant.grant_id`).
    pub grant_id: GxStr,
    /// The scopes used (`scope_count` of them, 1..=`GX_MAX_ENTRY_SCOPES`).
    pub scopes: *const GxStr,
    /// The number of `scopes`.
    pub scope_count: usize,
    /// Outcome, e.g. `success` (1..=64).
    pub result: GxStr,
    /// Metadata as JSON object text, or `{NULL, 0}` for none.
    pub metadata: GxStr,
    /// The previous entry's 32-byte hash, or NULL for the chain's first entry (genesis).
    pub prev_hash: *const u8,
}

/// Runs `f` on the gx-core entry of `e`.
///
/// # Safety
/// `e` is NULL or valid, with every pointer in it valid for its length.
unsafe fn with_entry<R>(
    e: *const GxAuditEntry,
    f: impl FnOnce(AuditEntry<'_>) -> Result<R, GxError>,
) -> Result<R, GxError> {
    // SAFETY: per the caller's contract.
    let e = unsafe { deref(e) }?;
    let mut scopes = [""; GX_MAX_ENTRY_SCOPES];
    // SAFETY: the entry's strings are valid per the caller's contract.
    let (scopes, timestamp, action, agent, grant, result) = unsafe {
        (
            str_array(e.scopes, e.scope_count, &mut scopes)?,
            e.timestamp.as_str()?,
            e.action.as_str()?,
            e.agent_did.as_str()?,
            e.grant_id.as_str()?,
            e.result.as_str()?,
        )
    };
    let metadata = if e.metadata.is_null() {
        None
    } else {
        // SAFETY: as above.
        let text = unsafe { e.metadata.as_str() }?;
        Some(Metadata::parse(text).map_err(|m| GxError::from_code(m.code()))?)
    };
    let prev_hash = if e.prev_hash.is_null() {
        PrevHash::Genesis
    } else {
        // SAFETY: 32 readable bytes per the caller's contract.
        PrevHash::Entry(EntryHash::from_bytes(unsafe {
            *e.prev_hash.cast::<[u8; 32]>()
        }))
    };
    f(AuditEntry {
        seq: e.seq,
        timestamp: AuditStr::new(timestamp),
        action: AuditStr::new(action),
        agent_did: AuditStr::new(agent),
        grant_id: AuditStr::new(grant),
        scopes: Scopes::new(scopes),
        result: AuditStr::new(result),
        metadata,
        prev_hash,
    })
}

/// Writes 32 bytes of `hash` to `out`, if not NULL.
///
/// # Safety
/// `out` is NULL or writable for 32 bytes.
unsafe fn put_hash(out: *mut u8, hash: &EntryHash) {
    if !out.is_null() {
        // SAFETY: 32 writable bytes per the caller's contract.
        unsafe { out.cast::<[u8; 32]>().write_unaligned(*hash.as_bytes()) };
    }
}

/// The entry hash of the protocol (SHA-256 of the nine `|`-joined fields, metadata as
/// JavaScript's `JSON.stringify` prints it), 32 bytes into `hash_out`.
///
/// Ownership: `entry` and its strings are read during the call; `hash_out` (32 bytes,
/// caller-owned) is written on `GX_ERROR_OK`. Returns `GX_ERROR_OK`; `GX_ERROR_ENTRY_*` or
/// `GX_ERROR_METADATA_*` for a field that breaks the protocol's shape rules;
/// `GX_ERROR_NULL_ARGUMENT`; `GX_ERROR_INVALID_ARGUMENT` (strings not UTF-8, more than
/// `GX_MAX_ENTRY_SCOPES`).
///
/// # Safety
/// `entry` is NULL or valid with every pointer in it valid for its length; `hash_out` is
/// NULL or writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_audit_entry_hash(
    entry: *const GxAuditEntry,
    hash_out: *mut u8,
) -> GxError {
    status((|| {
        if hash_out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: per the caller's contract.
        unsafe {
            with_entry(entry, |e| {
                e.check_shape().map_err(|x| GxError::from_code(x.code()))?;
                let hash = e.hash().map_err(|x| GxError::from_code(x.code()))?;
                put_hash(hash_out, &hash);
                Ok(())
            })
        }
    })())
}

/// Hashes and signs `entry` with `key` and writes it as one JSONL wire line (the entry
/// object exactly as the TypeScript client writes it, then `\n`) into `line`.
///
/// Ownership: `key`, `entry` and its strings are read during the call. `line`
/// (`line_cap` bytes, caller-owned) receives the line, `*line_len` its length (newline
/// included); `hash_out` (32 bytes, or NULL) receives the entry hash, the next entry's
/// `prev_hash`. Written only on `GX_ERROR_OK`; the line is not NUL-terminated.
///
/// Returns `GX_ERROR_OK`; `GX_ERROR_BUFFER_FULL` when `line_cap` is too small (about 700
/// bytes suffice for short fields); the errors of `gx_audit_entry_hash`;
/// `GX_ERROR_NOT_INITIALIZED` for a key never set up.
///
/// # Safety
/// `key` points to `gx_signing_key` storage; `entry` as for `gx_audit_entry_hash`; `line`
/// is writable for `line_cap` bytes; `line_len` writable; `hash_out` NULL or writable
/// for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_audit_sign_line(
    key: *const GxSigningKey,
    entry: *const GxAuditEntry,
    line: *mut u8,
    line_cap: usize,
    line_len: *mut usize,
    hash_out: *mut u8,
) -> GxError {
    status((|| {
        if line_len.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: per the caller's contract.
        let (key, out) = unsafe { (signing(key)?, bytes_mut(line, line_cap)?) };
        // SAFETY: per the caller's contract.
        unsafe {
            with_entry(entry, |e| {
                let signed = key
                    .sign_entry(e)
                    .map_err(|x| GxError::from_code(x.code()))?;
                let n = signed
                    .write_line(out)
                    .map_err(|x| GxError::from_code(x.code()))?;
                line_len.write(n);
                put_hash(hash_out, &signed.hash);
                Ok(())
            })
        }
    })())
}
