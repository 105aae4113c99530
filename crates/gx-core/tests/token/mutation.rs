//! Property: any single-byte change to a valid token never verifies and never panics.

use gx_core::{DECODE_BUF_LEN, JwksSnapshot, RustCrypto, Verifier, VerifierOptions};
use proptest::prelude::*;

use super::util::{self, NOW};

fn check(
    snap: &JwksSnapshot<RustCrypto>,
    token: &str,
    pos: usize,
    byte: u8,
) -> Result<(), TestCaseError> {
    let mut bytes = token.as_bytes().to_vec();
    let pos = pos % bytes.len();
    prop_assume!(bytes[pos] != byte);
    bytes[pos] = byte;
    // A change that breaks UTF-8 cannot even be passed as a token: nothing to verify.
    let Ok(text) = core::str::from_utf8(&bytes) else {
        return Ok(());
    };
    let verifier = Verifier::new(snap, VerifierOptions::new()).unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let result = verifier.verify(text, NOW, &mut buf);
    prop_assert!(
        result.is_err(),
        "byte {pos} set to {byte:#04x} still verifies"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn single_byte_change_never_verifies(pos in 0usize..4096, byte in any::<u8>()) {
        let snap = util::snapshot::<RustCrypto>("jwks");
        check(&snap, util::RS256_2048.trim(), pos, byte)?;
        let peer = util::snapshot::<RustCrypto>("peer");
        check(&peer, util::PEER_TOKEN.trim(), pos, byte)?;
    }
}

/// Every position of the peer token, each set to a neighbouring base64url character
/// (the changes most likely to decode): exhaustive over positions, not random.
#[test]
fn every_position_of_the_peer_token() {
    let snap = util::snapshot::<RustCrypto>("peer");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let token = util::PEER_TOKEN.trim();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    assert!(verifier.verify(token, NOW, &mut buf).is_ok());
    for pos in 0..token.len() {
        let mut bytes = token.as_bytes().to_vec();
        bytes[pos] = match bytes[pos] {
            b'A' => b'B',
            b'.' => b'A',
            c => c ^ 1,
        };
        let text = core::str::from_utf8(&bytes).unwrap();
        assert!(
            verifier.verify(text, NOW, &mut buf).is_err(),
            "position {pos}"
        );
    }
}
