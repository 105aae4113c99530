//! Benchmarks of grant-token verification: each provider end to end, the
//! memoized re-verify, the raw `rsa` and aws-lc-rs operations on the same signature, and
//! JWKS parsing. Run: `cargo bench -p gx-core --features aws-lc-rs --bench verify`.
//!
//! Besides wall time, the `cpu/*` group measures the same verify, cached and raw
//! benchmarks in CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`): on a
//! machine shared with other jobs, wall time mostly measures the queue for a core.
//! The targets are ratios taken in one run: `verify/aws-lc-rs` over
//! `raw/aws-lc-rs` ≤ 1.3, `verify/rust-crypto` over `raw/rsa` ≤ 1.15, and
//! `verify_cached/*` under 1 µs. `GX_VERIFY_RATIOS=1 cargo bench -p gx-core --features
//! aws-lc-rs --bench verify` prints them measured interleaved (see
//! [`interleaved_ratios`]).

use core::hint::black_box;
use core::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::Criterion;
use criterion::measurement::{Measurement, WallTime};
use gx_core::{
    AwsLcRs, CryptoProvider, DECODE_BUF_LEN, JwksSnapshot, MemoSlot, RustCrypto, UnixTime,
    VerificationMemo, Verifier, VerifierOptions,
};
use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256};

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;

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

/// A named benchmark body: one verification per call.
type Workload = (String, Box<dyn FnMut()>);

/// End-to-end verify and cached re-verify with provider `P`.
fn verify_workloads<P: CryptoProvider + Default + 'static>(name: &str, out: &mut Vec<Workload>) {
    let snap: &'static JwksSnapshot<P> =
        Box::leak(Box::new(JwksSnapshot::<P>::parse(JWKS.as_bytes()).unwrap()));
    let verifier: &'static Verifier<'static, P> = Box::leak(Box::new(
        Verifier::new(
            snap,
            VerifierOptions::new().with_required_scopes(&["read:contacts"]),
        )
        .unwrap(),
    ));
    let token = TOKEN.trim();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    out.push((
        format!("verify/{name}"),
        Box::new(move || {
            let g = verifier.verify(black_box(token), NOW, &mut buf).unwrap();
            black_box(g.expires_at());
        }),
    ));
    let slots: &'static mut [MemoSlot] = Box::leak(Box::new([MemoSlot::EMPTY; 8]));
    let mut memo = VerificationMemo::new(slots);
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    out.push((
        format!("verify_cached/{name}"),
        Box::new(move || {
            let g = verifier
                .verify_memoized(black_box(token), NOW, &mut buf, &mut memo)
                .unwrap();
            black_box(g.expires_at());
        }),
    ));
}

/// End-to-end verify and cached re-verify with each provider, and the raw libraries on
/// the same message and signature (the denominators of the ratios).
fn workloads() -> Vec<Workload> {
    let mut out = Vec::new();
    verify_workloads::<RustCrypto>("rust-crypto", &mut out);
    verify_workloads::<AwsLcRs>("aws-lc-rs", &mut out);

    let token = TOKEN.trim();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = unb64(sig);
    let (n, e) = (b64("n"), b64("e"));

    // The raw libraries on the same message and signature: hash + RSA, nothing else;
    // the key is prepared once, outside the loop, as gx's snapshot prepares it.
    let key = rsa::PublicKey::new(
        BoxedUint::from_be_slice_vartime(&n),
        BoxedUint::from_be_slice_vartime(&e),
    )
    .unwrap();
    let sig2 = sig.clone();
    out.push((
        "raw/rsa".to_owned(),
        Box::new(move || {
            let digest = Sha256::digest(black_box(input.as_bytes()));
            key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, black_box(&sig2))
                .unwrap();
        }),
    ));
    let parsed = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .unwrap();
    out.push((
        "raw/aws-lc-rs".to_owned(),
        Box::new(move || {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        }),
    ));
    // The floor of a cached re-verify: the SHA-256 of the token that keys the memo.
    out.push((
        "parts/sha256_token".to_owned(),
        Box::new(move || {
            black_box(Sha256::digest(black_box(token.as_bytes())));
        }),
    ));
    out
}

