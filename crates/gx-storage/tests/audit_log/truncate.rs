//! A crash at any byte: truncating the log anywhere in its last two entries reopens with
//! every complete entry kept, and appends continue the chain. Damage elsewhere is an
//! error naming the file and line.

use gx_storage::{FsyncPolicy, LogError, verify_log};

use super::util::{fields, log_path, open, tempdir, verifying_key, write_entries};

#[test]
fn truncation_at_every_offset_of_the_last_two_entries_repairs() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 10);
    let full = std::fs::read(&path).unwrap();
    let line_starts: Vec<usize> = core::iter::once(0)
        .chain(
            full.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    assert_eq!(line_starts.len(), 11);
    let from = line_starts[8];
    for cut in from..=full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let complete = full[..cut].iter().filter(|b| **b == b'\n').count() as u64;
        let log = open(&path, FsyncPolicy::None);
        assert_eq!(log.last_seq(), complete, "cut at {cut}");
        let torn = (cut - line_starts[complete as usize]) as u64;
        assert_eq!(log.torn_bytes_repaired(), torn, "cut at {cut}");
        let r = log.append_fields(&fields(100)).unwrap();
        assert_eq!(r.seq(), complete + 1, "cut at {cut}");
        drop(log);
        let report = verify_log(&path, &verifying_key()).unwrap();
        assert_eq!(report.first_break(), None, "cut at {cut}");
        assert_eq!(report.entries(), complete + 1);
    }
}

#[test]
fn a_corrupt_middle_line_is_an_error_naming_file_and_line() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 5);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"seq\":3,\"oops\":true}";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let before = std::fs::read(&path).unwrap();
    let err =
        gx_storage::AuditLog::open(&path, super::util::key(), Default::default()).unwrap_err();
    match &err {
        LogError::CorruptLine { path: p, line, .. } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 3);
        }
        other => panic!("expected CorruptLine, got {other:?}"),
    }
    assert!(err.to_string().contains("line 3"), "{err}");
    assert_eq!(err.code(), "CORRUPT_LOG");
    // Nothing was "repaired" away.
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_complete_but_garbled_last_line_is_not_silently_dropped() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 3);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":4,\"garbage\n");
    std::fs::write(&path, &bytes).unwrap();
    let err =
        gx_storage::AuditLog::open(&path, super::util::key(), Default::default()).unwrap_err();
    assert!(
        matches!(err, LogError::CorruptLine { line: 4, .. }),
        "{err:?}"
    );
}

#[test]
fn a_seq_gap_between_lines_is_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 4);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let without_second = [lines[0], lines[2], lines[3]].join("\n") + "\n";
    std::fs::write(&path, without_second).unwrap();
    let err =
        gx_storage::AuditLog::open(&path, super::util::key(), Default::default()).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::CorruptLine {
                line: 2,
                code: "SEQ_GAP",
                ..
            }
        ),
        "{err:?}"
    );
}
