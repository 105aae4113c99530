//! Chain verification over the peers' committed logs, and tamper detection.

use gx_core::{AuditVerifyingKey, BreakCode, ChainAnchor, ChainVerifier, SignedAuditEntry};

const TS_CHAIN: &[u8] = include_bytes!("../../../../fixtures/peer/ts-head_chain100.jsonl");
const PUBLIC_PEM: &str = include_str!("../../../../fixtures/peer/audit_ed25519_public.pem");

fn key() -> AuditVerifyingKey {
    AuditVerifyingKey::from_spki_pem(PUBLIC_PEM).unwrap()
}

fn lines(log: &[u8]) -> impl Iterator<Item = &[u8]> {
    log.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

#[test]
fn ts_head_chain_verifies() {
    let key = key();
    let mut v = ChainVerifier::new(ChainAnchor::Genesis, &key);
    for line in lines(TS_CHAIN) {
        v.push_line(line).unwrap();
    }
    let head = v.finish().unwrap();
    assert_eq!(head.entries, 100);
    assert_eq!(head.last.unwrap().0, 100);
}

#[test]
fn ts_head_lines_round_trip_byte_for_byte() {
    for line in lines(TS_CHAIN) {
        let e = SignedAuditEntry::parse_line(line).unwrap();
        let mut buf = [0u8; 1024];
        let n = e.write_json(&mut buf).unwrap();
        assert_eq!(&buf[..n], line);
        assert_eq!(e.json_len().unwrap(), n);
    }
}

#[test]
fn resuming_from_an_anchor_checks_seq_and_link() {
    let key = key();
    let all: Vec<_> = lines(TS_CHAIN)
        .map(|l| SignedAuditEntry::parse_line(l).unwrap())
        .collect();
    let anchor = ChainAnchor::After {
        seq: all[49].entry.seq,
        hash: all[49].hash,
    };
    let mut v = ChainVerifier::new(anchor, &key);
    for e in &all[50..] {
        v.push(e).unwrap();
    }
    assert_eq!(v.finish().unwrap().entries, 50);
    let mut gap = ChainVerifier::new(anchor, &key);
    let b = gap.push(&all[51]).unwrap_err();
    assert_eq!((b.index, b.seq, b.code), (0, Some(52), BreakCode::SeqGap));
    let mut from_genesis = ChainVerifier::new(ChainAnchor::Genesis, &key);
    assert_eq!(
        from_genesis.push(&all[1]).unwrap_err().code,
        BreakCode::BadGenesis
    );
}

/// Flips `bit` in every byte of `log` (and every bit of the first line) and asserts
/// that `broken(k, pieces)` sees a break, where `pieces` are the lines k and k+1 of the
/// flipped log (a flip in line k must break the chain at line k or k+1, so checking
/// from line k-1's anchor suffices) and `k` the line holding the flipped byte.
fn assert_every_flip_detected(log: &[u8], broken: impl Fn(usize, &[&[u8]]) -> bool) -> usize {
    let mut log = log.to_vec();
    let mut starts = vec![0usize];
    starts.extend(
        log.iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i + 1),
    );
    let lines = starts.len() - 1;
    let mut flips = 0;
    for k in 0..lines {
        let region = starts[k]..starts[(k + 2).min(lines)];
        for i in starts[k]..starts[k + 1] {
            let bits: &[u8] = if k == 0 {
                &[1, 2, 4, 8, 16, 32, 64, 128]
            } else {
                &[1]
            };
            for &bit in bits {
                log[i] ^= bit;
                let pieces: Vec<&[u8]> = log[region.clone()]
                    .split(|&c| c == b'\n')
                    .filter(|l| !l.is_empty())
                    .collect();
                let expected = if k + 1 < lines { 2 } else { 1 };
                assert!(
                    pieces.len() != expected || broken(k, &pieces),
                    "flip {bit:#x} at byte {i} (line {k}) went unnoticed"
                );
                log[i] ^= bit;
                flips += 1;
            }
        }
    }
    flips
}

#[test]
fn every_single_byte_flip_of_the_ts_chain_is_detected() {
    let key = key();
    let parsed: Vec<_> = lines(TS_CHAIN)
        .map(|l| SignedAuditEntry::parse_line(l).unwrap())
        .collect();
    let flips = assert_every_flip_detected(TS_CHAIN, |k, pieces| {
        let anchor = match k {
            0 => ChainAnchor::Genesis,
            _ => ChainAnchor::After {
                seq: parsed[k - 1].entry.seq,
                hash: parsed[k - 1].hash,
            },
        };
        let mut v = ChainVerifier::new(anchor, &key);
        pieces.iter().any(|l| v.push_line(l).is_err())
    });
    assert!(flips >= TS_CHAIN.len());
}

const PY_CHAIN: &[u8] = include_bytes!("../../../../fixtures/peer/py_chain100.jsonl");

#[test]
fn python_chain_verifies_as_legacy_and_not_as_wire_format() {
    use gx_core::{LegacyPyChainVerifier, LegacyPyEntry};
    let key = key();
    let mut v = LegacyPyChainVerifier::new(ChainAnchor::Genesis, &key);
    for line in lines(PY_CHAIN) {
        v.push_line(line).unwrap();
    }
    assert_eq!(v.finish().unwrap().entries, 100);
    // The hosted service's format refuses it outright.
    let first = lines(PY_CHAIN).next().unwrap();
    assert!(SignedAuditEntry::parse_line(first).is_err());
    assert!(LegacyPyEntry::parse_line(lines(TS_CHAIN).next().unwrap()).is_err());
}

#[test]
fn python_chain_byte_flips_are_detected() {
    use gx_core::{LegacyPyChainVerifier, LegacyPyEntry};
    let key = key();
    let parsed: Vec<_> = lines(PY_CHAIN)
        .map(|l| LegacyPyEntry::parse_line(l).unwrap())
        .collect();
    let flips = assert_every_flip_detected(PY_CHAIN, |k, pieces| {
        let anchor = match k {
            0 => ChainAnchor::Genesis,
            _ => ChainAnchor::After {
                seq: parsed[k - 1].seq,
                hash: parsed[k - 1].hash,
            },
        };
        let mut v = LegacyPyChainVerifier::new(anchor, &key);
        pieces.iter().any(|l| v.push_line(l).is_err())
    });
    assert!(flips >= PY_CHAIN.len());
}
