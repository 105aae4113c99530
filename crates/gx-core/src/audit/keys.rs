//! Ed25519 audit keys: reading them from the bundle's PEMs, raw bytes or a JWK, and
//! signing/verifying entries.
//!
//! An entry is signed over the ASCII of its 64-character lowercase hex hash (not the 32
//! digest bytes), and the signature is written as 128 lowercase hex. The private key
//! lives inside `ed25519_dalek::SigningKey`, which zeroizes on drop; temporary buffers
//! holding key material are zeroized too, and `Debug` never shows the secret.

use core::fmt;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use zeroize::Zeroizing;

use super::entry::{AsciiBuf, AuditEntry, EntryHash, EntrySignature, SignedAuditEntry};
use super::error::{BreakCode, EntryError, KeyError};
use super::fields::{members, string_at};
use crate::json::{Dialect, body_eq, skip_value};

/// PKCS#8 v1 (RFC 8410) prefix of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// PKCS#8 v2 (OneAsymmetricKey) prefix; seed, then `[1] BIT STRING` with the public key.
const PKCS8_V2: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const PKCS8_V2_PUB: [u8; 3] = [0x81, 0x21, 0x00];
/// SubjectPublicKeyInfo prefix of an Ed25519 public key; the 32 key bytes follow.
const SPKI: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Decodes the body of a PEM block with this label into `out` (whitespace ignored).
fn pem_decode<'o>(pem: &str, label: &str, out: &'o mut [u8]) -> Result<&'o [u8], KeyError> {
    let mut begin = [0u8; 40];
    let mut end = [0u8; 40];
    let b = frame(&mut begin, "-----BEGIN ", label)?;
    let e = frame(&mut end, "-----END ", label)?;
    let start = find(pem.as_bytes(), b).ok_or(KeyError::Pem)? + b.len();
    let rest = pem.as_bytes().get(start..).unwrap_or_default();
    let stop = find(rest, e).ok_or(KeyError::Pem)?;
    if !pem
        .as_bytes()
        .get(start + stop + e.len()..)
        .unwrap_or_default()
        .iter()
        .all(u8::is_ascii_whitespace)
    {
        return Err(KeyError::Pem);
    }
    let mut b64 = Zeroizing::new([0u8; 256]);
    let mut n = 0;
    for &c in rest.get(..stop).unwrap_or_default() {
        if c.is_ascii_whitespace() {
            continue;
        }
        *b64.get_mut(n).ok_or(KeyError::Pem)? = c;
        n += 1;
    }
    Base64::decode(b64.get(..n).unwrap_or_default(), out).map_err(|_| KeyError::Pem)
}

fn frame<'b>(buf: &'b mut [u8; 40], head: &str, label: &str) -> Result<&'b [u8], KeyError> {
    let parts = [head.as_bytes(), label.as_bytes(), b"-----"];
    let mut n = 0;
    for p in parts {
        buf.get_mut(n..n + p.len())
            .ok_or(KeyError::Pem)?
            .copy_from_slice(p);
        n += p.len();
    }
    Ok(buf.get(..n).unwrap_or_default())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pem_encode<const N: usize>(label: &str, der: &[u8]) -> AsciiBuf<N> {
    let mut buf = Zeroizing::new([0u8; N]);
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(dst) = buf.get_mut(n..n + bytes.len()) {
            dst.copy_from_slice(bytes);
            n += bytes.len();
        }
    };
    put(b"-----BEGIN ");
    put(label.as_bytes());
    put(b"-----\n");
    let mut b64 = Zeroizing::new([0u8; 128]);
    if let Ok(s) = Base64::encode(der, &mut *b64) {
        put(s.as_bytes());
    }
    put(b"\n-----END ");
    put(label.as_bytes());
    put(b"-----\n");
    AsciiBuf::from_parts(*buf, n)
}

/// Reads `kty`, `crv`, `x` and `d` of an OKP JWK (other members ignored).
fn jwk_parts(jwk: &str, x: &mut [u8; 32], d: &mut [u8; 32]) -> Result<bool, KeyError> {
    let (mut kty, mut crv, mut has_x, mut has_d) = (false, false, false, false);
    members(jwk, |key, esc, _, i| {
        let (body, vesc, end) = match string_at(jwk, i, super::error::Field::Hash) {
            Ok(v) => v,
            Err(_) => {
                return skip_value(jwk.as_bytes(), i, Dialect::JS)
                    .map_err(|_| EntryError::NotAnObject);
            }
        };
        let b64 = |out: &mut [u8; 32]| {
            let ok = !vesc
                && Base64UrlUnpadded::decode(body, out)
                    .map(|s| s.len() == 32)
                    .unwrap_or(false);
            if ok {
                Ok(())
            } else {
                Err(EntryError::NotAnObject)
            }
        };
        if body_eq(key, esc, "kty") {
            kty = body_eq(body.as_bytes(), vesc, "OKP");
        } else if body_eq(key, esc, "crv") {
            crv = body_eq(body.as_bytes(), vesc, "Ed25519");
        } else if body_eq(key, esc, "x") {
            b64(x)?;
            has_x = true;
        } else if body_eq(key, esc, "d") {
            b64(d)?;
            has_d = true;
        }
        Ok(end)
    })
    .map_err(|_| KeyError::Jwk)?;
    if kty && crv && has_x {
        Ok(has_d)
    } else {
        Err(KeyError::Jwk)
    }
}

