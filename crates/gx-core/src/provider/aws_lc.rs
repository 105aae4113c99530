//! The aws-lc-rs provider: RSA verification through AWS-LC, for std targets.

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

use super::{CryptoProvider, InvalidSignature, KeyRejected};

/// The aws-lc-rs crypto provider (feature `aws-lc-rs`).
///
/// About four times faster than [`RustCrypto`](super::RustCrypto) on x86-64 and aarch64;
/// the std crates of gx link aws-lc-rs for rustls anyway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwsLcRs;

/// An RSA public key prepared (parsed once) by [`AwsLcRs`].
#[derive(Clone, Debug)]
pub struct AwsLcKey(ParsedPublicKey);

impl CryptoProvider for AwsLcRs {
    type PublicKey = AwsLcKey;

    fn rs256_public_key(&self, n: &[u8], e: &[u8]) -> Result<AwsLcKey, KeyRejected> {
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map(AwsLcKey)
            .map_err(|_| KeyRejected)
    }

    fn verify_rs256(
        &self,
        key: &AwsLcKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        key.0
            .verify_sig(message, signature)
            .map_err(|_| InvalidSignature)
    }
}
