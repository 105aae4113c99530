//! The primitives under the bundle formats: AES-256-GCM in place, the three key
//! derivations (Argon2id, scrypt, SHA-256) and the system RNG.
//!
//! Every derived key lives in a `Zeroizing` array. AES-GCM works in place on the
//! caller's buffer, so the plaintext exists only where the caller put it.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, Generate, KeyInit};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::BundleError;
use super::format::{NONCE_LEN, TAG_LEN};
use super::key::Argon2Params;

/// A 32-byte AES key that is wiped when dropped.
pub(crate) type AesKey = Zeroizing<[u8; 32]>;

/// Encrypts `buf` in place and returns the tag.
pub(crate) fn seal(
    key: &AesKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], BundleError> {
    let cipher = Aes256Gcm::new((&**key).into());
    cipher
        .encrypt_inout_detached(nonce.into(), aad, buf.into())
        .map(Into::into)
        // Only a plaintext above 64 GiB can fail.
        .map_err(|_| BundleError::Crypto {
            what: "AES-GCM refused the plaintext length",
        })
}

/// Decrypts `buf` in place; `false` when the tag does not match (wrong key or modified
/// bytes), in which case `buf` holds garbage the caller must discard.
#[must_use]
pub(crate) fn open(
    key: &AesKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    let cipher = Aes256Gcm::new((&**key).into());
    cipher
        .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
        .is_ok()
}

/// Argon2id (v0x13) of a passphrase, gx's passphrase derivation.
pub(crate) fn argon2id(
    passphrase: &[u8],
    salt: &[u8],
    params: Argon2Params,
) -> Result<AesKey, BundleError> {
    let failed = |_| BundleError::Crypto {
        what: "Argon2id key derivation failed (out of memory?)",
    };
    let params =
        argon2::Params::new(params.m_kib(), params.t(), params.p(), Some(32)).map_err(failed)?;
    let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    kdf.hash_password_into(passphrase, salt, &mut *out)
        .map_err(failed)?;
    Ok(out)
}

/// scrypt(N=2^17, r=8, p=1) of a passphrase: the TypeScript GTXB format's derivation.
/// Takes 128 MiB and a few hundred milliseconds, fixed by that format.
pub(crate) fn scrypt_gtxb(passphrase: &[u8], salt: &[u8]) -> Result<AesKey, BundleError> {
    let failed = || BundleError::Crypto {
        what: "scrypt key derivation failed",
    };
    let params = scrypt::Params::new(17, 8, 1).map_err(|_| failed())?;
    let mut out = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, salt, &params, &mut *out).map_err(|_| failed())?;
    Ok(out)
}

/// SHA-256 of a passphrase: the npm TypeScript format's (weak, unsalted) derivation.
pub(crate) fn sha256_key(passphrase: &[u8]) -> AesKey {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&Sha256::digest(passphrase));
    out
}

/// `N` bytes from the operating system's RNG.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], BundleError> {
    <[u8; N]>::try_generate().map_err(|_| BundleError::Crypto {
        what: "the system random number generator failed",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_detects_changes() {
        let key = Zeroizing::new([3u8; 32]);
        let nonce = [5u8; NONCE_LEN];
        let mut buf = *b"consent bundle json";
        let tag = seal(&key, &nonce, b"header", &mut buf).unwrap();
        assert_ne!(&buf, b"consent bundle json");
        let sealed = buf;
        assert!(open(&key, &nonce, b"header", &mut buf, &tag));
        assert_eq!(&buf, b"consent bundle json");
        let mut again = sealed;
        assert!(!open(&key, &nonce, b"headeR", &mut again, &tag));
        let mut again = sealed;
        assert!(!open(
            &Zeroizing::new([4u8; 32]),
            &nonce,
            b"header",
            &mut again,
            &tag
        ));
    }

    #[test]
    fn sha256_key_matches_a_known_vector() {
        // SHA-256("abc").
        assert_eq!(sha256_key(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn argon2id_is_deterministic_and_salted() {
        let p = Argon2Params::new(64, 1, 1).unwrap();
        let a = argon2id(b"password", b"saltsaltsaltsalt", p).unwrap();
        let b = argon2id(b"password", b"saltsaltsaltsalT", p).unwrap();
        let a2 = argon2id(b"password", b"saltsaltsaltsalt", p).unwrap();
        assert_eq!(*a, *a2);
        assert_ne!(*a, *b);
    }

    #[test]
    fn random_bytes_differ() {
        assert_ne!(random::<16>().unwrap(), random::<16>().unwrap());
    }
}
