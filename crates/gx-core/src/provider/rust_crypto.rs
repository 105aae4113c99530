//! The pure-Rust provider: `rsa` 0.10 (PKCS#1 v1.5) and `sha2`, usable without std.

use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256};

use super::{CryptoProvider, InvalidSignature, KeyRejected};

/// The pure-Rust crypto provider (`rsa` + `sha2`).
///
/// Runs on any target with a global allocator (the `rsa` crate keeps its big numbers on
/// the heap); about 60 µs per RSA-2048 verification on a desktop core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RustCrypto;

/// An RSA public key prepared by [`RustCrypto`].
#[derive(Clone, Debug)]
pub struct RustCryptoKey(rsa::PublicKey);

impl CryptoProvider for RustCrypto {
    type PublicKey = RustCryptoKey;

    fn rs256_public_key(&self, n: &[u8], e: &[u8]) -> Result<RustCryptoKey, KeyRejected> {
        let n = BoxedUint::from_be_slice_vartime(n);
        let e = BoxedUint::from_be_slice_vartime(e);
        // gx refuses moduli under 2048 bits before a key reaches a provider; the range
        // here repeats that so the provider is safe to use on its own.
        rsa::PublicKey::new_with_size_limits(n, e, 2048..=8192)
            .map(RustCryptoKey)
            .map_err(|_| KeyRejected)
    }

    fn verify_rs256(
        &self,
        key: &RustCryptoKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let digest = Sha256::digest(message);
        key.0
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .map_err(|_| InvalidSignature)
    }
}
