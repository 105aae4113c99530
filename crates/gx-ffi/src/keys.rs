//! The bundle's Ed25519 audit keys in caller storage: `gx_signing_key` (private, for
//! signing entries) and `gx_verifying_key` (public, for checking a chain).
//!
//! Both are opaque, fixed-size, hold no heap memory and may be copied. A signing key
//! holds secret material: wipe it with `gx_signing_key_wipe` when done.

use core::mem::{align_of, size_of};

use gx_core::{AuditSigningKey, AuditVerifyingKey};

use crate::GxError;
use crate::error::status;
use crate::slice::bytes;

/// The size of `gx_signing_key` in 8-byte words.
pub const GX_SIGNING_KEY_WORDS: usize = 32;
/// The size of `gx_verifying_key` in 8-byte words.
pub const GX_VERIFYING_KEY_WORDS: usize = 28;

/// A private Ed25519 audit key (opaque). Set up by `gx_signing_key_from_seed` or
/// `gx_signing_key_from_pkcs8_pem`; wipe with `gx_signing_key_wipe`.
#[repr(C)]
pub struct GxSigningKey {
    opaque: [u64; GX_SIGNING_KEY_WORDS],
}

/// A public Ed25519 audit key (opaque). Set up by `gx_verifying_key_from_bytes`,
/// `gx_verifying_key_from_spki_pem` or `gx_signing_key_public`.
#[repr(C)]
pub struct GxVerifyingKey {
    opaque: [u64; GX_VERIFYING_KEY_WORDS],
}

#[repr(C)]
struct SigningSlot {
    marker: u64,
    key: AuditSigningKey,
}

#[repr(C)]
struct VerifyingSlot {
    marker: u64,
    key: AuditVerifyingKey,
}

const SIGNING: u64 = 0x6778_7369_676e_2131;
const VERIFYING: u64 = 0x6778_7665_7269_2131;

const _: () = assert!(size_of::<SigningSlot>() <= size_of::<GxSigningKey>());
const _: () = assert!(align_of::<SigningSlot>() <= align_of::<GxSigningKey>());
const _: () = assert!(size_of::<VerifyingSlot>() <= size_of::<GxVerifyingKey>());
const _: () = assert!(align_of::<VerifyingSlot>() <= align_of::<GxVerifyingKey>());

/// The key in a set-up `gx_signing_key`.
///
/// # Safety
/// `key` is NULL or points to readable `gx_signing_key` storage not written during `'a`.
pub(crate) unsafe fn signing<'a>(key: *const GxSigningKey) -> Result<&'a AuditSigningKey, GxError> {
    // SAFETY: the marker word is an initialised integer in any storage the caller set up
    // (or zeroed); size and alignment are checked at compile time.
    let marker = unsafe { key.cast::<u64>().as_ref() }.ok_or(GxError::NullArgument)?;
    if *marker != SIGNING {
        return Err(GxError::NotInitialized);
    }
    // SAFETY: the marker says a constructor initialised the whole slot.
    Ok(unsafe { &(*key.cast::<SigningSlot>()).key })
}

/// The key in a set-up `gx_verifying_key`.
///
/// # Safety
/// As [`signing`].
pub(crate) unsafe fn verifying<'a>(
    key: *const GxVerifyingKey,
) -> Result<&'a AuditVerifyingKey, GxError> {
    // SAFETY: as in `signing`.
    let marker = unsafe { key.cast::<u64>().as_ref() }.ok_or(GxError::NullArgument)?;
    if *marker != VERIFYING {
        return Err(GxError::NotInitialized);
    }
    // SAFETY: as in `signing`.
    Ok(unsafe { &(*key.cast::<VerifyingSlot>()).key })
}

/// A key from PEM text at `pem`, read by gx-core's `parse`.
///
/// # Safety
/// `pem` is readable for `len` bytes.
unsafe fn from_pem<K>(
    pem: *const u8,
    len: usize,
    parse: fn(&str) -> Result<K, gx_core::KeyError>,
) -> Result<K, GxError> {
    // SAFETY: per the caller's contract.
    let pem = unsafe { bytes(pem, len) }?;
    let pem = core::str::from_utf8(pem).map_err(|_| GxError::InvalidArgument)?;
    parse(pem).map_err(|e| GxError::from_code(e.code()))
}

/// Writes a signing key into `out`.
///
/// # Safety
/// `out` is non-NULL and writable.
unsafe fn put_signing(out: *mut GxSigningKey, key: AuditSigningKey) {
    // SAFETY: size and alignment checked at compile time; `write` does not read (or drop)
    // the old contents.
    unsafe {
        out.cast::<SigningSlot>().write(SigningSlot {
            marker: SIGNING,
            key,
        });
    }
}

/// Writes a verifying key into `out`.
///
/// # Safety
/// `out` is non-NULL and writable.
unsafe fn put_verifying(out: *mut GxVerifyingKey, key: AuditVerifyingKey) {
    // SAFETY: as in `put_signing`.
    unsafe {
        out.cast::<VerifyingSlot>().write(VerifyingSlot {
            marker: VERIFYING,
            key,
        });
    }
}

