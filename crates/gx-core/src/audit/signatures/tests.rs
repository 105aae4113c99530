//! The batched path against the single check, and the single check against Node's
//! `crypto.verify` (the hosted service's check), on edge-case and Wycheproof vectors.

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};
use std::process::{Command, Stdio};

use ed25519_dalek::VerifyingKey;

use super::{
    Raw, SIGNATURE_BATCH, SignatureCheck, canonical_encoding, raw_verdicts, signature_verdicts,
    single, small_order_encodings,
};
use crate::audit::{AuditSigningKey, EntryHash, EntrySignature, verify_signatures};

/// One vector: key bytes, message, signature.
#[derive(Clone)]
struct Vector {
    name: String,
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The 12 vectors of "Taming the many EdDSAs" (fixtures/ed25519/README.md).
fn taming() -> Vec<Vector> {
    let text = include_str!("../../../../../fixtures/ed25519/speccheck_cases.json");
    let cases: serde_json::Value = serde_json::from_str(text).unwrap();
    cases
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| Vector {
            name: format!("taming #{i}"),
            key: hex(c["pub_key"].as_str().unwrap()).try_into().unwrap(),
            message: hex(c["message"].as_str().unwrap()),
            signature: hex(c["signature"].as_str().unwrap()).try_into().unwrap(),
        })
        .collect()
}

/// Wycheproof's Ed25519 vectors with a 64-byte signature, and whether each is valid.
fn wycheproof() -> Vec<(Vector, bool)> {
    use wycheproof::TestResult;
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut out = Vec::new();
    for group in &set.test_groups {
        let Ok(key) = <[u8; 32]>::try_from(&group.key.pk[..]) else {
            continue;
        };
        for t in &group.tests {
            // A signature of another length fails before any equation; both paths take
            // `[u8; 64]`, so such vectors cannot reach them.
            let Ok(signature) = <[u8; 64]>::try_from(&t.sig[..]) else {
                assert_ne!(t.result, TestResult::Valid);
                continue;
            };
            let vector = Vector {
                name: format!("wycheproof tc {} ({})", t.tc_id, t.comment),
                key,
                message: t.msg.to_vec(),
                signature,
            };
            out.push((vector, t.result == TestResult::Valid));
        }
    }
    out
}

/// The single-check verdict of a vector, `false` when its key does not decode.
fn single_verdict(v: &Vector) -> bool {
    match VerifyingKey::from_bytes(&v.key) {
        Ok(key) => single(&Raw {
            key: &key,
            message: &v.message,
            signature: &v.signature,
        }),
        Err(_) => false,
    }
}

/// The batched verdicts of `vectors` checked together (keys that do not decode: `false`).
fn batched(vectors: &[Vector]) -> Vec<bool> {
    let keys: Vec<Option<VerifyingKey>> = vectors
        .iter()
        .map(|v| VerifyingKey::from_bytes(&v.key).ok())
        .collect();
    let decodable: Vec<usize> = (0..vectors.len()).filter(|&i| keys[i].is_some()).collect();
    let raw: Vec<Raw<'_>> = decodable
        .iter()
        .map(|&i| Raw {
            key: keys[i].as_ref().unwrap(),
            message: &vectors[i].message,
            signature: &vectors[i].signature,
        })
        .collect();
    let mut out = vec![true; raw.len()];
    raw_verdicts(&raw, &mut out);
    let mut verdicts = vec![false; vectors.len()];
    for (k, &i) in decodable.iter().enumerate() {
        verdicts[i] = out[k];
    }
    verdicts
}

/// `n` valid signatures of one honest key, over distinct messages.
fn honest(n: usize, seed: u8) -> Vec<Vector> {
    use ed25519_dalek::{Signer, SigningKey};
    let sk = SigningKey::from_bytes(&[seed; 32]);
    (0..n)
        .map(|i| {
            let message = format!("entry {i}").into_bytes();
            Vector {
                name: format!("honest {i}"),
                key: sk.verifying_key().to_bytes(),
                signature: sk.sign(&message).to_bytes(),
                message,
            }
        })
        .collect()
}

