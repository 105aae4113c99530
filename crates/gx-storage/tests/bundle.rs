//! Integration tests of the consent bundle file: peer formats, tampering,
//! truncation, crash safety of `store`, permissions, the bundle JSON and key handling.
//!
//! `crash` re-runs this test binary as a child process that stores bundles in a loop
//! until it is killed (see `crash::store_child`).

mod bundle {
    mod crash;
    mod file;
    mod json;
    mod peer;
    mod tamper;
    mod util;
}