/// A signing key from its 32-byte Ed25519 seed (the RFC 8032 private key).
///
/// Ownership: `seed` (32 bytes) is read during the call; wipe your copy. `out` is caller
/// storage, written on `GX_ERROR_OK`. Returns `GX_ERROR_OK` or `GX_ERROR_NULL_ARGUMENT`.
///
/// # Safety
/// `seed` is NULL or points to 32 readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_signing_key_from_seed(
    seed: *const u8,
    out: *mut GxSigningKey,
) -> GxError {
    status((|| {
        if seed.is_null() || out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: 32 readable bytes per the caller's contract.
        let seed = unsafe { &*seed.cast::<[u8; 32]>() };
        // SAFETY: `out` is non-NULL and writable.
        unsafe { put_signing(out, AuditSigningKey::from_bytes(seed)) };
        Ok(())
    })())
}

/// A signing key from a `-----BEGIN PRIVATE KEY-----` PKCS#8 PEM (the consent bundle's
/// `offlineAuditKey.privateKey`), `pem_len` bytes.
///
/// Ownership: `pem` is read during the call; `out` is caller storage, written on
/// `GX_ERROR_OK`. Returns `GX_ERROR_OK`, `GX_ERROR_KEY_BAD_PEM`, `GX_ERROR_KEY_BAD_DER`,
/// `GX_ERROR_KEY_MISMATCHED_PUBLIC`, `GX_ERROR_INVALID_ARGUMENT` (not UTF-8) or
/// `GX_ERROR_NULL_ARGUMENT`.
///
/// # Safety
/// `pem` is readable for `pem_len` bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_signing_key_from_pkcs8_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut GxSigningKey,
) -> GxError {
    status((|| {
        if out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: per the caller's contract.
        let key = unsafe { from_pem(pem, pem_len, AuditSigningKey::from_pkcs8_pem) }?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { put_signing(out, key) };
        Ok(())
    })())
}

/// The public half of a signing key, into `out`.
///
/// Ownership: `key` is read during the call; `out` is caller storage, written on
/// `GX_ERROR_OK`, and keeps no reference to `key`. Returns `GX_ERROR_OK`,
/// `GX_ERROR_NULL_ARGUMENT` or `GX_ERROR_NOT_INITIALIZED`.
///
/// # Safety
/// `key` is NULL or points to `gx_signing_key` storage; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_signing_key_public(
    key: *const GxSigningKey,
    out: *mut GxVerifyingKey,
) -> GxError {
    status((|| {
        // SAFETY: per the caller's contract.
        let key = unsafe { signing(key) }?;
        if out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: `out` is non-NULL and writable.
        unsafe { put_verifying(out, key.verifying_key()) };
        Ok(())
    })())
}

/// Wipes a signing key: its secret is overwritten with zeros (the storage is then
/// "not initialised"). NULL and storage that holds no key are ignored.
///
/// # Safety
/// `key` is NULL or points to writable `gx_signing_key` storage no other call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_signing_key_wipe(key: *mut GxSigningKey) {
    if key.is_null() {
        return;
    }
    // SAFETY: writable storage per the caller's contract. A live key is dropped in
    // place (gx-core zeroizes it on drop); then every word is zeroed with volatile
    // writes, so the wipe is not optimised away.
    unsafe {
        if key.cast::<u64>().read() == SIGNING {
            core::ptr::addr_of_mut!((*key.cast::<SigningSlot>()).key).drop_in_place();
        }
        let words = key.cast::<u64>();
        for i in 0..GX_SIGNING_KEY_WORDS {
            words.add(i).write_volatile(0);
        }
    }
}

/// A verifying key from its 32 public key bytes (`pk`).
///
/// Ownership: `pk` is read during the call; `out` is caller storage, written on `GX_ERROR_OK`.
/// Returns `GX_ERROR_OK`, `GX_ERROR_KEY_INVALID_PUBLIC` or `GX_ERROR_NULL_ARGUMENT`.
///
/// # Safety
/// `pk` is NULL or points to 32 readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_verifying_key_from_bytes(
    pk: *const u8,
    out: *mut GxVerifyingKey,
) -> GxError {
    status((|| {
        if pk.is_null() || out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: 32 readable bytes per the caller's contract.
        let pk = unsafe { &*pk.cast::<[u8; 32]>() };
        let key = AuditVerifyingKey::from_bytes(pk).map_err(|e| GxError::from_code(e.code()))?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { put_verifying(out, key) };
        Ok(())
    })())
}

/// A verifying key from a `-----BEGIN PUBLIC KEY-----` SPKI PEM (`pem_len` bytes).
///
/// Ownership: `pem` is read during the call; `out` is caller storage, written on
/// `GX_ERROR_OK`. Returns `GX_ERROR_OK`, `GX_ERROR_KEY_BAD_PEM`, `GX_ERROR_KEY_BAD_DER`,
/// `GX_ERROR_KEY_INVALID_PUBLIC`, `GX_ERROR_INVALID_ARGUMENT` or `GX_ERROR_NULL_ARGUMENT`.
///
/// # Safety
/// `pem` is readable for `pem_len` bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_verifying_key_from_spki_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut GxVerifyingKey,
) -> GxError {
    status((|| {
        if out.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: per the caller's contract.
        let key = unsafe { from_pem(pem, pem_len, AuditVerifyingKey::from_spki_pem) }?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { put_verifying(out, key) };
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_fits_the_keys() {
        std::eprintln!(
            "signing slot {} of {}, verifying slot {} of {}",
            size_of::<SigningSlot>(),
            size_of::<GxSigningKey>(),
            size_of::<VerifyingSlot>(),
            size_of::<GxVerifyingKey>()
        );
        assert!(size_of::<GxSigningKey>() - size_of::<SigningSlot>() < 64);
        assert!(size_of::<GxVerifyingKey>() - size_of::<VerifyingSlot>() < 64);
    }
}