/// Every way a vector can meet the batch: alone, with all the others, and in the middle
/// of a batch of valid signatures under its own key's neighbours and another key.
fn assert_batch_agrees(vectors: &[Vector]) {
    let singles: Vec<bool> = vectors.iter().map(single_verdict).collect();
    assert_eq!(batched(vectors), singles, "all together");
    for (v, &want) in vectors.iter().zip(&singles) {
        assert_eq!(
            batched(core::slice::from_ref(v)),
            [want],
            "{} alone",
            v.name
        );
        let mut mixed = honest(40, 9);
        mixed.insert(17, v.clone());
        let got = batched(&mixed);
        assert_eq!(got[17], want, "{} among valid ones", v.name);
        assert!(
            got.iter().enumerate().all(|(i, &ok)| i == 17 || ok),
            "{}: a valid neighbour was rejected",
            v.name
        );
    }
}

#[test]
fn taming_vectors_single_check_is_openssls() {
    // Verdicts of OpenSSL 3.0 (and so of Node's crypto.verify) in the paper's results
    // table, which ed25519-dalek's `verify` shares: cofactorless, canonical s, R as bytes.
    let expected = [
        true, true, true, true, false, false, false, false, false, false, false, true,
    ];
    let got: Vec<bool> = taming().iter().map(single_verdict).collect();
    assert_eq!(got, expected);
}

#[test]
fn taming_vectors_batched_agree_with_single() {
    assert_batch_agrees(&taming());
}

#[test]
fn wycheproof_vectors_single_check_matches_expected_and_batch_agrees() {
    let cases = wycheproof();
    assert!(cases.len() > 100, "only {} Wycheproof vectors", cases.len());
    for (v, valid) in &cases {
        assert_eq!(single_verdict(v), *valid, "{}", v.name);
    }
    let vectors: Vec<Vector> = cases.into_iter().map(|(v, _)| v).collect();
    assert_batch_agrees(&vectors);
}

/// Node's verdicts on `vectors` (keys as SPKI DER), `None` without node.
fn node_verdicts(vectors: &[Vector]) -> Option<Vec<bool>> {
    const SCRIPT: &str = r#"
const crypto = require('node:crypto');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l !== '');
const spki = Buffer.from('302a300506032b6570032100', 'hex');
const out = lines.map(line => {
  const [pk, msg, sig] = line.split(' ').map(h => Buffer.from(h, 'hex'));
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([spki, pk]), format: 'der', type: 'spki' });
    return crypto.verify(null, msg, key, sig) ? '1' : '0';
  } catch (e) {
    return '0';
  }
});
process.stdout.write(out.join('\n') + '\n');
"#;
    let input: String = vectors
        .iter()
        .map(|v| {
            format!(
                "{} {} {}\n",
                to_hex(&v.key),
                to_hex(&v.message),
                to_hex(&v.signature)
            )
        })
        .collect();
    let mut child = match Command::new("node")
        .arg("-e")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start node: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "node failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.lines().map(|l| l == "1").collect())
}

#[test]
fn node_crypto_verify_agrees_with_single_and_batch() {
    let mut vectors = taming();
    vectors.extend(wycheproof().into_iter().map(|(v, _)| v));
    let Some(node) = node_verdicts(&vectors) else {
        std::eprintln!("node not found: skipping the comparison with Node's crypto.verify");
        return;
    };
    assert_eq!(node.len(), vectors.len());
    let batch = batched(&vectors);
    for ((v, &n), &b) in vectors.iter().zip(&node).zip(&batch) {
        assert_eq!(single_verdict(v), n, "{}: single vs node", v.name);
        assert_eq!(b, n, "{}: batch vs node", v.name);
    }
}

/// `n` entry hashes signed by `key`, as the public API takes them.
fn entries(key: &AuditSigningKey, n: usize) -> Vec<(EntryHash, EntrySignature)> {
    (0..n)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let hash = EntryHash::from_bytes(h);
            (hash, key.sign_hash(&hash))
        })
        .collect()
}

