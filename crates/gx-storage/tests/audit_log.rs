//! Integration tests of the audit log: crash safety, torn-line repair, tamper detection,
//! the one-writer lock, rotation and the sync cursor, group commit, peer files.
//!
//! Some tests re-run this test binary as a child process (see `util::run_child`).

mod audit_log {
    mod child;
    mod concurrency;
    mod crash;
    mod files;
    mod lock;
    mod peers;
    mod rotation;
    mod sync_log;
    mod tamper;
    mod time_floor;
    mod truncate;
    mod util;
}
