//! Project Wycheproof RSASSA-PKCS1-v1_5 SHA-256 vectors (2048, 3072 and 4096-bit keys)
//! through every provider: every "valid" vector verifies, every "invalid" one fails.

use gx_core::CryptoProvider;
use wycheproof::TestResult;
use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

use super::util::for_each_provider;

fn strip(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

fn run<P: CryptoProvider + Default>(provider: &str) {
    let p = P::default();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
    ] {
        let set = TestSet::load(name).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in &set.test_groups {
            let key = p
                .rs256_public_key(strip(&group.key.n), strip(&group.key.e))
                .unwrap();
            for t in &group.tests {
                let ok = p.verify_rs256(&key, &t.msg, &t.sig).is_ok();
                match t.result {
                    TestResult::Valid => {
                        assert!(
                            ok,
                            "{provider} {name:?} tc {} ({}) must verify",
                            t.tc_id, t.comment
                        );
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert!(
                            !ok,
                            "{provider} {name:?} tc {} ({}) must fail",
                            t.tc_id, t.comment
                        );
                        invalid += 1;
                    }
                    // "Acceptable" vectors may go either way.
                    TestResult::Acceptable => {}
                }
            }
        }
        assert!(
            valid > 0 && invalid > 50,
            "{name:?}: {valid} valid, {invalid} invalid vectors"
        );
    }
}

#[test]
fn wycheproof_pkcs1v15_sha256_with_every_provider() {
    for_each_provider!(run);
}