/// The private audit key of a bundle.
///
/// Zeroized on drop; `Debug` shows only the public half.
pub struct AuditSigningKey {
    key: SigningKey,
}

impl AuditSigningKey {
    /// From the 32-byte Ed25519 seed (the RFC 8032 private key).
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// From PKCS#8 DER (v1, or v2 with the public key, which must match).
    ///
    /// # Errors
    /// [`KeyError::Der`] for anything but an Ed25519 PKCS#8 structure;
    /// [`KeyError::MismatchedPublicKey`] when the embedded public key differs.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        let (prefix, tail) = der.split_at_checked(16).ok_or(KeyError::Der)?;
        let (s, rest) = tail.split_at_checked(32).ok_or(KeyError::Der)?;
        seed.copy_from_slice(s);
        let key = Self::from_bytes(&seed);
        if prefix == PKCS8_V1 && rest.is_empty() {
            return Ok(key);
        }
        if prefix == PKCS8_V2 && rest.len() == 35 && rest.starts_with(&PKCS8_V2_PUB) {
            return if rest.get(3..) == Some(&key.verifying_key().to_bytes()[..]) {
                Ok(key)
            } else {
                Err(KeyError::MismatchedPublicKey)
            };
        }
        Err(KeyError::Der)
    }

    /// From a `-----BEGIN PRIVATE KEY-----` PEM (the bundle's `offlineAuditKey.privateKey`).
    ///
    /// # Errors
    /// [`KeyError::Pem`] or the errors of [`Self::from_pkcs8_der`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let mut der = Zeroizing::new([0u8; 128]);
        let der = pem_decode(pem, "PRIVATE KEY", &mut *der)?;
        Self::from_pkcs8_der(der)
    }

    /// From a private OKP JWK (`{"kty":"OKP","crv":"Ed25519","x":...,"d":...}`).
    ///
    /// # Errors
    /// [`KeyError::Jwk`] when `d` or another member is missing or malformed;
    /// [`KeyError::MismatchedPublicKey`] when `x` does not match `d`.
    pub fn from_jwk(jwk: &str) -> Result<Self, KeyError> {
        let mut x = [0u8; 32];
        let mut d = Zeroizing::new([0u8; 32]);
        if !jwk_parts(jwk, &mut x, &mut d)? {
            return Err(KeyError::Jwk);
        }
        let key = Self::from_bytes(&d);
        if key.verifying_key().to_bytes() != x {
            return Err(KeyError::MismatchedPublicKey);
        }
        Ok(key)
    }

    /// The public half.
    pub fn verifying_key(&self) -> AuditVerifyingKey {
        AuditVerifyingKey {
            key: self.key.verifying_key(),
        }
    }

    /// The key as a PKCS#8 v1 PEM, the form a bundle carries. Zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<AsciiBuf<128>> {
        let mut der = Zeroizing::new([0u8; 48]);
        der[..16].copy_from_slice(&PKCS8_V1);
        der[16..].copy_from_slice(self.key.as_bytes());
        Zeroizing::new(pem_encode("PRIVATE KEY", &*der))
    }

    /// Signs an entry hash: Ed25519 over its 64 hex characters.
    pub fn sign_hash(&self, hash: &EntryHash) -> EntrySignature {
        EntrySignature::from_bytes(self.key.sign(hash.to_hex().as_bytes()).to_bytes())
    }

    /// Checks the entry's shape, hashes and signs it.
    ///
    /// # Errors
    /// [`EntryError`] when the entry breaks a shape rule or its metadata exceeds the
    /// working memory for hashing.
    pub fn sign_entry<'a>(
        &self,
        entry: AuditEntry<'a>,
    ) -> Result<SignedAuditEntry<'a>, EntryError> {
        entry.check_shape()?;
        let hash = entry.hash()?;
        Ok(SignedAuditEntry {
            entry,
            hash,
            signature: self.sign_hash(&hash),
        })
    }
}

impl fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigningKey")
            .field("public", &self.verifying_key().jwk_x())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The public audit key: checks entry signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuditVerifyingKey {
    key: VerifyingKey,
}

