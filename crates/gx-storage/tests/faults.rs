//! Durability under injected I/O faults: writes, flushes, truncations,
//! renames and directory syncs of the audit log, the sync cursor, the time floor and the
//! bundle store fail with real errnos (`ENOSPC`, `EIO`, `EDQUOT`, short writes) at every
//! fault point of `gx_storage::fault_injection`.
//!
//! For every point the tests assert: the error reaches the caller, typed, naming the
//! operation and the file, with the errno; nothing acknowledged before the fault is lost
//! (reopen, `verify_log`, every acknowledged line present byte for byte); no partial
//! entry or bundle is visible afterwards; and the next operation after the fault clears
//! succeeds and continues the chain.

mod faults {
    mod bundle;
    mod cursor;
    mod log;
    mod rlimit;
    mod rotation;
    mod soak;
    mod util;
}