fn ratios<M: Measurement + 'static>(c: &mut Criterion<M>, prefix: &str) {
    for (name, f) in &mut workloads() {
        c.bench_function(&format!("{prefix}{name}"), |b| b.iter(&mut *f));
    }
}

/// `GX_VERIFY_LOOP=NAME:COUNT` runs workload NAME (`verify/aws-lc-rs`, `raw/rsa`,
/// `jwks_parse/fixture_11_keys/rust-crypto`, ...) COUNT times and exits, for `perf stat -e instructions:u,cycles:u`: the difference
/// between two counts divided by the difference in COUNT is the cost of one call, free
/// of the scheduling noise of a shared machine.
fn run_loop(spec: &str) {
    let (name, count) = spec.rsplit_once(':').expect("NAME:COUNT");
    let count: u64 = count.parse().expect("COUNT");
    let mut all = workloads();
    all.extend(jwks_workloads());
    let (_, f) = all
        .iter_mut()
        .find(|(n, _)| n == name)
        .expect("unknown workload");
    for _ in 0..count {
        f();
    }
}

/// JWKS parsing, for `GX_VERIFY_LOOP` (criterion measures it in [`parts`]).
fn jwks_workloads() -> Vec<Workload> {
    let multi = include_str!("../../../fixtures/tokens/jwks.json");
    let mut out: Vec<Workload> = Vec::new();
    for (name, doc) in [("peer_1_key", JWKS), ("fixture_11_keys", multi)] {
        out.push((
            format!("jwks_parse/{name}/rust-crypto"),
            Box::new(move || {
                black_box(JwksSnapshot::<RustCrypto>::parse(black_box(doc.as_bytes())).unwrap());
            }),
        ));
    }
    out
}

/// The parts of a cached re-verify, and JWKS parsing.
fn parts(c: &mut Criterion<WallTime>) {
    let token = TOKEN.trim();
    let input = token.rsplit_once('.').unwrap().0;
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

// `criterion_main!` generates an undocumented `main`; this one is written out.
/// `GX_VERIFY_RATIOS=1` prints the ratios measured interleaved: 31 rounds, each
/// timing a batch of the gx workload then a batch of its denominator in thread CPU
/// time; the medians of the per-round ratios and per-call times. Interleaving keeps a
/// changing load on a shared machine from landing on one side of a ratio only.
fn interleaved_ratios() {
    let mut all = workloads();
    let mut cost = |name: &str, n: u32| {
        let (_, f) = all.iter_mut().find(|(w, _)| w == name).expect("workload");
        let start = CpuTime::THREAD.now();
        for _ in 0..n {
            f();
        }
        (CpuTime::THREAD.now() - start) as f64 / f64::from(n)
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (gx, raw, n) in [
        ("verify/aws-lc-rs", "raw/aws-lc-rs", 100),
        ("verify/rust-crypto", "raw/rsa", 30),
        ("verify_cached/aws-lc-rs", "parts/sha256_token", 4000),
        ("verify_cached/rust-crypto", "parts/sha256_token", 4000),
    ] {
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..31 {
            let (x, y) = (cost(gx, n), cost(raw, n));
            a.push(x);
            b.push(y);
            r.push(x / y);
        }
        println!(
            "{gx:<26} {:>9.3} µs CPU   {raw:<19} {:>9.3} µs CPU   ratio {:.3}",
            median(a) / 1e3,
            median(b) / 1e3,
            median(r)
        );
    }
}

fn main() {
    if let Ok(spec) = std::env::var("GX_VERIFY_LOOP") {
        run_loop(&spec);
        return;
    }
    if std::env::var_os("GX_VERIFY_RATIOS").is_some() {
        interleaved_ratios();
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    ratios(&mut c, "");
    parts(&mut c);
    c.final_summary();
    let mut c = Criterion::default()
        .with_measurement(CpuTime::THREAD)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    ratios(&mut c, "cpu/");
    c.final_summary();
}