impl AuditVerifyingKey {
    /// From the 32 public key bytes.
    ///
    /// # Errors
    /// [`KeyError::InvalidPublicKey`] when they are not a valid point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(|key| Self { key })
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// From SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`KeyError::Der`] for anything but an Ed25519 SPKI; [`KeyError::InvalidPublicKey`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let (prefix, key) = der.split_at_checked(12).ok_or(KeyError::Der)?;
        let key: &[u8; 32] = key.try_into().map_err(|_| KeyError::Der)?;
        if prefix != SPKI {
            return Err(KeyError::Der);
        }
        Self::from_bytes(key)
    }

    /// From a `-----BEGIN PUBLIC KEY-----` PEM (the bundle's `offlineAuditKey.publicKey`).
    ///
    /// # Errors
    /// [`KeyError::Pem`] or the errors of [`Self::from_spki_der`].
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let mut der = [0u8; 96];
        let der = pem_decode(pem, "PUBLIC KEY", &mut der)?;
        Self::from_spki_der(der)
    }

    /// From an OKP JWK's JSON text, `{"kty":"OKP","crv":"Ed25519","x":...}` (other
    /// members, including a private `d`, are ignored).
    ///
    /// # Errors
    /// [`KeyError::Jwk`]; [`KeyError::InvalidPublicKey`].
    pub fn from_jwk(jwk: &str) -> Result<Self, KeyError> {
        let mut x = [0u8; 32];
        let mut d = Zeroizing::new([0u8; 32]);
        jwk_parts(jwk, &mut x, &mut d)?;
        Self::from_bytes(&x)
    }

    /// From a JWK's `x` (unpadded base64url of the 32 key bytes).
    ///
    /// # Errors
    /// [`KeyError::Jwk`]; [`KeyError::InvalidPublicKey`].
    pub fn from_jwk_x(x: &str) -> Result<Self, KeyError> {
        let mut b = [0u8; 32];
        match Base64UrlUnpadded::decode(x, &mut b) {
            Ok(s) if s.len() == 32 => Self::from_bytes(&b),
            _ => Err(KeyError::Jwk),
        }
    }

    /// The 32 public key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key as an SPKI PEM, as Node's `export({type:"spki",format:"pem"})` writes it.
    pub fn to_spki_pem(&self) -> AsciiBuf<128> {
        let mut der = [0u8; 44];
        der[..12].copy_from_slice(&SPKI);
        der[12..].copy_from_slice(self.key.as_bytes());
        pem_encode("PUBLIC KEY", &der)
    }

    /// The JWK `x`: unpadded base64url of the key bytes (43 characters).
    pub fn jwk_x(&self) -> AsciiBuf<43> {
        let mut buf = [0u8; 43];
        let n = Base64UrlUnpadded::encode(self.key.as_bytes(), &mut buf).map_or(0, str::len);
        AsciiBuf::from_parts(buf, n)
    }

    /// The public JWK, `{"kty":"OKP","crv":"Ed25519","x":"..."}`.
    pub fn to_jwk(&self) -> AsciiBuf<80> {
        let mut buf = [0u8; 80];
        let head = br#"{"kty":"OKP","crv":"Ed25519","x":""#;
        buf[..head.len()].copy_from_slice(head);
        let x = self.jwk_x();
        let mut n = head.len();
        buf[n..n + 43].copy_from_slice(x.as_bytes());
        n += 43;
        buf[n..n + 2].copy_from_slice(b"\"}");
        AsciiBuf::from_parts(buf, n + 2)
    }

    /// Checks a signature over an entry hash.
    ///
    /// # Errors
    /// [`BreakCode::InvalidSignature`], and nothing more about why.
    pub fn verify_hash(
        &self,
        hash: &EntryHash,
        signature: &EntrySignature,
    ) -> Result<(), BreakCode> {
        let sig = Signature::from_bytes(signature.as_bytes());
        self.key
            .verify(hash.to_hex().as_bytes(), &sig)
            .map_err(|_| BreakCode::InvalidSignature)
    }

    /// Checks one signed entry as the service does: shape, recomputed hash, signature.
    ///
    /// # Errors
    /// [`BreakCode::InvalidEntry`], [`BreakCode::InvalidHash`] or
    /// [`BreakCode::InvalidSignature`].
    pub fn verify_entry(&self, entry: &SignedAuditEntry<'_>) -> Result<(), BreakCode> {
        entry
            .entry
            .check_shape()
            .map_err(|_| BreakCode::InvalidEntry)?;
        let hash = entry.entry.hash().map_err(|_| BreakCode::InvalidEntry)?;
        if hash != entry.hash {
            return Err(BreakCode::InvalidHash);
        }
        self.verify_hash(&entry.hash, &entry.signature)
    }

    #[cfg(feature = "batch")]
    pub(crate) fn dalek(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Debug for AuditVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuditVerifyingKey")
            .field(&self.jwk_x())
            .finish()
    }
}
