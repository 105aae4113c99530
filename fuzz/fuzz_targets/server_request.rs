//! Fuzz target: one HTTP request to gx-server's real request handling (router, API-key
//! check, body parsers and handlers of every endpoint, SQLite store), in-process.
//!
//! Input: see `gx_server::fuzzing::Harness` (endpoint byte, flag byte, body or query).
//! Checks: no panic; an answer always comes back; never a 500; every error answer is
//! JSON with a string `code`.
#![no_main]

use std::cell::RefCell;

use gx_server::fuzzing::Harness;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        let harness = h.get_or_insert_with(|| {
            let dir = std::env::temp_dir().join(format!("gx-fuzz-server-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Harness::new(&dir).expect("harness starts")
        });
        if let Err(finding) = harness.run_one(data) {
            panic!("{finding}");
        }
    });
});
