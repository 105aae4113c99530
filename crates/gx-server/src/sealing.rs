//! Signing keys at rest: AES-256-GCM under a key-encryption key the operator supplies.
//!
//! A sealed private key is `GXKEK1 || nonce[12] || ciphertext || tag[16]`, with the key's
//! `kid` as associated data, so a sealed key cannot be moved to another `kid`'s row
//! unnoticed. The key-encryption key comes from `GX_SERVER_KEK` (64 hex characters) or a
//! file holding them (`--kek-file`, `GX_SERVER_KEK_FILE`); see `docs/server.md`. Without
//! one, signing keys are stored as plain PKCS#8 and the server warns at start.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::error::ServerError;

/// The header of a sealed private key.
const MAGIC: &[u8] = b"GXKEK1";

/// The environment variable holding the key-encryption key as 64 hex characters.
pub const KEK_ENV: &str = "GX_SERVER_KEK";

/// The operator's key-encryption key for signing keys at rest (32 bytes, AES-256-GCM).
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct KeyEncryptionKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl KeyEncryptionKey {
    /// Reads 64 hex characters (surrounding whitespace allowed, e.g. a file's newline).
    ///
    /// # Errors
    /// [`ServerError::InvalidConfig`] when the text is not exactly 32 bytes of hex; the
    /// error never repeats the text.
    pub fn from_hex(text: &str) -> Result<Self, ServerError> {
        let text = text.trim().as_bytes();
        let mut key = Zeroizing::new([0u8; 32]);
        if text.len() != 64 {
            return Err(ServerError::InvalidConfig(
                "the key-encryption key must be 64 hex characters",
            ));
        }
        for (slot, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
            match (
                pair.first().copied().and_then(hex_digit),
                pair.get(1).copied().and_then(hex_digit),
            ) {
                (Some(hi), Some(lo)) => *slot = hi << 4 | lo,
                _ => {
                    return Err(ServerError::InvalidConfig(
                        "the key-encryption key must be 64 hex characters",
                    ));
                }
            }
        }
        Ok(Self(key))
    }

    /// Reads the key from `file` when given, else from [`KEK_ENV`]; `None` when neither
    /// is set.
    ///
    /// # Errors
    /// [`ServerError::KekFile`] when the file cannot be read, and the errors of
    /// [`from_hex`](Self::from_hex).
    pub fn from_file_or_env(file: Option<&Path>) -> Result<Option<Self>, ServerError> {
        if let Some(path) = file {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| ServerError::KekFile(path.to_owned(), e))?,
            );
            return Self::from_hex(&text).map(Some);
        }
        match std::env::var(KEK_ENV) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Self::from_hex(&text).map(Some)
            }
            Err(_) => Ok(None),
        }
    }

    fn cipher(&self) -> Result<LessSafeKey, ServerError> {
        UnboundKey::new(&AES_256_GCM, self.0.as_slice())
            .map(LessSafeKey::new)
            .map_err(|_| ServerError::KeyGeneration)
    }

    /// Seals a private key for storage under `kid`.
    pub(crate) fn seal(&self, kid: &str, plain: &[u8]) -> Result<Vec<u8>, ServerError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| ServerError::KeyGeneration)?;
        let mut body = Zeroizing::new(plain.to_vec());
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut *body,
            )
            .map_err(|_| ServerError::KeyGeneration)?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a key sealed by [`seal`](Self::seal) under the same `kid`.
    pub(crate) fn open(&self, kid: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, ServerError> {
        let wrong = || ServerError::KeyDecryption(kid.to_owned());
        let rest = sealed.strip_prefix(MAGIC).ok_or_else(wrong)?;
        let (nonce, body) = rest.split_at_checked(NONCE_LEN).ok_or_else(wrong)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain_len = self
            .cipher()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut body)
            .map_err(|_| wrong())?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

/// Whether stored private-key bytes are sealed (else they are plain PKCS#8 DER).
pub(crate) fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_the_kid() {
        let kek = KeyEncryptionKey::from_hex(&"ab".repeat(32)).unwrap();
        let sealed = kek.seal("grantex-2026-12", b"private").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(&**kek.open("grantex-2026-12", &sealed).unwrap(), b"private");
        assert_eq!(
            kek.open("grantex-2026-11", &sealed).unwrap_err().code(),
            "KEY_DECRYPTION"
        );
        let other = KeyEncryptionKey::from_hex(&"cd".repeat(32)).unwrap();
        assert_eq!(
            other.open("grantex-2026-12", &sealed).unwrap_err().code(),
            "KEY_DECRYPTION"
        );
        assert!(KeyEncryptionKey::from_hex("abc").is_err());
        assert!(KeyEncryptionKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(<redacted>)");
    }
}
