//! Batched and parallel verification report exactly what the serial verifier reports.

use gx_core::{
    AuditEntry, AuditSigningKey, AuditStr, ChainAnchor, ChainBreak, ChainVerifier, EntryHash,
    Metadata, PrevHash, Scopes, SignedAuditEntry,
};

const SCOPES: &[&str] = &["read:contacts", "write:calendar"];

/// A valid chain of `n` entries signed with a fixed test key.
pub(crate) fn make_chain<'a>(
    key: &AuditSigningKey,
    metas: &'a [String],
) -> Vec<SignedAuditEntry<'a>> {
    let mut prev = PrevHash::Genesis;
    let mut out = Vec::with_capacity(metas.len());
    for (i, m) in metas.iter().enumerate() {
        let entry = AuditEntry {
            seq: i as u64 + 1,
            timestamp: AuditStr::new("2026-11-27T10:00:00.000Z"),
            action: AuditStr::new("tool:read_contacts"),
            agent_did: AuditStr::new("did:grantex:ag_01"),
            grant_id: AuditStr::new("grnt_01"),
            scopes: Scopes::new(SCOPES),
            result: AuditStr::new("success"),
            metadata: Some(Metadata::parse(m).unwrap()),
            prev_hash: prev,
        };
        let signed = key.sign_entry(entry).unwrap();
        prev = PrevHash::Entry(signed.hash);
        out.push(signed);
    }
    out
}

pub(crate) fn metas(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"i":{i},"tool":"contacts","ok":true}}"#))
        .collect()
}

fn serial(entries: &[SignedAuditEntry<'_>], key: &AuditSigningKey) -> Result<u64, ChainBreak> {
    let vk = key.verifying_key();
    let mut v = ChainVerifier::new(ChainAnchor::Genesis, &vk);
    for e in entries {
        if v.push(e).is_err() {
            break;
        }
    }
    v.finish().map(|h| h.entries)
}

/// Tampered variants: bad signature, bad link with a valid signature, both.
fn variants<'a>(
    key: &AuditSigningKey,
    chain: &[SignedAuditEntry<'a>],
) -> Vec<Vec<SignedAuditEntry<'a>>> {
    let mut out = vec![chain.to_vec()];
    for k in [0, 1, 63, 64, 65, 130, chain.len() - 1] {
        let mut bad_sig = chain.to_vec();
        let mut s = *bad_sig[k].signature.as_bytes();
        s[5] ^= 1;
        bad_sig[k].signature = gx_core::EntrySignature::from_bytes(s);
        out.push(bad_sig.clone());
        let mut bad_link = chain.to_vec();
        let mut e = bad_link[k].entry;
        e.prev_hash = PrevHash::Entry(EntryHash::from_bytes([9; 32]));
        bad_link[k] = key.sign_entry(e).unwrap();
        out.push(bad_link.clone());
        // A signature failure earlier than a link failure must win, and vice versa.
        if k + 3 < chain.len() {
            let mut both = bad_link.clone();
            both[k + 3].signature = bad_sig[k].signature;
            out.push(both);
            let mut both = bad_sig.clone();
            let mut e = both[k + 2].entry;
            e.seq += 5;
            both[k + 2] = key.sign_entry(e).unwrap();
            out.push(both);
        }
        let mut bad_hash = chain.to_vec();
        bad_hash[k].hash = EntryHash::from_bytes([1; 32]);
        out.push(bad_hash);
    }
    out
}

#[test]
fn serial_verifier_accepts_a_fresh_chain_and_pins_each_tamper() {
    let key = AuditSigningKey::from_bytes(&[7; 32]);
    let m = metas(200);
    let chain = make_chain(&key, &m);
    assert_eq!(serial(&chain, &key), Ok(200));
    for v in variants(&key, &chain).iter().skip(1) {
        assert!(serial(v, &key).is_err());
    }
}

#[cfg(feature = "batch")]
#[test]
fn batch_verifier_reports_what_the_serial_one_does() {
    use gx_core::BatchChainVerifier;
    let key = AuditSigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let m = metas(200);
    let chain = make_chain(&key, &m);
    for v in variants(&key, &chain) {
        let mut b = BatchChainVerifier::new(ChainAnchor::Genesis, &vk);
        for e in &v {
            if b.push(e).is_err() {
                break;
            }
        }
        assert_eq!(b.finish().map(|h| h.entries), serial(&v, &key));
    }
}

#[cfg(feature = "std")]
#[test]
fn parallel_verification_reports_what_the_serial_one_does() {
    use gx_core::verify_chain_parallel;
    let key = AuditSigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let m = metas(200);
    let chain = make_chain(&key, &m);
    for threads in [1, 2, 3, 7] {
        for v in variants(&key, &chain) {
            let got =
                verify_chain_parallel(ChainAnchor::Genesis, &vk, &v, threads).map(|h| h.entries);
            assert_eq!(got, serial(&v, &key), "threads {threads}");
        }
    }
}