#[test]
fn public_api_finds_every_kind_of_bad_signature_in_every_chunk() {
    let key = AuditSigningKey::from_bytes(&[3; 32]);
    let vk = key.verifying_key();
    let other = AuditSigningKey::from_bytes(&[4; 32]).verifying_key();
    let items = entries(&key, SIGNATURE_BATCH + 40);
    let checks = |items: &[(EntryHash, EntrySignature)]| -> Vec<SignatureCheck<'_>> {
        items
            .iter()
            .map(|&(hash, signature)| SignatureCheck {
                key: &vk,
                hash,
                signature,
            })
            .collect()
    };
    for n in [0, 1, 2, 63, SIGNATURE_BATCH, SIGNATURE_BATCH + 40] {
        assert_eq!(verify_signatures(&checks(&items[..n])), Ok(()), "n = {n}");
    }
    // s + L: the same scalar, not canonical; the single check refuses it.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let add_l = |s: &mut [u8; 64]| {
        let mut carry = 0u16;
        for (b, l) in s[32..].iter_mut().zip(L) {
            let v = u16::from(*b) + u16::from(l) + carry;
            *b = v as u8;
            carry = v >> 8;
        }
    };
    /// Changes a signature (given the next entry's, to swap in).
    type Tamper<'a> = &'a dyn Fn(&mut [u8; 64], &[u8; 64]);
    let tampers: [Tamper<'_>; 5] = [
        &|s, _| s[3] ^= 0x10,
        &|s, _| s[40] ^= 0x01,
        &|s, _| s[31] ^= 0x80,
        &|s, _| add_l(s),
        &|s, next| *s = *next,
    ];
    for at in [
        0,
        1,
        100,
        SIGNATURE_BATCH - 1,
        SIGNATURE_BATCH,
        SIGNATURE_BATCH + 39,
    ] {
        for (kind, tamper) in tampers.iter().enumerate() {
            let mut t = items.clone();
            let mut s = *t[at].1.as_bytes();
            tamper(&mut s, items[(at + 1) % items.len()].1.as_bytes());
            t[at].1 = EntrySignature::from_bytes(s);
            let c = checks(&t);
            assert_eq!(verify_signatures(&c), Err(at), "at {at}, kind {kind}");
            let verdicts = signature_verdicts(&c);
            assert!(
                verdicts.iter().enumerate().all(|(i, &ok)| ok == (i != at)),
                "at {at}, kind {kind}"
            );
        }
    }
    let wrong_key: Vec<_> = items[..10]
        .iter()
        .map(|&(hash, signature)| SignatureCheck {
            key: &other,
            hash,
            signature,
        })
        .collect();
    assert_eq!(signature_verdicts(&wrong_key), vec![false; 10]);
}

#[test]
fn canonical_encoding_is_what_a_decode_and_encode_round_trip_keeps() {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    // Every y from p - 2 up to 2^255 - 1, the encodings of y = 0, 1, 2, and a spread of
    // others, each with both sign bits.
    let mut candidates = Vec::new();
    for low in 0xeb..=0xffu8 {
        let mut y = [0xff; 32];
        y[0] = low;
        y[31] = 0x7f;
        candidates.push(y);
    }
    for v in 0..=2u8 {
        let mut y = [0; 32];
        y[0] = v;
        candidates.push(y);
    }
    for i in 0..200u32 {
        let mut y = [0; 32];
        for (j, b) in y.iter_mut().enumerate() {
            *b = (i.wrapping_mul(2_654_435_761).rotate_left(j as u32) >> 3) as u8;
        }
        y[31] &= 0x7f;
        candidates.push(y);
    }
    candidates.extend(small_order_encodings());
    let mut decoded = 0;
    for y in candidates {
        for sign in [0, 0x80] {
            let mut b = y;
            b[31] = (b[31] & 0x7f) | sign;
            if let Some(p) = CompressedEdwardsY(b).decompress() {
                decoded += 1;
                assert_eq!(
                    canonical_encoding(&b),
                    p.compress().0 == b,
                    "{}",
                    to_hex(&b)
                );
            }
        }
    }
    assert!(decoded > 100, "only {decoded} candidates decode");
}
