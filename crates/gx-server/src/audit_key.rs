//! Per-bundle Ed25519 audit key pairs: generated here, private half handed out once.
//!
//! The device signs its audit entries with the private key it receives in the bundle; the
//! server keeps only the raw public key to check signatures at sync time. PEM shapes
//! match what Node's `crypto.generateKeyPairSync('ed25519')` exports (PKCS#8 v1 and SPKI),
//! which is what the published clients expect.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use zeroize::Zeroizing;

use crate::encoding::pem;
use crate::error::ServerError;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A freshly generated audit key pair in the forms the bundle body carries.
pub(crate) struct AuditKeyPair {
    /// Raw public key, stored by the server.
    pub(crate) public_raw: [u8; 32],
    /// SPKI PEM of the public key.
    pub(crate) public_pem: String,
    /// PKCS#8 v1 PEM of the private key: sent once, never stored or logged.
    pub(crate) private_pem: Zeroizing<String>,
}

impl core::fmt::Debug for AuditKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditKeyPair")
            .field("public_pem", &self.public_pem)
            .field("private_pem", &"<redacted>")
            .finish()
    }
}

impl AuditKeyPair {
    /// Generates a new pair from the system RNG.
    pub(crate) fn generate() -> Result<Self, ServerError> {
        let pair = Ed25519KeyPair::generate().map_err(|_| ServerError::KeyGeneration)?;
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| ServerError::KeyGeneration)?;
        let public_raw: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| ServerError::KeyGeneration)?;
        let mut spki = Vec::with_capacity(44);
        spki.extend_from_slice(&SPKI_PREFIX);
        spki.extend_from_slice(&public_raw);
        Ok(Self {
            public_raw,
            public_pem: pem("PUBLIC KEY", &spki),
            private_pem: Zeroizing::new(pem("PRIVATE KEY", pkcs8.as_ref())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Encoding};

    fn pem_body(p: &str) -> Vec<u8> {
        let b64: String = p.lines().filter(|l| !l.starts_with("-----")).collect();
        Base64::decode_vec(&b64).unwrap()
    }

    #[test]
    fn pems_have_node_shapes() {
        let k = AuditKeyPair::generate().unwrap();
        let spki = pem_body(&k.public_pem);
        assert_eq!(spki.len(), 44);
        assert_eq!(&spki[12..], &k.public_raw);
        let pkcs8 = pem_body(&k.private_pem);
        // PKCS#8 v1 with only the seed: what Node exports and the clients import.
        assert_eq!(pkcs8.len(), 48);
        assert_eq!(
            &pkcs8[..16],
            &[
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        let back = Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(back.public_key().as_ref(), &k.public_raw);
        assert!(!format!("{k:?}").contains("PRIVATE"));
    }
}
