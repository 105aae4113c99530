//! Replays the `server_request` fuzz target's seeds and every input it ever crashed on
//! through `gx_server::fuzzing::Harness`, on stable, as part of `cargo test`, so a fixed crash stays fixed without nightly.
//!
//! The harness checks what must hold for any request (an answer, never a 500, a JSON
//! `code` on every error); the tests here also pin the statuses of the seeds, so a harness
//! that stopped reaching the handlers would fail too.

use std::path::PathBuf;

use gx_server::fuzzing::Harness;

fn harness() -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new(dir.path()).unwrap();
    (dir, h)
}

/// The request bytes of a seed: endpoint byte, flag byte, body or query.
fn req(endpoint: u8, flags: u8, payload: &str) -> Vec<u8> {
    let mut v = vec![endpoint, flags];
    v.extend_from_slice(payload.as_bytes());
    v
}

fn entries(n: u64) -> String {
    let items: Vec<String> = (1..=n)
        .map(|seq| {
            format!(
                r#"{{"seq":{seq},"timestamp":"2026-11-27T03:55:06.000Z","action":"tool:read_contacts","agentDID":"$D","grantId":"$G","scopes":["read:contacts"],"result":"success","metadata":{{"i":{seq}}},"prevHash":"0000000000000000","hash":"{h}","signature":"{s}"}}"#,
                h = "0".repeat(64),
                s = "0".repeat(128)
            )
        })
        .collect();
    format!(r#"{{"bundleId":"$B","entries":[{}]}}"#, items.join(","))
}

#[test]
fn the_harness_reaches_every_endpoint_with_the_expected_status() {
    let (_dir, mut h) = harness();
    let create =
        r#"{"agentId":"$A","userId":"user_1","scopes":["read:contacts"],"offlineTTL":"72h"}"#;
    let cases: [(Vec<u8>, u16); 14] = [
        (req(0, 0, ""), 200),     // JWKS
        (req(1, 0, ""), 200),     // health
        (req(2, 0, create), 201), // create
        (
            req(2, 0, r#"{"agentId":"$A","userId":"u","scopes":["nope"]}"#),
            422,
        ),
        (req(2, 1, create), 401),                    // no API key
        (req(3, 0, "status=active&limit=2"), 200),   // list
        (req(4, 0, ""), 200),                        // get
        (req(5, 0, ""), 200),                        // refresh
        (req(5, 32, ""), 409),                       // refresh after expiry
        (req(6, 0, r#"{"revokeGrant":true}"#), 200), // revoke
        (req(7, 0, ""), 200),                        // revocation status
        (req(8, 0, "limit=10"), 200),                // audit listing
        (req(9, 0, &entries(1)), 400),               // unsigned entries
        (req(10, 0, ""), 405),                       // wrong method
    ];
    for (i, (input, want)) in cases.iter().enumerate() {
        let got = h.run_one(input).unwrap_or_else(|f| panic!("case {i}: {f}"));
        assert_eq!(got, *want, "case {i}: {}", String::from_utf8_lossy(input));
    }
}

#[test]
fn signed_and_linked_batches_are_accepted_and_bad_ones_rejected() {
    let (_dir, mut h) = harness();
    // Re-signed and re-linked (flags 2|4): a valid chain of three.
    assert_eq!(h.run_one(&req(9, 6, &entries(3))).unwrap(), 200);
    // Re-signed but not re-linked: the second entry does not link to the first.
    assert_eq!(h.run_one(&req(9, 2, &entries(3))).unwrap(), 400);
    // Chunked body (flag 8) is read the same way.
    assert_eq!(h.run_one(&req(9, 6 | 8, &entries(2))).unwrap(), 200);
}

#[test]
fn every_seed_and_past_crash_input_is_answered_properly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (_dir, mut h) = harness();
    let mut seen = 0;
    for dir in [
        "fuzz/seeds/server_request",
        "crates/gx-server/tests/fuzz_inputs",
    ] {
        let Ok(files) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            if let Err(finding) = h.run_one(&input) {
                panic!("{}: {finding}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 20, "only {seen} inputs found");
}
