//! Shared helpers: fixture loading and running a test through every enabled provider.

use gx_core::{CryptoProvider, JwksSnapshot, UnixTime};

/// The `now` of the peer fixtures and of `fixtures/tokens` (2026-11-27T03:55:06Z).
pub(crate) const NOW: UnixTime = UnixTime::from_secs(1_795_751_706);

pub(crate) const JWKS: &str = include_str!("../../../../fixtures/tokens/jwks.json");
pub(crate) const JWKS_SINGLE: &str = include_str!("../../../../fixtures/tokens/jwks_single.json");
pub(crate) const JWKS_UNUSABLE: &str =
    include_str!("../../../../fixtures/tokens/jwks_unusable.json");
pub(crate) const SNAPSHOT: &str = include_str!("../../../../fixtures/tokens/snapshot.json");
pub(crate) const CATALOGUE: &str = include_str!("../../../../fixtures/tokens/catalogue.json");
pub(crate) const RS256_2048: &str = include_str!("../../../../fixtures/tokens/rs256_2048.jwt");
pub(crate) const RS256_3072: &str = include_str!("../../../../fixtures/tokens/rs256_3072.jwt");
pub(crate) const RS256_4096: &str = include_str!("../../../../fixtures/tokens/rs256_4096.jwt");
pub(crate) const PEER_TOKEN: &str = include_str!("../../../../fixtures/peer/token.jwt");
pub(crate) const PEER_JWKS: &str = include_str!("../../../../fixtures/peer/jwks.json");
pub(crate) const PEER_SNAPSHOT: &str = include_str!("../../../../fixtures/peer/jwks_snapshot.json");
pub(crate) const PEER_CLAIMS: &str = include_str!("../../../../fixtures/peer/claims.json");

/// The JWKS fixture of that name, parsed.
pub(crate) fn snapshot<P: CryptoProvider + Default>(name: &str) -> JwksSnapshot<P> {
    let text = match name {
        "jwks" => JWKS,
        "jwks_single" => JWKS_SINGLE,
        "jwks_unusable" => JWKS_UNUSABLE,
        "snapshot" => SNAPSHOT,
        "peer" => PEER_JWKS,
        "peer_snapshot" => PEER_SNAPSHOT,
        other => panic!("no JWKS fixture {other}"),
    };
    JwksSnapshot::parse(text.as_bytes()).unwrap()
}

/// Runs `f` once per enabled provider, with the provider's name.
macro_rules! for_each_provider {
    ($f:ident) => {{
        $f::<gx_core::RustCrypto>("rust-crypto");
        #[cfg(feature = "aws-lc-rs")]
        $f::<gx_core::AwsLcRs>("aws-lc-rs");
    }};
}
pub(crate) use for_each_provider;
