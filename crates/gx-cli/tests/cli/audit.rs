//! `gx audit verify|hash|append`: exit codes, JSON shapes, both log formats.

use serde_json::Value;

use super::util::{Gx, arg, fixture, json_of, keys, run};

#[test]
fn verify_intact_logs_in_both_formats() {
    let gx = Gx::new();
    let key = fixture("peer/audit_ed25519_public.pem");
    for (log, format) in [
        ("peer/ts-head_chain100.jsonl", "wire"),
        ("peer/py_chain100.jsonl", "py"),
    ] {
        let log = gx.copy_fixture(log);
        let v = json_of(
            gx.cmd(&[
                "audit",
                "verify",
                arg(&log),
                "--public-key",
                arg(&key),
                "--json",
            ]),
            0,
        );
        assert_eq!(keys(&v), ["broken", "entries", "format", "valid"]);
        assert_eq!(v["valid"], true);
        assert_eq!(v["entries"], 100);
        assert_eq!(v["format"], format);
        assert_eq!(v["broken"], Value::Null);
        // One line for a person without --json; nothing on stderr.
        let (out, err) = run(
            gx.cmd(&["audit", "verify", arg(&log), "--public-key", arg(&key)]),
            0,
        );
        assert_eq!(
            out,
            format!(
                "{}: 100 entries, hash chain and signatures intact ({format} format)\n",
                arg(&log)
            )
        );
        assert_eq!(err, "");
    }
}

#[test]
fn verify_reports_the_first_broken_entry() {
    let gx = Gx::new();
    let key = fixture("peer/audit_ed25519_public.pem");
    let log = gx.copy_fixture("peer/ts-head_chain100.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[41] = lines[41].replace("\"success\"", "\"failure\"");
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let v = json_of(
        gx.cmd(&[
            "audit",
            "verify",
            arg(&log),
            "--public-key",
            arg(&key),
            "--json",
        ]),
        1,
    );
    assert_eq!(v["valid"], false);
    assert_eq!(v["entries"], 41);
    assert_eq!(v["broken"]["index"], 41);
    assert_eq!(v["broken"]["seq"], 42);
    assert_eq!(v["broken"]["code"], "INVALID_HASH");
    let (_, err) = run(
        gx.cmd(&["audit", "verify", arg(&log), "--public-key", arg(&key)]),
        1,
    );
    assert!(err.starts_with("gx: invalid[INVALID_HASH]"), "{err}");

    // The wrong key: every signature fails at the first entry.
    let other = gx.path("other.pem");
    std::fs::write(&other, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n").expect("write");
    let good = gx.copy_fixture("peer/py_chain100.jsonl");
    let v = json_of(
        gx.cmd(&[
            "audit",
            "verify",
            arg(&good),
            "--public-key",
            arg(&other),
            "--json",
        ]),
        1,
    );
    assert_eq!(v["broken"]["index"], 0);
    assert_eq!(v["broken"]["code"], "INVALID_SIGNATURE");
}

#[test]
fn verify_usage_and_io_errors_exit_2() {
    let gx = Gx::new();
    let key = fixture("peer/audit_ed25519_public.pem");
    let (_, err) = run(
        gx.cmd(&["audit", "verify", "nope.jsonl", "--public-key", arg(&key)]),
        2,
    );
    assert!(err.starts_with("gx: error[LOG_NOT_FOUND]"), "{err}");
    let log = gx.copy_fixture("peer/ts-head_chain100.jsonl");
    let (_, err) = run(gx.cmd(&["audit", "verify", arg(&log)]), 2);
    assert!(
        err.contains("NO_PUBLIC_KEY") && err.contains("next:"),
        "{err}"
    );
}

#[test]
fn hash_matches_the_writers_hash() {
    let gx = Gx::new();
    for (log, format) in [
        ("peer/ts-head_chain100.jsonl", "wire"),
        ("peer/py_chain100.jsonl", "py"),
    ] {
        let text = std::fs::read_to_string(fixture(log)).expect("log");
        for line in text.lines().take(3) {
            let entry: Value = serde_json::from_str(line).expect("json");
            let (out, _) = run(
                gx.cmd(&["audit", "hash", "--format", format])
                    .write_stdin(line),
                0,
            );
            assert_eq!(out.trim(), entry["hash"].as_str().expect("hash"));
            // Without hash and signature (an entry being built) the answer is the same.
            let mut bare = entry.clone();
            let obj = bare.as_object_mut().expect("object");
            obj.remove("hash");
            obj.remove("signature");
            let (out2, _) = run(
                gx.cmd(&["audit", "hash", "--format", format])
                    .write_stdin(bare.to_string()),
                0,
            );
            assert_eq!(out2, out);
        }
    }
    let (_, err) = run(gx.cmd(&["audit", "hash"]).write_stdin("not json"), 2);
    assert!(err.starts_with("gx: error[INVALID_ENTRY]"), "{err}");
    let (_, err) = run(gx.cmd(&["audit", "hash"]).write_stdin(r#"{"seq":0}"#), 2);
    assert!(err.starts_with("gx: error["), "{err}");
}
