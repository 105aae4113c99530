//! Bundle ⇄ file bytes: writing gx's format, and recognising and opening all four.
//!
//! Recognition looks at the first bytes only, in this order: gx's magic (`0x89 'G' 'X'
//! 'B'`), the TypeScript `GTXB` magic, base64 text (the Python client), and otherwise
//! the npm TypeScript layout, which has no magic at all. So a gx file whose magic was
//! damaged is tried as the npm layout and fails authentication: every modified byte of a
//! gx file except its version byte reads as `BUNDLE_TAMPERED`.
//!
//! Memory: the caller's buffer holds the file; decryption happens in place, so the
//! decrypted JSON exists only in that buffer (which the caller zeroizes) and in the
//! parsed [`ConsentBundle`]. One gap remains: serde_json unescapes strings that contain
//! escapes (the PEM's `\n`) in a scratch buffer of its own, which is freed without being
//! wiped.

use base64ct::Encoding;
use zeroize::Zeroizing;

use super::consent::ConsentBundle;
use super::crypto::{self, AesKey};
use super::error::{BundleError, TamperReason};
use super::format::{
    BundleFormat, HEADER_LEN, HeaderV1, KeyDerivation, MAGIC, NONCE_LEN, SALT_LEN, TAG_LEN,
};
use super::key::BundleKey;

const GTXB_MAGIC: &[u8; 4] = b"GTXB";
const GTXB_VERSION: u8 = 1;
/// `GTXB` ‖ version ‖ salt: the GTXB format's associated data.
const GTXB_AAD_LEN: usize = 4 + 1 + SALT_LEN;
/// The npm layout's smallest file: an iv and a tag around an empty ciphertext.
const NPM_MIN_LEN: usize = NONCE_LEN + TAG_LEN;

/// Encrypts `bundle` into gx's format with `key`: a raw key directly, a passphrase
/// through Argon2id with a fresh salt. A fresh random nonce every time.
pub(crate) fn seal(bundle: &ConsentBundle, key: &BundleKey) -> Result<Vec<u8>, BundleError> {
    let nonce = crypto::random::<NONCE_LEN>()?;
    let (kdf, salt, aes_key) = match key.argon2_params() {
        None => (KeyDerivation::RawKey, [0; SALT_LEN], key.raw()?),
        Some(params) => {
            let salt = crypto::random::<SALT_LEN>()?;
            let k = crypto::argon2id(key.passphrase(), &salt, params)?;
            (KeyDerivation::Argon2id(params), salt, k)
        }
    };
    let header = HeaderV1 { kdf, salt, nonce }.encode();
    // Sized so that writing the JSON never reallocates: a reallocation would leave a
    // plaintext copy of the private key in freed memory.
    let mut out = Zeroizing::new(Vec::with_capacity(
        HEADER_LEN + bundle.json_size_hint() + TAG_LEN,
    ));
    out.extend_from_slice(&header);
    serde_json::to_writer(&mut *out, bundle).map_err(|_| BundleError::Crypto {
        what: "bundle serialization failed",
    })?;
    let body = out.get_mut(HEADER_LEN..).unwrap_or_default();
    let tag = crypto::seal(&aes_key, &nonce, &header, body)?;
    out.extend_from_slice(&tag);
    // Only ciphertext is left: hand the bytes out without the zeroizing wrapper.
    Ok(core::mem::take(&mut *out))
}

/// Recognises the format of `file`, decrypts it in place with `key` and parses the bundle.
pub(crate) fn unseal(
    file: &mut [u8],
    key: &BundleKey,
) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    if file.starts_with(&MAGIC) {
        return open_gx(file, key);
    }
    if file.starts_with(GTXB_MAGIC) {
        return open_gtxb(file, key);
    }
    if let Some(text) = base64_text(file) {
        return open_python(text, key);
    }
    if file.len() < NPM_MIN_LEN {
        // Too short for any format (a prefix of a magic, an empty file, ...).
        return Err(BundleError::Tampered {
            format: None,
            reason: TamperReason::Truncated,
        });
    }
    open_npm(file, key)
}

fn open_gx(file: &mut [u8], key: &BundleKey) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    let header = HeaderV1::decode(file)?;
    let format = BundleFormat::Gx(header.kdf);
    let aes_key = match header.kdf {
        KeyDerivation::RawKey => key.raw()?,
        // A hex key is a passphrase here, as in the TypeScript formats.
        KeyDerivation::Argon2id(p) => crypto::argon2id(key.passphrase(), &header.salt, p)?,
    };
    let (head, rest) = file.split_at_mut(HEADER_LEN);
    decrypt_then_parse(&aes_key, &header.nonce, head, rest, Layout::TagLast, format)
}

