//! The JWKS snapshot in caller storage: `gx_jwks`, `gx_jwks_parse`, `gx_jwks_free`.
//!
//! A `gx_jwks` is opaque storage of a fixed size (a `static` on a device, as a device
//! keeps its key set) holding gx-core's `JwksSnapshot` and a marker word that says it
//! holds one. The snapshot is parsed in place, never built on the stack. Its usable keys
//! own arena memory (about 1 KiB per RSA-2048 key) until `gx_jwks_free` or the next
//! `gx_jwks_parse` into the same storage releases it.

use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr::addr_of_mut;

use gx_core::{JwksSnapshot, RustCrypto};

use crate::error::status;
use crate::slice::bytes;
use crate::{GxError, heap};

/// The size of `gx_jwks` in 8-byte words (it depends on the pointer width).
#[cfg(target_pointer_width = "32")]
pub const GX_JWKS_WORDS: usize = 400;
/// The size of `gx_jwks` in 8-byte words (it depends on the pointer width).
#[cfg(target_pointer_width = "64")]
pub const GX_JWKS_WORDS: usize = 496;

/// Storage for one parsed JWKS snapshot (opaque; about 3 KiB on 32-bit targets).
///
/// Set up by `gx_jwks_parse`, released by `gx_jwks_free`. Never copy one (assignment,
/// `memcpy`): its keys own arena memory, and two copies would release it twice.
#[repr(C)]
pub struct GxJwks {
    opaque: [u64; GX_JWKS_WORDS],
}

/// What the storage holds.
#[repr(C)]
struct Slot {
    /// [`LIVE`] when `snapshot` is initialised.
    marker: u64,
    snapshot: MaybeUninit<JwksSnapshot<RustCrypto>>,
}

/// The marker of a live snapshot (a zeroed or released storage holds 0).
const LIVE: u64 = 0x6778_6a77_6b73_2131;

const _: () = assert!(size_of::<Slot>() <= size_of::<GxJwks>());
const _: () = assert!(align_of::<Slot>() <= align_of::<GxJwks>());

/// The live snapshot of `jwks`.
///
/// # Safety
/// `jwks` is NULL or points to a `gx_jwks` that is not written during `'a`.
pub(crate) unsafe fn snapshot<'a>(
    jwks: *const GxJwks,
) -> Result<&'a JwksSnapshot<RustCrypto>, GxError> {
    // SAFETY: size and alignment checked above; the caller's contract covers the pointee.
    let slot = unsafe { jwks.cast::<Slot>().as_ref() }.ok_or(GxError::NullArgument)?;
    if slot.marker != LIVE {
        return Err(GxError::NotInitialized);
    }
    // SAFETY: the marker says `snapshot` was initialised by `gx_jwks_parse`.
    Ok(unsafe { slot.snapshot.assume_init_ref() })
}

/// Drops the snapshot in `slot` if it holds one, and clears the marker.
///
/// # Safety
/// `slot` points to writable storage of a `gx_jwks`, initialised or not.
unsafe fn release(slot: *mut Slot) {
    // SAFETY: writable per the caller; the marker is a plain integer, read through a raw
    // pointer so that no reference to uninitialised memory is made.
    unsafe {
        let marker = addr_of_mut!((*slot).marker);
        if marker.read() == LIVE {
            addr_of_mut!((*slot).snapshot)
                .cast::<JwksSnapshot<RustCrypto>>()
                .drop_in_place();
        }
        marker.write(0);
    }
}

/// Parses a JWKS (`{"keys":[...]}`) or a consent bundle's `jwksSnapshot` (`keys`,
/// `fetchedAt`, `validUntil`) into `jwks`, keeping the RS256 keys it can use and skipping
/// the others (EC, OKP, small RSA, ...).
///
/// Ownership: `json` is read during the call only (the snapshot copies what it keeps).
/// `jwks` is caller storage (uninitialised, zeroed, or holding an earlier snapshot,
/// which is released first); from a successful return until `gx_jwks_free` it holds
/// the snapshot, and its keys hold arena memory. On an error the storage holds a
/// snapshot without keys (verification then says `NO_USABLE_KEYS`); free it the same way.
///
/// Returns `GX_ERROR_OK`; `GX_ERROR_MALFORMED_JWKS`, `GX_ERROR_MISSING_KEYS`,
/// `GX_ERROR_TOO_MANY_KEYS`, `GX_ERROR_BAD_TIMESTAMP` for an unreadable document;
/// `GX_ERROR_NULL_ARGUMENT`; `GX_ERROR_HEAP_NOT_INITIALIZED` before `gx_heap_init`.
///
/// # Safety
/// `jwks` points to writable `gx_jwks` storage not used elsewhere during the call;
/// `json` points to `json_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_jwks_parse(
    jwks: *mut GxJwks,
    json: *const u8,
    json_len: usize,
) -> GxError {
    status((|| {
        heap::ready()?;
        if jwks.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: readable per the caller's contract.
        let json = unsafe { bytes(json, json_len) }?;
        let slot = jwks.cast::<Slot>();
        // SAFETY: `slot` is writable storage of the right size and alignment (checked at
        // compile time); it is released, then initialised in place before the marker
        // says so, and only then borrowed.
        let snapshot = unsafe {
            release(slot);
            let snapshot = addr_of_mut!((*slot).snapshot).cast::<JwksSnapshot<RustCrypto>>();
            snapshot.write(JwksSnapshot::empty(RustCrypto));
            addr_of_mut!((*slot).marker).write(LIVE);
            &mut *snapshot
        };
        snapshot
            .parse_in_place(json)
            .map_err(|e| GxError::from_code(e.code()))
    })())
}

/// Releases the snapshot's keys (their arena memory) and marks the storage empty.
/// Safe on storage that holds no snapshot (zeroed, or freed before). NULL is ignored.
///
/// # Safety
/// `jwks` is NULL or points to writable `gx_jwks` storage that no other call is using,
/// and that is zeroed or was last written by `gx_jwks_parse` / `gx_jwks_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_jwks_free(jwks: *mut GxJwks) {
    if !jwks.is_null() {
        // SAFETY: per the caller's contract.
        unsafe { release(jwks.cast::<Slot>()) };
    }
}

/// How many usable RS256 keys the snapshot holds; 0 for NULL or empty storage.
/// Reads `jwks` during the call only.
///
/// # Safety
/// `jwks` is NULL or points to `gx_jwks` storage (zeroed, or set up by `gx_jwks_parse`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_jwks_usable_keys(jwks: *const GxJwks) -> usize {
    // SAFETY: per the caller's contract.
    unsafe { snapshot(jwks) }.map_or(0, |s| s.usable_keys())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_not_much_larger_than_the_snapshot() {
        let need = size_of::<Slot>();
        let have = size_of::<GxJwks>();
        std::eprintln!("JwksSnapshot slot {need} bytes, GxJwks {have} bytes");
        assert!(
            have - need < 1024,
            "GX_JWKS_WORDS wastes {} bytes",
            have - need
        );
    }
}
