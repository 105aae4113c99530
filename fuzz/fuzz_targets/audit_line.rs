//! Fuzz target: audit log lines in both formats, their entry hash, re-serialisation and
//! streaming chain verification.
//!
//! Input: 1 byte (bit 0: Python legacy format instead of the wire format; bit 1: the
//! fixture test key instead of the peer clients' key), then JSONL text.
//! Checks for the wire format: no panic; a line that parses re-serialises (`to_json`,
//! `write_json`, `json_len` agree), the output parses back to the same entry with the
//! same hash, and serialising that again gives the same bytes; `entry_hash` agrees with
//! `AuditEntry::hash`; a line whose recomputed hash and signature check must also pass
//! the chain verifier's per-entry checks. For the legacy format: no panic, and the chain
//! verifier agrees with per-entry `verify`.
#![no_main]

use std::sync::LazyLock;

use gx_core::{LegacyPyChainVerifier, LegacyPyEntry, ChainAnchor, ChainVerifier, WriteError, AuditVerifyingKey, SignedAuditEntry, entry_hash};
use libfuzzer_sys::fuzz_target;

static KEYS: LazyLock<[AuditVerifyingKey; 2]> = LazyLock::new(|| {
    [
        include_str!("../../fixtures/peer/audit_ed25519_public.pem"),
        include_str!("../../fixtures/audit/test_key_spki.pem"),
    ]
    .map(|pem| AuditVerifyingKey::from_spki_pem(pem).expect("fixture key parses"))
});

fn wire_line(line: &[u8], key: &AuditVerifyingKey) {
    let Ok(e) = SignedAuditEntry::parse_line(line) else {
        return;
    };
    let hash = e.entry.hash();
    assert_eq!(hash, entry_hash(&e.entry), "two hash paths disagree");
    let json = match e.to_json() {
        Ok(j) => j,
        Err(WriteError::Metadata(_)) => return,
        Err(other) => panic!("a parsed entry cannot be written: {other:?}"),
    };
    assert_eq!(e.json_len().ok(), Some(json.len()), "json_len is wrong");
    let mut buf = vec![0u8; json.len() + 1];
    assert_eq!(e.write_line(&mut buf).ok(), Some(json.len() + 1));
    assert_eq!(
        &buf[..json.len()],
        json.as_bytes(),
        "write_line differs from to_json"
    );
    assert!(
        matches!(
            e.write_json(&mut buf[..json.len() - 1]),
            Err(WriteError::Full)
        ),
        "a short buffer must give Full"
    );

    let again = SignedAuditEntry::parse_line(json.as_bytes())
        .unwrap_or_else(|err| panic!("re-serialised entry does not parse ({err}): {json}"));
    assert_eq!(again.entry.seq, e.entry.seq);
    assert_eq!(again.hash, e.hash);
    assert_eq!(again.signature, e.signature);
    assert_eq!(again.entry.prev_hash, e.entry.prev_hash);
    assert_eq!(
        again.entry.hash(),
        hash,
        "re-serialising changed the entry hash"
    );
    assert_eq!(
        again.to_json().ok().as_deref(),
        Some(json.as_str()),
        "serialising is not idempotent"
    );

    let valid = hash.as_ref().is_ok_and(|h| *h == e.hash) && key.verify_entry(&e).is_ok();
    if valid {
        // A genuine entry passes the per-entry checks of a chain resumed right before it.
        if let Some(prev) = e.entry.seq.checked_sub(1)
            && let gx_core::PrevHash::Entry(h) = e.entry.prev_hash
            && prev > 0
        {
            let mut chain = ChainVerifier::new(ChainAnchor::After { seq: prev, hash: h }, key);
            assert!(
                chain.push(&e).is_ok(),
                "a valid entry broke a resumed chain"
            );
        }
    }
}

fn legacy_line(line: &[u8], key: &AuditVerifyingKey) -> Option<bool> {
    let e = LegacyPyEntry::parse_line(line).ok()?;
    let _ = e.computed_hash();
    Some(e.verify(key).is_ok())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else {
        return;
    };
    let key = &KEYS[usize::from(mode >> 1 & 1)];
    let lines = || text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    if mode & 1 == 0 {
        let mut chain = ChainVerifier::new(ChainAnchor::Genesis, key);
        let mut links = ChainVerifier::dangerous_links_only(ChainAnchor::Genesis);
        for line in lines() {
            wire_line(line, key);
            let full = chain.push_line(line);
            let loose = links.push_line(line);
            // Checking signatures can only add breaks.
            if full.is_ok() {
                assert!(
                    loose.is_ok(),
                    "links-only verifier is stricter than the full one"
                );
            }
        }
        let (full, loose) = (chain.finish(), links.finish());
        if let Ok(head) = &full {
            let _ = head.last;
            assert!(loose.is_ok());
        }
        if let Err(b) = full {
            let _ = b.to_string();
        }
    } else {
        let mut chain = LegacyPyChainVerifier::new(ChainAnchor::Genesis, key);
        let mut all_valid = true;
        for line in lines() {
            all_valid &= legacy_line(line, key).unwrap_or(false);
            let _ = chain.push_line(line);
        }
        if chain.finish().is_ok() {
            assert!(
                all_valid,
                "the legacy chain accepted an entry that does not verify"
            );
        }
    }
});
