//! gx-sync integration tests against an in-process gx-server on loopback (no mocks).
//!
//! `GX_SYNC_ENTRIES` sets the size of the end-to-end run (default 10,000; CI's heavy job
//! runs 100,000).

mod sync {
    mod client;
    mod end_to_end;
    mod faults;
    pub(crate) mod harness;
    mod proxy;
    mod refresh;
    mod refresh_faults;
    mod revocation;
    mod unlocked;
}
