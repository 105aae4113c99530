//! Benchmarks of grant-token verification (issue #2): each provider end to end, the
//! memoized re-verify, the raw `rsa` and aws-lc-rs operations on the same signature, and
//! JWKS parsing. Run: `cargo bench -p gx-core --features aws-lc-rs --bench verify`.

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use core::hint::black_box;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{Criterion, criterion_group, criterion_main};
use gx_core::provider::{AwsLcRs, CryptoProvider, RustCrypto};
use gx_core::{
    DECODE_BUF_LEN, JwksSnapshot, MemoSlot, UnixTime, VerificationMemo, Verifier, VerifierOptions,
};
use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256};

const TOKEN: &str = include_str!("../../../fixtures/peer/token.jwt");
const JWKS: &str = include_str!("../../../fixtures/peer/jwks_snapshot.json");
const NOW: UnixTime = UnixTime::from_secs(1_795_751_706);

fn unb64(text: &str) -> Vec<u8> {
    let mut out = vec![0u8; text.len()];
    let n = Base64UrlUnpadded::decode(text, &mut out).unwrap().len();
    out.truncate(n);
    out
}

fn b64(field: &str) -> Vec<u8> {
    let doc: serde_json::Value = serde_json::from_str(JWKS).unwrap();
    unb64(doc["keys"][0][field].as_str().unwrap())
}

fn verify_with<P: CryptoProvider + Default>(c: &mut Criterion, name: &str) {
    let snap = JwksSnapshot::<P>::parse(JWKS.as_bytes()).unwrap();
    let verifier = Verifier::new(
        &snap,
        VerifierOptions::new().with_required_scopes(&["read:contacts"]),
    )
    .unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let token = TOKEN.trim();
    c.bench_function(&format!("verify/{name}"), |b| {
        b.iter(|| {
            let g = verifier.verify(black_box(token), NOW, &mut buf).unwrap();
            black_box(g.expires_at());
        })
    });
    let mut slots = [MemoSlot::EMPTY; 8];
    let mut memo = VerificationMemo::new(&mut slots);
    verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    c.bench_function(&format!("verify_cached/{name}"), |b| {
        b.iter(|| {
            let g = verifier
                .verify_memoized(black_box(token), NOW, &mut buf, &mut memo)
                .unwrap();
            black_box(g.expires_at());
        })
    });
}

fn benches(c: &mut Criterion) {
    verify_with::<RustCrypto>(c, "rust-crypto");
    verify_with::<AwsLcRs>(c, "aws-lc-rs");

    let token = TOKEN.trim();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = unb64(sig);
    let (n, e) = (b64("n"), b64("e"));

    // The raw libraries on the same message and signature: hash + RSA, nothing else.
    let key = rsa::PublicKey::new(
        BoxedUint::from_be_slice_vartime(&n),
        BoxedUint::from_be_slice_vartime(&e),
    )
    .unwrap();
    c.bench_function("raw/rsa", |b| {
        b.iter(|| {
            let digest = Sha256::digest(black_box(input.as_bytes()));
            key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, black_box(&sig))
                .unwrap();
        })
    });
    let parsed = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .unwrap();
    c.bench_function("raw/aws-lc-rs", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        })
    });

    // The parts of a cached re-verify.
    c.bench_function("parts/sha256_token", |b| {
        b.iter(|| Sha256::digest(black_box(token.as_bytes())))
    });
    let claims_b64 = input.split_once('.').unwrap().1;
    let mut out = [0u8; 2048];
    c.bench_function("parts/base64ct_claims", |b| {
        b.iter(|| {
            Base64UrlUnpadded::decode(black_box(claims_b64), &mut out)
                .unwrap()
                .len()
        })
    });

    let multi = include_str!("../../../fixtures/tokens/jwks.json");
    c.bench_function("jwks_parse/peer_1_key/rust-crypto", |b| {
        b.iter(|| JwksSnapshot::<RustCrypto>::parse(black_box(JWKS.as_bytes())).unwrap())
    });
    c.bench_function("jwks_parse/fixture_11_keys/rust-crypto", |b| {
        b.iter(|| JwksSnapshot::<RustCrypto>::parse(black_box(multi.as_bytes())).unwrap())
    });
    c.bench_function("jwks_parse/peer_1_key/aws-lc-rs", |b| {
        b.iter(|| JwksSnapshot::<AwsLcRs>::parse(black_box(JWKS.as_bytes())).unwrap())
    });
}

criterion_group!(verify, benches);
criterion_main!(verify);
