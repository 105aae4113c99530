//! The time floor only rises, survives reopening, and flags a clock set back.

use core::time::Duration;

use gx_storage::gx_core::UnixTime;
use gx_storage::{SyncCursor, TimeFloor, TimeFloorError};

use super::util::tempdir;

#[test]
fn the_floor_only_rises_and_persists() {
    let dir = tempdir();
    let path = dir.path().join("audit.jsonl.floor");
    let mut floor = TimeFloor::open(&path).unwrap();
    assert_eq!(floor.floor(), UnixTime::EPOCH);
    assert!(
        floor
            .observe(UnixTime::from_millis(1_764_200_000_000))
            .unwrap()
    );
    assert!(!floor.observe(UnixTime::from_millis(1_000)).unwrap());
    assert_eq!(floor.floor(), UnixTime::from_millis(1_764_200_000_000));
    let again = TimeFloor::open(&path).unwrap();
    assert_eq!(again.floor(), UnixTime::from_millis(1_764_200_000_000));
}

#[test]
fn a_clock_behind_the_floor_is_refused() {
    let dir = tempdir();
    let mut floor = TimeFloor::open(dir.path().join("f")).unwrap();
    floor.observe(UnixTime::from_secs(1_000_000)).unwrap();
    let err = floor
        .check(UnixTime::from_secs(999_000), Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, TimeFloorError::ClockBehind { .. }));
    assert_eq!(err.code(), "CLOCK_BEHIND_FLOOR");
    // Within the slack: the later of the two is the time to use.
    let t = floor
        .check(UnixTime::from_secs(999_990), Duration::from_secs(60))
        .unwrap();
    assert_eq!(t, UnixTime::from_secs(1_000_000));
    let t = floor
        .check(UnixTime::from_secs(1_000_500), Duration::ZERO)
        .unwrap();
    assert_eq!(t, UnixTime::from_secs(1_000_500));
}

#[test]
fn a_damaged_floor_file_is_an_error() {
    let dir = tempdir();
    let path = dir.path().join("f");
    std::fs::write(&path, "yesterday").unwrap();
    assert_eq!(
        TimeFloor::open(&path).unwrap_err().code(),
        "CORRUPT_TIME_FLOOR"
    );
}

#[test]
fn the_cursor_reads_the_typescript_format() {
    let dir = tempdir();
    let path = dir.path().join("c");
    let cursor = SyncCursor::at(&path);
    assert_eq!(cursor.load().unwrap(), 0);
    std::fs::write(&path, "-1").unwrap();
    assert_eq!(cursor.load().unwrap(), 0);
    std::fs::write(&path, "17\n").unwrap();
    assert_eq!(cursor.load().unwrap(), 17);
    cursor.store(18).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "18");
    std::fs::write(&path, "x").unwrap();
    assert_eq!(cursor.load().unwrap_err().code(), "CORRUPT_CURSOR");
}
