//! The streaming chain verifier in caller storage: `gx_chain`, fed one wire line at a
//! time, reporting the first break (`gx_chain_break`) or the verified head
//! (`gx_chain_head`).
//!
//! Constant memory: the storage holds gx-core's `ChainVerifier` (the last `seq` and
//! hash, the count and the first break) and a pointer to the caller's verifying key.
//! Nothing is allocated. Call order: `gx_chain_init` → `gx_chain_push_line` (or
//! `gx_chain_push_jsonl`) for each entry in order → `gx_chain_finish`.

use core::mem::{align_of, size_of};

use gx_core::{ChainAnchor, ChainBreak, ChainHead, ChainVerifier, EntryHash};

use crate::error::status;
use crate::keys::verifying;
use crate::slice::bytes;
use crate::{GxError, GxVerifyingKey};

/// The size of `gx_chain` in 8-byte words.
pub const GX_CHAIN_WORDS: usize = 16;

/// A chain verifier's state (opaque). Set up by `gx_chain_init`; holds no heap memory
/// and needs no release. It points to the `gx_verifying_key` given to `gx_chain_init`,
/// which must stay valid and unchanged while the chain is used.
#[repr(C)]
pub struct GxChain {
    opaque: [u64; GX_CHAIN_WORDS],
}

/// The first entry at which a chain failed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxChainBreak {
    /// 0-based position of the failing entry among those pushed.
    pub index: u64,
    /// The entry's `seq`, when `has_seq` (the line could be parsed).
    pub seq: u64,
    /// Whether `seq` is known.
    pub has_seq: bool,
    /// Why: `GX_ERROR_INVALID_ENTRY`, `_INVALID_HASH`, `_BROKEN_CHAIN`, `_SEQ_GAP`,
    /// `_INVALID_SIGNATURE` or `_BAD_GENESIS`.
    pub code: GxError,
}

/// Where a verified chain ends.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxChainHead {
    /// How many entries were verified.
    pub entries: u64,
    /// The last entry's `seq` (or the anchor's), when `has_last`.
    pub last_seq: u64,
    /// The last entry's hash (or the anchor's), when `has_last`.
    pub last_hash: [u8; 32],
    /// `false` only for an empty chain from genesis.
    pub has_last: bool,
}

#[repr(C)]
struct Slot {
    marker: u64,
    verifier: ChainVerifier<'static>,
}

const LIVE: u64 = 0x6778_6368_6169_2131;

const _: () = assert!(size_of::<Slot>() <= size_of::<GxChain>());
const _: () = assert!(align_of::<Slot>() <= align_of::<GxChain>());

/// The verifier in a set-up chain.
///
/// # Safety
/// `chain` is NULL or points to `GxChain` storage (zeroed, or set up by `gx_chain_init`)
/// that no other call uses during `'a`, and whose key is still valid.
unsafe fn verifier<'a>(chain: *mut GxChain) -> Result<&'a mut ChainVerifier<'static>, GxError> {
    // SAFETY: the marker is an initialised integer in any storage the caller set up or
    // zeroed; size and alignment are checked at compile time.
    let marker = unsafe { chain.cast::<u64>().as_ref() }.ok_or(GxError::NullArgument)?;
    if *marker != LIVE {
        return Err(GxError::NotInitialized);
    }
    // SAFETY: the marker says `gx_chain_init` initialised the slot; exclusive per the
    // caller's contract.
    Ok(unsafe { &mut (*chain.cast::<Slot>()).verifier })
}

fn break_code(b: ChainBreak) -> GxError {
    GxError::from_code(b.code.code())
}

/// Starts a chain verifier in `chain` (caller storage) that checks signatures under
/// `key`. `anchor_hash` NULL: the chain starts at genesis (`seq` 1, `prevHash` of sixteen
/// zeros). Otherwise it resumes after an entry already trusted (the server's last
/// confirmed one): `anchor_seq` and its 32-byte hash `anchor_hash`.
///
/// Ownership: `anchor_hash` is read during the call. `key` is borrowed: it must stay
/// valid and unchanged until the chain is no longer used. Returns `GX_ERROR_OK`,
/// `GX_ERROR_NULL_ARGUMENT` or `GX_ERROR_NOT_INITIALIZED` (key never set up).
///
/// # Safety
/// `chain` is NULL or writable; `key` is NULL or `gx_verifying_key` storage that outlives
/// every use of `chain`; `anchor_hash` is NULL or 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_chain_init(
    chain: *mut GxChain,
    key: *const GxVerifyingKey,
    anchor_hash: *const u8,
    anchor_seq: u64,
) -> GxError {
    status((|| {
        if chain.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: per the caller's contract the key outlives the chain, which is what the
        // 'static of the stored verifier stands for.
        let key = unsafe { verifying(key) }?;
        let anchor = if anchor_hash.is_null() {
            ChainAnchor::Genesis
        } else {
            ChainAnchor::After {
                seq: anchor_seq,
                // SAFETY: 32 readable bytes per the caller's contract.
                hash: EntryHash::from_bytes(unsafe {
                    anchor_hash.cast::<[u8; 32]>().read_unaligned()
                }),
            }
        };
        // SAFETY: writable storage of the right size and alignment; `write` does not read
        // the old contents.
        unsafe {
            chain.cast::<Slot>().write(Slot {
                marker: LIVE,
                verifier: ChainVerifier::new(anchor, key),
            });
        }
        Ok(())
    })())
}

