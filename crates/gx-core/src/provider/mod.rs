//! Crypto providers: the one RSA operation token verification needs, behind a trait.
//!
//! Like rustls's `CryptoProvider`, the core names what it needs — "prepare an RS256 public
//! key from its modulus and exponent" and "check an RSASSA-PKCS1-v1_5 SHA-256 signature" —
//! and a provider supplies it. Two ship with gx-core:
//!
//! - [`RustCrypto`] (feature `rust-crypto`, on by default): pure Rust (`rsa` + `sha2`),
//!   runs on microcontrollers; needs a global allocator for the big-number arithmetic.
//! - `AwsLcRs` (feature `aws-lc-rs`, std only): about four times faster; the std crates
//!   link aws-lc-rs for rustls anyway.
//!
//! Both receive keys that [`JwksSnapshot`](crate::JwksSnapshot) already checked (modulus of
//! 2048..=8192 bits, odd; odd exponent in `3..2^33`), as minimal big-endian bytes.

use core::fmt;

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
#[cfg(feature = "aws-lc-rs")]
pub use aws_lc::AwsLcRs;

#[cfg(feature = "rust-crypto")]
mod rust_crypto;
#[cfg(feature = "rust-crypto")]
pub use rust_crypto::RustCrypto;

/// The provider used when the caller does not pick one: [`RustCrypto`] when the
/// `rust-crypto` feature is on, else `AwsLcRs`.
#[cfg(feature = "rust-crypto")]
pub type DefaultProvider = RustCrypto;
/// The provider used when the caller does not pick one: [`RustCrypto`] when the
/// `rust-crypto` feature is on, else `AwsLcRs`.
#[cfg(all(not(feature = "rust-crypto"), feature = "aws-lc-rs"))]
pub type DefaultProvider = AwsLcRs;

/// The RSA operations of RS256 verification, supplied by a crypto library.
///
/// Implementations must be deterministic and must not panic on any input. A fuzzing
/// or test provider may implement this with a deliberately insecure stand-in.
pub trait CryptoProvider {
    /// An RSA public key prepared once for repeated verification.
    type PublicKey;

    /// Prepares an RSA public key from its modulus `n` and public exponent `e`,
    /// both big-endian without leading zero bytes.
    ///
    /// # Errors
    /// [`KeyRejected`] when the library refuses the key.
    fn rs256_public_key(&self, n: &[u8], e: &[u8]) -> Result<Self::PublicKey, KeyRejected>;

    /// Checks that `signature` is an RSASSA-PKCS1-v1_5 signature with SHA-256 over
    /// `message` (the message itself, not its digest) under `key`.
    ///
    /// # Errors
    /// [`InvalidSignature`] for any failure, with no detail on purpose.
    fn verify_rs256(
        &self,
        key: &Self::PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature>;
}

/// A crypto library refused an RSA public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRejected;

impl fmt::Display for KeyRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RSA public key rejected by the crypto provider")
    }
}

impl core::error::Error for KeyRejected {}

/// A signature did not verify. Opaque on purpose: it never says why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSignature;

impl fmt::Display for InvalidSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid signature")
    }
}

impl core::error::Error for InvalidSignature {}
