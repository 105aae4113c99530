//! The formats a bundle file can have, and the byte layout of gx's own (version 1).
//!
//! gx's file (all integers little-endian; the whole 46-byte header is the AES-GCM
//! associated data, so changing any header byte fails authentication):
//!
//! ```text
//! offset size  field
//!      0    4  magic 0x89 'G' 'X' 'B'   (0x89: not text, not base64, not "GTXB")
//!      4    1  version = 1
//!      5    1  key derivation: 0 = raw 32-byte key, 1 = Argon2id (v0x13)
//!      6    4  Argon2id memory cost, KiB    (0 for a raw key)
//!     10    4  Argon2id passes              (0 for a raw key)
//!     14    4  Argon2id lanes               (0 for a raw key)
//!     18   16  salt                         (zeros for a raw key)
//!     34   12  AES-GCM nonce (random per write)
//!     46    n  AES-256-GCM ciphertext of the bundle's wire JSON
//!   46+n   16  AES-GCM tag
//! ```
//! See `docs/bundle-file.md` for the reasoning and the peers' layouts.

use core::fmt;

use super::error::{BundleError, TamperReason};
use super::key::Argon2Params;

/// The first bytes of a gx bundle file.
pub(crate) const MAGIC: [u8; 4] = [0x89, b'G', b'X', b'B'];
/// The version this build writes and reads.
pub(crate) const VERSION: u8 = 1;
/// Length of the version-1 header.
pub(crate) const HEADER_LEN: usize = 46;
/// AES-GCM tag length.
pub(crate) const TAG_LEN: usize = 16;
/// AES-GCM nonce length, in every format.
pub(crate) const NONCE_LEN: usize = 12;
/// Salt length of gx's Argon2id and of the TypeScript GTXB format's scrypt.
pub(crate) const SALT_LEN: usize = 16;

const KDF_RAW: u8 = 0;
const KDF_ARGON2ID: u8 = 1;

/// How a gx file's AES key comes from the [`BundleKey`](super::BundleKey).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyDerivation {
    /// The key is the raw 32 bytes (given as 64 hex characters).
    RawKey,
    /// The key is Argon2id(passphrase, salt) with these parameters.
    Argon2id(Argon2Params),
}

/// Which format a bundle file was read in. gx always writes [`BundleFormat::Gx`]; a
/// caller that loaded another format can store the bundle again to migrate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BundleFormat {
    /// gx's own format, version 1 (see the module docs).
    Gx(KeyDerivation),
    /// Python `grantex-gemma` 0.1: `base64(nonce[12] ‖ ciphertext ‖ tag)`, raw hex key,
    /// no associated data.
    Python,
    /// TypeScript `@grantex/gemma` 0.1 from npm: `iv[12] ‖ tag[16] ‖ ciphertext`,
    /// key = SHA-256(passphrase), no associated data.
    TsNpm,
    /// Newer TypeScript source: `"GTXB" ‖ 0x01 ‖ salt[16] ‖ iv[12] ‖ tag[16] ‖ ciphertext`,
    /// key = scrypt(passphrase, salt, N=2^17, r=8, p=1), associated data = first 21 bytes.
    TsGtxb,
}

impl BundleFormat {
    /// Whether this is gx's own format (loading anything else is a candidate for migration).
    pub fn is_gx(&self) -> bool {
        matches!(self, Self::Gx(_))
    }
}

impl fmt::Display for BundleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gx(KeyDerivation::RawKey) => f.write_str("gx v1, raw key"),
            Self::Gx(KeyDerivation::Argon2id(p)) => write!(
                f,
                "gx v1, Argon2id m={} KiB t={} p={}",
                p.m_kib(),
                p.t(),
                p.p()
            ),
            Self::Python => f.write_str("Python grantex-gemma 0.1 format"),
            Self::TsNpm => f.write_str("TypeScript @grantex/gemma 0.1 (npm) format"),
            Self::TsGtxb => f.write_str("TypeScript GTXB v1 format"),
        }
    }
}

/// A parsed version-1 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderV1 {
    pub(crate) kdf: KeyDerivation,
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) nonce: [u8; NONCE_LEN],
}

