//! `gx demo` runs the three phases to exit 0.

use super::util::{Gx, run};

#[test]
fn demo_runs_to_exit_0_and_keeps_its_files() {
    let gx = Gx::new();
    let keep = gx.path("kept");
    let (out, _) = run(
        gx.cmd(&["demo", "--keep", keep.to_str().expect("utf-8")]),
        0,
    );
    for needle in [
        "== phase 1",
        "== phase 2",
        "== phase 3",
        "refused",
        "first broken entry 1 (seq 2, INVALID_HASH)",
        "grant revoked",
        "agent    stopped",
        // Dates a person reads, not Unix seconds.
        "usable offline until 20",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    let token = out
        .lines()
        .find(|l| l.starts_with("token "))
        .expect("token line");
    // A 24 h bundle, read at most a few seconds after it was issued.
    let fresh = |line: &str| line.ends_with("(in 1d 0h)") || line.ends_with("(in 23h 59m)");
    assert!(token.contains(", expires 20") && fresh(token), "{token}");
    let bundle = out
        .lines()
        .find(|l| l.starts_with("bundle "))
        .expect("bundle line");
    assert!(fresh(bundle), "{bundle}");
    for file in [
        "server.db",
        "ca.pem",
        "bundle.gx",
        "audit.jsonl",
        "audit-tampered.jsonl",
    ] {
        assert!(keep.join(file).exists(), "{file} kept");
    }
}
