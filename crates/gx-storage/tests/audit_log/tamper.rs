//! Flipping a byte of a 100-entry log is caught by `verify_log`, wherever the byte is.
//!
//! Every flip costs a verification of all entries before it (an Ed25519 check each), so
//! flipping all ~48,000 bytes takes minutes in a debug build. The default run flips every
//! byte of the first three entries (genesis included), the last byte of the file, and a
//! seeded sample of 300 offsets spread over the rest; `GX_AUDIT_FLIP_ALL=1` flips every
//! byte (run it with `--release`).

use gx_storage::verify_log;

use super::util::{log_path, tempdir, verifying_key, write_entries};

#[test]
fn flipped_bytes_of_a_100_entry_log_are_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 100);
    let clean = std::fs::read(&path).unwrap();
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!(report.first_break(), None);
    assert_eq!(report.entries(), 100);

    let newlines: Vec<usize> = clean
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let offsets: Vec<usize> = if std::env::var_os("GX_AUDIT_FLIP_ALL").is_some() {
        (0..clean.len()).collect()
    } else {
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let rest = newlines[2] + 1..clean.len();
        let mut v: Vec<usize> = (0..=newlines[2]).collect();
        v.extend((0..300).map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rest.start + (rng % rest.len() as u64) as usize
        }));
        v.push(clean.len() - 1);
        v
    };

    let tampered = dir.path().join("tampered.jsonl");
    let mut missed = Vec::new();
    for &i in &offsets {
        let mut bytes = clean.clone();
        bytes[i] ^= 0x01;
        std::fs::write(&tampered, &bytes).unwrap();
        let report = verify_log(&tampered, &verifying_key()).unwrap();
        match report.first_break() {
            Some(b) => {
                // Reported at the entry holding the byte (a newline belongs to its line),
                // or the next one when the flip merged two lines or broke only a link.
                let line = newlines.partition_point(|n| *n < i) as u64;
                assert!(
                    b.index == line || b.index == line + 1,
                    "byte {i}: {b:?}, line {line}"
                );
            }
            None => missed.push(i),
        }
    }
    assert!(
        missed.is_empty(),
        "flips not detected at offsets {missed:?}"
    );
}
