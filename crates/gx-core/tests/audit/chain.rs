//! Chain verification over the peers' committed logs, and tamper detection.

use gx_core::audit::{AuditVerifyingKey, BreakCode, ChainAnchor, ChainVerifier, SignedAuditEntry};

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

#[test]
fn every_single_byte_flip_of_the_ts_chain_is_detected() {
    let key = key();
    let mut log = TS_CHAIN.to_vec();
    // Line starts, and the anchor before each line (a flip in line k must break the
    // chain at line k or k+1, so verifying from line k-1's anchor suffices).
    let mut starts = vec![0usize];
    starts.extend(
        TS_CHAIN
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i + 1),
    );
    let parsed: Vec<_> = lines(TS_CHAIN)
        .map(|l| SignedAuditEntry::parse_line(l).unwrap())
        .collect();
    let mut flips = 0usize;
    for k in 0..parsed.len() {
        let anchor = match k {
            0 => ChainAnchor::Genesis,
            _ => ChainAnchor::After {
                seq: parsed[k - 1].entry.seq,
                hash: parsed[k - 1].hash,
            },
        };
        let region = starts[k]..starts[(k + 2).min(starts.len() - 1)];
        for i in starts[k]..starts[k + 1] {
            for bit in [0x01u8, 0x20, 0x80] {
                log[i] ^= bit;
                let mut v = ChainVerifier::new(anchor, &key);
                let pieces: Vec<&[u8]> = log[region.clone()]
                    .split(|&c| c == b'\n')
                    .filter(|l| !l.is_empty())
                    .collect();
                let broke = pieces.iter().any(|l| v.push_line(l).is_err());
                let expected_pieces = if k + 1 < parsed.len() { 2 } else { 1 };
                assert!(
                    broke || pieces.len() != expected_pieces,
                    "flip {bit:#x} at byte {i} (line {k}) went unnoticed"
                );
                log[i] ^= bit;
                flips += 1;
            }
        }
    }
    assert_eq!(flips, TS_CHAIN.len() * 3);
}

const PY_CHAIN: &[u8] = include_bytes!("../../../../fixtures/peer/py_chain100.jsonl");

#[test]
fn python_chain_verifies_as_legacy_and_not_as_wire_format() {
    use gx_core::audit::legacy::{LegacyPyChainVerifier, LegacyPyEntry};
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
    use gx_core::audit::legacy::LegacyPyChainVerifier;
    let key = key();
    let mut log = PY_CHAIN.to_vec();
    // Flip every byte of the first five lines, plus one byte in 13 of the rest.
    let limit = PY_CHAIN
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'\n')
        .nth(4)
        .unwrap()
        .0;
    for i in (0..log.len()).filter(|&i| i <= limit || i % 13 == 0) {
        log[i] ^= 0x01;
        let mut v = LegacyPyChainVerifier::new(ChainAnchor::Genesis, &key);
        let pieces: Vec<&[u8]> = log
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let broke = pieces.iter().any(|l| v.push_line(l).is_err());
        assert!(
            broke || pieces.len() != 100,
            "flip at byte {i} went unnoticed"
        );
        log[i] ^= 0x01;
    }
}