fn open_gtxb(
    file: &mut [u8],
    key: &BundleKey,
) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    let format = BundleFormat::TsGtxb;
    let version = *file
        .get(4)
        .ok_or(BundleError::tampered(format, TamperReason::Truncated))?;
    if version != GTXB_VERSION {
        return Err(BundleError::UnsupportedFormat {
            family: "TypeScript GTXB",
            version,
            supported: GTXB_VERSION,
        });
    }
    if file.len() < GTXB_AAD_LEN + NONCE_LEN + TAG_LEN {
        return Err(BundleError::tampered(format, TamperReason::Truncated));
    }
    let (aad, rest) = file.split_at_mut(GTXB_AAD_LEN);
    let salt = aad.get(5..).unwrap_or_default();
    let aes_key = crypto::scrypt_gtxb(key.passphrase(), salt)?;
    let (nonce, rest) = split_nonce(rest, format)?;
    decrypt_then_parse(&aes_key, &nonce, aad, rest, Layout::TagFirst, format)
}

fn open_python(text: &str, key: &BundleKey) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    let format = BundleFormat::Python;
    let decoded = base64ct::Base64::decode_vec(text)
        .map_err(|_| BundleError::tampered(format, TamperReason::Encoding))?;
    let mut decoded = Zeroizing::new(decoded);
    if decoded.len() < NONCE_LEN + TAG_LEN {
        return Err(BundleError::tampered(format, TamperReason::Truncated));
    }
    let aes_key = key.raw()?;
    let (nonce, rest) = split_nonce(&mut decoded, format)?;
    decrypt_then_parse(&aes_key, &nonce, &[], rest, Layout::TagLast, format)
}

fn open_npm(
    file: &mut [u8],
    key: &BundleKey,
) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    let format = BundleFormat::TsNpm;
    let aes_key = crypto::sha256_key(key.passphrase());
    let (nonce, rest) = split_nonce(file, format)?;
    decrypt_then_parse(&aes_key, &nonce, &[], rest, Layout::TagFirst, format)
}

/// Where the tag sits relative to the ciphertext.
#[derive(Clone, Copy)]
enum Layout {
    /// `ciphertext ‖ tag` (gx, Python).
    TagLast,
    /// `tag ‖ ciphertext` (both TypeScript formats).
    TagFirst,
}

fn split_nonce(
    buf: &mut [u8],
    format: BundleFormat,
) -> Result<([u8; NONCE_LEN], &mut [u8]), BundleError> {
    let (nonce, rest) = buf
        .split_at_mut_checked(NONCE_LEN)
        .ok_or(BundleError::tampered(format, TamperReason::Truncated))?;
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    Ok((n, rest))
}

/// Authenticates and decrypts `body` (ciphertext and tag) in place, then parses it.
fn decrypt_then_parse(
    key: &AesKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    body: &mut [u8],
    layout: Layout,
    format: BundleFormat,
) -> Result<(ConsentBundle, BundleFormat), BundleError> {
    let truncated = || BundleError::tampered(format, TamperReason::Truncated);
    let (tag, ciphertext) = match layout {
        Layout::TagLast => {
            let at = body.len().checked_sub(TAG_LEN).ok_or_else(truncated)?;
            let (ct, tag) = body.split_at_mut(at);
            (&*tag, ct)
        }
        Layout::TagFirst => {
            let (tag, ct) = body.split_at_mut_checked(TAG_LEN).ok_or_else(truncated)?;
            (&*tag, ct)
        }
    };
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag);
    if !crypto::open(key, nonce, aad, ciphertext, &t) {
        return Err(BundleError::tampered(format, TamperReason::Authentication));
    }
    let bundle = ConsentBundle::from_json(ciphertext)?;
    Ok((bundle, format))
}

/// The file as base64 text (standard alphabet, `=` padding, trailing whitespace allowed),
/// or `None` when it holds any other byte.
fn base64_text(file: &[u8]) -> Option<&str> {
    let text = file.trim_ascii_end();
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if text.is_empty() || !text.iter().all(is_b64) {
        return None;
    }
    core::str::from_utf8(text).ok()
}