/// Checks the next entry: one wire line of `len` bytes (a trailing `\n` is allowed).
///
/// Ownership: `line` is read during the call only. Returns `GX_ERROR_OK` when the chain is
/// intact so far; otherwise the code of the chain's **first** break (it sticks: later
/// calls return it again without looking at their line); `GX_ERROR_NULL_ARGUMENT`,
/// `GX_ERROR_NOT_INITIALIZED`.
///
/// # Safety
/// `chain` as for `gx_chain_init` (set up, key still valid, no concurrent use); `line`
/// readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_chain_push_line(
    chain: *mut GxChain,
    line: *const u8,
    len: usize,
) -> GxError {
    status((|| {
        // SAFETY: per the caller's contract.
        let (v, line) = unsafe { (verifier(chain)?, bytes(line, len)?) };
        v.push_line(line).map_err(break_code)
    })())
}

/// Checks every line of a JSONL buffer (`len` bytes; lines split at `\n`, empty lines
/// skipped), as `gx_chain_push_line` would one by one; stops at the first break.
///
/// Ownership and results: as `gx_chain_push_line`.
///
/// # Safety
/// As `gx_chain_push_line`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_chain_push_jsonl(
    chain: *mut GxChain,
    jsonl: *const u8,
    len: usize,
) -> GxError {
    status((|| {
        // SAFETY: per the caller's contract.
        let (v, text) = unsafe { (verifier(chain)?, bytes(jsonl, len)?) };
        for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            v.push_line(line).map_err(break_code)?;
        }
        Ok(())
    })())
}

/// The chain's first break, into `out`: `true` when there is one, `false` (and `out`
/// untouched) when the chain is intact so far or `chain` is NULL or not set up.
///
/// Ownership: `chain` is read during the call; `out` is caller storage (a plain value,
/// nothing in it points anywhere).
///
/// # Safety
/// `chain` as for `gx_chain_push_line`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_chain_first_break(chain: *mut GxChain, out: *mut GxChainBreak) -> bool {
    // SAFETY: per the caller's contract.
    let Ok(v) = (unsafe { verifier(chain) }) else {
        return false;
    };
    match (v.broken(), out.is_null()) {
        (Some(b), false) => {
            // SAFETY: `out` is non-NULL and writable.
            unsafe {
                out.write(GxChainBreak {
                    index: b.index,
                    seq: b.seq.unwrap_or(0),
                    has_seq: b.seq.is_some(),
                    code: break_code(b),
                });
            }
            true
        }
        _ => false,
    }
}

/// Ends verification: `GX_ERROR_OK` with the head of the verified chain in `out` (where to
/// resume next time), or the first break's code (see `gx_chain_first_break` for its
/// position). The chain may still be pushed to after.
///
/// Ownership: `chain` is read during the call; `out` is caller storage, written on
/// `GX_ERROR_OK` (a plain value, nothing in it points anywhere).
///
/// # Safety
/// `chain` as for `gx_chain_push_line`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_chain_finish(chain: *mut GxChain, out: *mut GxChainHead) -> GxError {
    status((|| {
        // SAFETY: per the caller's contract.
        let v = unsafe { verifier(chain) }?;
        if out.is_null() {
            return Err(GxError::NullArgument);
        }
        let ChainHead { entries, last } = v.clone().finish().map_err(break_code)?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe {
            out.write(GxChainHead {
                entries,
                last_seq: last.map_or(0, |(s, _)| s),
                last_hash: last.map_or([0; 32], |(_, h)| *h.as_bytes()),
                has_last: last.is_some(),
            });
        }
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_fits_the_verifier() {
        std::eprintln!(
            "chain slot {} of {}",
            size_of::<Slot>(),
            size_of::<GxChain>()
        );
        assert!(size_of::<GxChain>() - size_of::<Slot>() < 64);
    }
}