impl HeaderV1 {
    /// The header's bytes, which are also the associated data.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (kdf, m, t, p) = match self.kdf {
            KeyDerivation::RawKey => (KDF_RAW, 0, 0, 0),
            KeyDerivation::Argon2id(a) => (KDF_ARGON2ID, a.m_kib(), a.t(), a.p()),
        };
        let fields: [&[u8]; 8] = [
            &MAGIC,
            &[VERSION],
            &[kdf],
            &m.to_le_bytes(),
            &t.to_le_bytes(),
            &p.to_le_bytes(),
            &self.salt,
            &self.nonce,
        ];
        let mut at = out.iter_mut();
        for byte in fields.into_iter().flatten() {
            if let Some(slot) = at.next() {
                *slot = *byte;
            }
        }
        out
    }

    /// Reads a header whose magic was recognised. Only a different version byte makes
    /// the file unsupported; inside version 1, any value version 1 never writes can only
    /// come from modification, and is reported as such before any key derivation runs.
    pub(crate) fn decode(file: &[u8]) -> Result<Self, BundleError> {
        let format = BundleFormat::Gx(KeyDerivation::RawKey);
        let version = *file.get(4).ok_or_else(|| truncated(format))?;
        if version != VERSION {
            return Err(BundleError::UnsupportedFormat {
                family: "gx",
                version,
                supported: VERSION,
            });
        }
        let Some(h) = file.get(..HEADER_LEN + TAG_LEN) else {
            return Err(truncated(format));
        };
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(h.get(i..i + 4).unwrap_or(&[0; 4]));
            u32::from_le_bytes(b)
        };
        let (m, t, p) = (u32_at(6), u32_at(10), u32_at(14));
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(h.get(18..34).unwrap_or(&[0; SALT_LEN]));
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(h.get(34..46).unwrap_or(&[0; NONCE_LEN]));
        let kdf = match h.get(5) {
            Some(&KDF_RAW) if (m, t, p) == (0, 0, 0) && salt == [0; SALT_LEN] => {
                KeyDerivation::RawKey
            }
            Some(&KDF_ARGON2ID) => {
                KeyDerivation::Argon2id(Argon2Params::new(m, t, p).map_err(|_| header_invalid())?)
            }
            _ => return Err(header_invalid()),
        };
        Ok(Self { kdf, salt, nonce })
    }
}

fn truncated(format: BundleFormat) -> BundleError {
    BundleError::tampered(format, TamperReason::Truncated)
}

fn header_invalid() -> BundleError {
    BundleError::tampered(
        BundleFormat::Gx(KeyDerivation::RawKey),
        TamperReason::Header,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(h: &HeaderV1) -> Vec<u8> {
        let mut f = h.encode().to_vec();
        f.extend_from_slice(&[0xAA; TAG_LEN]);
        f
    }

    #[test]
    fn header_round_trips_with_the_documented_layout() {
        let h = HeaderV1 {
            kdf: KeyDerivation::Argon2id(Argon2Params::new(19456, 2, 1).unwrap()),
            salt: [7; SALT_LEN],
            nonce: [9; NONCE_LEN],
        };
        let bytes = h.encode();
        assert_eq!(bytes[..6], [0x89, b'G', b'X', b'B', 1, 1]);
        assert_eq!(bytes[6..10], 19456u32.to_le_bytes());
        assert_eq!(bytes[10..14], 2u32.to_le_bytes());
        assert_eq!(bytes[14..18], 1u32.to_le_bytes());
        assert_eq!(bytes[18..34], [7; 16]);
        assert_eq!(bytes[34..46], [9; 12]);
        assert_eq!(HeaderV1::decode(&file_with(&h)).unwrap(), h);
    }

    #[test]
    fn only_the_version_byte_means_unsupported() {
        let h = HeaderV1 {
            kdf: KeyDerivation::RawKey,
            salt: [0; SALT_LEN],
            nonce: [1; NONCE_LEN],
        };
        let mut f = file_with(&h);
        f[4] = 2;
        let e = HeaderV1::decode(&f).unwrap_err();
        assert_eq!(e.code(), "UNSUPPORTED_FORMAT");
        assert!(e.to_string().contains("version 2"), "{e}");
        for (i, v) in [(5, 2), (5, 1), (6, 1), (13, 1), (17, 1), (18, 1), (33, 1)] {
            let mut g = file_with(&h);
            g[i] = v;
            let e = HeaderV1::decode(&g).unwrap_err();
            assert!(
                matches!(
                    e,
                    BundleError::Tampered {
                        reason: TamperReason::Header,
                        ..
                    }
                ),
                "byte {i}: {e}"
            );
        }
        assert_eq!(
            HeaderV1::decode(&f[..4]).unwrap_err().code(),
            "BUNDLE_TAMPERED"
        );
        // The costs a version-1 header may ask for are bounded before any derivation
        // runs: 256 MiB x 16 passes (2.6 s and 267 MB on a laptop) is modification.
        let argon = HeaderV1 {
            kdf: KeyDerivation::Argon2id(Argon2Params::DEFAULT),
            salt: [3; SALT_LEN],
            nonce: [1; NONCE_LEN],
        };
        for (m, t) in [
            (256 * 1024, 16),
            (64 * 1024 + 1, 1),
            (64 * 1024, 3),
            (16 * 1024, 9),
        ] {
            let mut g = file_with(&argon);
            g[6..10].copy_from_slice(&u32::to_le_bytes(m));
            g[10..14].copy_from_slice(&u32::to_le_bytes(t));
            assert!(
                matches!(
                    HeaderV1::decode(&g).unwrap_err(),
                    BundleError::Tampered {
                        reason: TamperReason::Header,
                        ..
                    }
                ),
                "m {m} t {t}"
            );
        }
        let mut short = file_with(&h);
        short.pop();
        assert!(matches!(
            HeaderV1::decode(&short).unwrap_err(),
            BundleError::Tampered {
                reason: TamperReason::Truncated,
                ..
            }
        ));
    }
}
