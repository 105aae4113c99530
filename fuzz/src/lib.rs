//! Shared pieces of gx's fuzz targets: the fixtures they start from and a deliberately
//! insecure crypto provider that lets fuzzed tokens past the signature check.
//!
//! Never use [`InsecureProvider`] outside fuzzing: it accepts any signature but one.

use gx_core::{CryptoProvider, InvalidSignature, KeyRejected};

/// The peer fixtures' key set as a bundle's `jwksSnapshot` (kid `grantex-2026-11`).
pub const PEER_SNAPSHOT: &[u8] = include_bytes!("../../fixtures/peer/jwks_snapshot.json");
/// The token-suite key set: usable RSA keys of three sizes and many keys gx must skip.
pub const MIXED_JWKS: &[u8] = include_bytes!("../../fixtures/tokens/jwks.json");
/// The peer fixtures' grant token, valid at [`PEER_NOW`].
pub const PEER_TOKEN: &str = include_str!("../../fixtures/peer/token.jwt");
/// Tokens signed by [`MIXED_JWKS`]'s keys.
pub const MIXED_TOKENS: [&str; 3] = [
    include_str!("../../fixtures/tokens/rs256_2048.jwt"),
    include_str!("../../fixtures/tokens/rs256_3072.jwt"),
    include_str!("../../fixtures/tokens/rs256_4096.jwt"),
];
/// The instant the fixture tokens are checked at.
pub const PEER_NOW: u64 = 1_795_751_706;

/// The token suite's catalogue: every case's token (some signed by [`MIXED_JWKS`]'s keys).
pub const CATALOGUE: &str = include_str!("../../fixtures/tokens/catalogue.json");

/// The signing inputs (`header.claims`) of every token in the fixtures. With a real
/// provider, only these can ever verify: anything else would be a forgery.
pub fn genuine_signing_inputs() -> &'static [String] {
    static INPUTS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let catalogue: serde_json::Value =
            serde_json::from_str(CATALOGUE).expect("catalogue is JSON");
        let cases = catalogue["cases"].as_array().cloned().unwrap_or_default();
        let from_catalogue = cases
            .into_iter()
            .filter_map(|c| c["token"].as_str().map(str::to_owned));
        core::iter::once(PEER_TOKEN.to_owned())
            .chain(MIXED_TOKENS.iter().map(|t| (*t).to_owned()))
            .chain(from_catalogue)
            .filter_map(|t| t.trim().rsplit_once('.').map(|(input, _)| input.to_owned()))
            .collect()
    });
    &INPUTS
}

/// Takes `N` bytes off the front of `data` (zero-padded when short).
pub fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    let (head, rest) = data.split_at(n);
    out[..n].copy_from_slice(head);
    *data = rest;
    out
}

/// A crypto provider for fuzzing only: keeps the modulus length and accepts every
/// signature except an all-zero one, so fuzzed tokens reach the claim checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct InsecureProvider;

impl CryptoProvider for InsecureProvider {
    type PublicKey = usize;

    fn rs256_public_key(&self, n: &[u8], _e: &[u8]) -> Result<Self::PublicKey, KeyRejected> {
        Ok(n.len())
    }

    fn verify_rs256(
        &self,
        _key: &Self::PublicKey,
        _message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if signature.iter().all(|&b| b == 0) {
            Err(InvalidSignature)
        } else {
            Ok(())
        }
    }
}
