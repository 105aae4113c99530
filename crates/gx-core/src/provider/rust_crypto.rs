//! The pure-Rust provider: `rsa` 0.10's RSA public-key operation and `sha2`, usable
//! without std.
//!
//! Verification is RFC 8017 §8.2.2 done the way the RFC states it: check the signature's
//! length and that it is below the modulus, apply the public key (`rsa`'s hazmat
//! `rsa_encrypt`, Montgomery arithmetic from `crypto-bigint`), then build the expected
//! EMSA-PKCS1-v1_5 encoding of the SHA-256 digest and compare the two byte strings.
//! Nothing of the decrypted block is parsed.
//!
//! Key preparation (the Montgomery parameters of the modulus) is where the footprint is
//! (for firmware, where flash and stack are scarce): a 2048-bit modulus uses `crypto-bigint`'s fixed-size 2048-bit code (~6 KiB
//! of flash, no big stack frames); any other size needs its generic code, whose Karatsuba
//! multiplication for up to 8192-bit operands is ~20 KiB of flash and keeps ~12 KiB of
//! temporaries on the stack. That generic path is the `rsa-large-keys` feature (on by
//! default and with `std`); without it, moduli other than 2048 bits are refused
//! ([`KeyRejected`], so the JWKS skips the key as `Rejected`), never accepted unchecked.

use crypto_bigint::modular::{BoxedMontyParams, FixedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd, U2048};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

use super::{CryptoProvider, InvalidSignature, KeyRejected};

/// The pure-Rust crypto provider (`rsa` + `crypto-bigint` + `sha2`).
///
/// Runs on any target with a global allocator (the big numbers live on the heap, about
/// 7 KiB at peak for RSA-2048); about 60 µs per RSA-2048 verification on a desktop core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RustCrypto;

/// An RSA public key prepared by [`RustCrypto`]: modulus, exponent and the modulus's
/// Montgomery parameters.
#[derive(Clone, Debug)]
pub struct RustCryptoKey {
    n: NonZero<BoxedUint>,
    e: BoxedUint,
    params: BoxedMontyParams,
}

impl PublicKeyParts for RustCryptoKey {
    fn n(&self) -> &NonZero<BoxedUint> {
        &self.n
    }

    fn e(&self) -> &BoxedUint {
        &self.e
    }

    fn n_params(&self) -> &BoxedMontyParams {
        &self.params
    }
}

/// DER of the SHA-256 `DigestInfo` up to the digest (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Bytes of a 2048-bit modulus.
const BYTES_2048: usize = 256;

impl CryptoProvider for RustCrypto {
    type PublicKey = RustCryptoKey;

    fn rs256_public_key(&self, n: &[u8], e: &[u8]) -> Result<RustCryptoKey, KeyRejected> {
        // gx refuses moduli under 2048 bits, even ones and bad exponents before a key
        // reaches a provider; the checks here repeat what this code relies on, so the
        // provider is safe to use on its own.
        if n.len() < BYTES_2048 || n.first().is_none_or(|b| *b == 0) || e.is_empty() {
            return Err(KeyRejected);
        }
        let (n, params) = if n.len() == BYTES_2048 {
            montgomery_2048(n)?
        } else {
            montgomery_any(n)?
        };
        let e = BoxedUint::from_be_slice_vartime(e);
        Ok(RustCryptoKey { n, e, params })
    }

    fn verify_rs256(
        &self,
        key: &RustCryptoKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        // RFC 8017 §8.2.2 step 1: the signature is exactly k bytes.
        let k = key.size();
        if signature.len() != k {
            return Err(InvalidSignature);
        }
        // Step 2: s = OS2IP(S) must be below n; m = s^e mod n.
        let s = BoxedUint::from_be_slice(signature, key.n_bits_precision())
            .map_err(|_| InvalidSignature)?;
        if s >= *key.n.as_ref() {
            return Err(InvalidSignature);
        }
        let m = rsa::hazmat::rsa_encrypt(key, &s).map_err(|_| InvalidSignature)?;
        // Step 2c: EM = I2OSP(m, k); m < n < 2^(8k), so the wider storage's extra
        // leading bytes are zero (checked anyway).
        let m = m.to_be_bytes();
        let (extra, em) = m
            .split_at_checked(m.len().checked_sub(k).ok_or(InvalidSignature)?)
            .ok_or(InvalidSignature)?;
        // Steps 3 and 4: EM' = 0x00 || 0x01 || PS (0xff…, at least 8) || 0x00 || T,
        // T = DigestInfo || SHA-256(M); valid iff EM == EM'.
        let digest = Sha256::digest(message);
        let ps_len = k
            .checked_sub(3 + SHA256_DIGEST_INFO.len() + digest.len())
            .filter(|n| *n >= 8)
            .ok_or(InvalidSignature)?;
        let expected = [0x00, 0x01]
            .iter()
            .chain(core::iter::repeat_n(&0xff, ps_len))
            .chain(&[0x00])
            .chain(&SHA256_DIGEST_INFO)
            .chain(digest.iter());
        if extra.iter().all(|b| *b == 0) && em.iter().eq(expected) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }
}

/// A 2048-bit modulus and its Montgomery parameters, computed with fixed-size 2048-bit
/// arithmetic (variable time is fine: the modulus is public).
#[inline(never)]
fn montgomery_2048(n: &[u8]) -> Result<(NonZero<BoxedUint>, BoxedMontyParams), KeyRejected> {
    if n.len() != BYTES_2048 {
        return Err(KeyRejected);
    }
    let fixed = U2048::from_be_slice(n);
    let odd = Option::<Odd<U2048>>::from(Odd::new(fixed)).ok_or(KeyRejected)?;
    let params = BoxedMontyParams::from(FixedMontyParams::new_vartime(odd));
    let n = Option::<NonZero<BoxedUint>>::from(NonZero::new(BoxedUint::from(&fixed)))
        .ok_or(KeyRejected)?;
    Ok((n, params))
}

/// A modulus of any other size and its Montgomery parameters (`crypto-bigint`'s generic
/// code); the feature `rsa-large-keys`.
#[cfg(feature = "rsa-large-keys")]
#[inline(never)]
fn montgomery_any(n: &[u8]) -> Result<(NonZero<BoxedUint>, BoxedMontyParams), KeyRejected> {
    let n = BoxedUint::from_be_slice_vartime(n);
    let odd = Option::<Odd<BoxedUint>>::from(Odd::new(n.clone())).ok_or(KeyRejected)?;
    let params = BoxedMontyParams::new_vartime(odd);
    let n = Option::<NonZero<BoxedUint>>::from(NonZero::new(n)).ok_or(KeyRejected)?;
    Ok((n, params))
}

/// Without `rsa-large-keys`, only 2048-bit moduli are supported: others are refused.
#[cfg(not(feature = "rsa-large-keys"))]
fn montgomery_any(_n: &[u8]) -> Result<(NonZero<BoxedUint>, BoxedMontyParams), KeyRejected> {
    Err(KeyRejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit modulus (all ones, odd) prepares; shorter or zero-led bytes do not.
    #[test]
    fn prepares_only_well_formed_moduli() {
        let n = [0xffu8; BYTES_2048];
        assert!(RustCrypto.rs256_public_key(&n, &[1, 0, 1]).is_ok());
        assert!(RustCrypto.rs256_public_key(&n[1..], &[1, 0, 1]).is_err());
        let mut led = [0xffu8; BYTES_2048 + 1];
        led[0] = 0;
        assert!(RustCrypto.rs256_public_key(&led, &[1, 0, 1]).is_err());
        let mut even = n;
        even[BYTES_2048 - 1] = 0xfe;
        assert!(RustCrypto.rs256_public_key(&even, &[1, 0, 1]).is_err());
        assert!(RustCrypto.rs256_public_key(&n, &[]).is_err());
    }

    /// A 3072-bit modulus prepares only with `rsa-large-keys`.
    #[test]
    fn larger_moduli_need_the_feature() {
        let n = [0xffu8; 384];
        assert_eq!(
            RustCrypto.rs256_public_key(&n, &[1, 0, 1]).is_ok(),
            cfg!(feature = "rsa-large-keys")
        );
    }

    /// A signature of the wrong length, or not below the modulus, fails before any
    /// arithmetic.
    #[test]
    fn refuses_signatures_of_wrong_length_or_size() {
        let n = [0xffu8; BYTES_2048];
        let key = RustCrypto.rs256_public_key(&n, &[1, 0, 1]).unwrap();
        assert!(RustCrypto.verify_rs256(&key, b"m", &[1; 255]).is_err());
        assert!(RustCrypto.verify_rs256(&key, b"m", &[1; 257]).is_err());
        assert!(RustCrypto.verify_rs256(&key, b"m", &[0xff; 256]).is_err());
    }
}
