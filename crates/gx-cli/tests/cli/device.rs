//! The device's offline state has one owner: each seam that broke when the parts were
//! assembled separately, driven through the `gx` binary against an in-process gx-server.
//! Each test here failed on the code before the device session.

use gx_core::SignedAuditEntry;
use serde_json::Value;

use super::cloud::{Cloud, log_lines};
use super::util::{arg, json_of, run};

/// A log that lived through a refresh verifies with `--bundle` (it used to fail with
/// `INVALID_SIGNATURE` at entry 0: only the current key was known), and with both keys
/// given as `--public-key`.
#[test]
fn a_log_verifies_across_a_refresh() {
    let c = Cloud::start();
    c.create_bundle("b.gx", "1h");
    let first_key = json_of(c.cmd(&["bundle", "inspect", "b.gx", "--json"]), 0)["auditPublicKey"]
        .as_str()
        .expect("key")
        .to_owned();
    for _ in 0..3 {
        assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
    }
    c.refresh("b.gx", "audit.jsonl");
    for _ in 0..2 {
        assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
    }
    let v = json_of(
        c.cmd(&[
            "audit",
            "verify",
            "audit.jsonl",
            "--bundle",
            "b.gx",
            "--json",
        ]),
        0,
    );
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], 5);
    // The same with the two public keys by hand, oldest first.
    let second_key = json_of(c.cmd(&["bundle", "inspect", "b.gx", "--json"]), 0)["auditPublicKey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_ne!(first_key, second_key);
    std::fs::write(c.path("k1.pem"), &first_key).expect("write");
    std::fs::write(c.path("k2.pem"), &second_key).expect("write");
    let v = json_of(
        c.cmd(&[
            "audit",
            "verify",
            "audit.jsonl",
            "--public-key",
            "k1.pem",
            "--public-key",
            "k2.pem",
            "--json",
        ]),
        0,
    );
    assert_eq!(v["valid"], true, "{v}");
    // The new key alone does not cover the first three entries.
    let v = json_of(
        c.cmd(&[
            "audit",
            "verify",
            "audit.jsonl",
            "--public-key",
            "k2.pem",
            "--json",
        ]),
        1,
    );
    assert_eq!(v["broken"]["index"], 0);
}

/// A revocation learned by `gx sync` stops `gx audit append` (it used to verify the grant
/// and append): exit 1 with `BUNDLE_REVOKED`, nothing written.
#[test]
fn a_revocation_learned_by_sync_refuses_every_later_append() {
    let c = Cloud::start();
    let id = c.create_bundle("b.gx", "1h")["bundleId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
    c.revoke_on_server(&id);
    let (code, v) = c.sync("b.gx", "audit.jsonl");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["revocationStatus"], "revoked");
    let (code, v) = c.append("b.gx", "audit.jsonl", None);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["code"], "BUNDLE_REVOKED");
    let (_, err) = run(
        c.cmd(&[
            "audit",
            "append",
            "--bundle",
            "b.gx",
            "--log",
            "audit.jsonl",
            "--action",
            "tool:x",
            "--result",
            "success",
        ]),
        1,
    );
    assert!(err.contains("invalid[BUNDLE_REVOKED]"), "{err}");
    assert_eq!(log_lines(&c.path("audit.jsonl")).len(), 1);
    let status = json_of(
        c.cmd(&["bundle", "status", "b.gx", "--offline", "--json"]),
        1,
    );
    assert_eq!(status["revoked"], true);
}

/// The time floor bounds `--now`: once the device's clock read a time past the grant's
/// expiry (a refused append), a `--now` in the past (the token's `iat`) no longer revives
/// it; it used to append, stamped with the system clock, past the grant's `exp`.
#[test]
fn now_in_the_past_cannot_revive_an_expired_grant() {
    let c = Cloud::start();
    let created = c.create_bundle("b.gx", "2s");
    let expires = gx_core::UnixTime::parse_iso(created["offlineExpiresAt"].as_str().expect("exp"))
        .expect("iso")
        .as_secs();
    let iat = expires - 2;
    let append = |now: Option<u64>| {
        let now_text = now.map(|n| n.to_string());
        let mut args = vec![
            "audit",
            "append",
            "--bundle",
            "b.gx",
            "--log",
            "audit.jsonl",
            "--action",
            "tool:read_contacts",
            "--result",
            "success",
            "--skew",
            "0",
            "--json",
        ];
        if let Some(n) = &now_text {
            args.extend(["--now", n.as_str()]);
        }
        let out = c.cmd(&args).output().expect("run gx");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v)
    };
    // Inside the window an explicit time works and is the entry's timestamp.
    assert_eq!(append(Some(iat)).0, Some(0));
    // Wait out the 2 s window (bounded: at most 3 s), then the clock says expired.
    while gx_core::UnixTime::now().as_secs() <= expires {
        std::thread::sleep(core::time::Duration::from_millis(100));
    }
    let (code, v) = append(None);
    assert_eq!(code, Some(1), "{v}");
    // Back to the token's iat: still refused, nothing written.
    let (code, v) = append(Some(iat));
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["error"]["code"]
            .as_str()
            .is_some_and(|c| c.ends_with("EXPIRED")),
        "{v}"
    );
    let lines = log_lines(&c.path("audit.jsonl"));
    assert_eq!(lines.len(), 1);
    let entry: Value = serde_json::from_str(&lines[&1]).expect("json");
    let stamped = gx_core::UnixTime::parse_iso(entry["timestamp"].as_str().expect("ts"))
        .expect("iso")
        .as_secs();
    assert_eq!(stamped, iat, "stamped with the checked time, not the clock");
}

/// `gx audit hash` parses with gx-core, like the log and the server: a lone surrogate in
/// metadata hashes (serde_json refused it: exit 2).
#[test]
fn audit_hash_accepts_lone_surrogates() {
    let c = Cloud::start();
    let line = std::fs::read_to_string(super::util::fixture("peer/ts-head_chain100.jsonl"))
        .expect("log")
        .lines()
        .next()
        .expect("line")
        .to_owned();
    let mut v: Value = serde_json::from_str(&line).expect("json");
    let obj = v.as_object_mut().expect("object");
    obj.remove("metadata");
    obj.remove("hash");
    obj.remove("signature");
    let text = v.to_string();
    let body = text.strip_suffix('}').expect("object");
    let with_surrogate = format!(r#"{body},"metadata":{{"k":"\ud800","n":[1,"\udfff x"]}}}}"#);
    let mut full = with_surrogate.trim_end_matches('}').to_owned();
    full.push_str(&format!(
        r#"}},"hash":"{}","signature":"{}"}}"#,
        "0".repeat(64),
        "0".repeat(128)
    ));
    let expected = SignedAuditEntry::parse_line(full.as_bytes())
        .expect("gx-core parses it")
        .entry
        .hash()
        .expect("hash")
        .to_string();
    let mut cmd = c.cmd(&["audit", "hash"]);
    let (out, _) = run(cmd.write_stdin(with_surrogate), 0);
    assert_eq!(out.trim(), expected);
}

/// Four processes appending at once: every append succeeds (writers wait for the lock),
/// and the log holds them all, in one chain.
#[test]
fn concurrent_writer_processes_lose_nothing() {
    let c = Cloud::start();
    c.create_bundle("b.gx", "1h");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let (code, v) = c.append("b.gx", "audit.jsonl", None);
                    assert_eq!(code, 0, "{v}");
                }
            });
        }
    });
    assert_eq!(log_lines(&c.path("audit.jsonl")).len(), 100);
    let v = json_of(
        c.cmd(&[
            "audit",
            "verify",
            arg(&c.path("audit.jsonl")),
            "--bundle",
            "b.gx",
            "--json",
        ]),
        0,
    );
    assert_eq!(v["entries"], 100);
}

/// One owner of the offline state: what the agent's guard learned (through the library),
/// `gx audit append` enforces, and the entries of both verify as one chain. The guard
/// used to keep revocation in memory, so the CLI appended on.
#[test]
fn what_the_guard_learns_every_gx_command_enforces() {
    use std::sync::Arc;

    use gx_agent::{Device, DeviceOptions, Guard};
    use gx_storage::{AuditLogConfig, BundleKey, FsyncPolicy};

    let c = Cloud::start();
    c.create_bundle("b.gx", "1h");
    assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
    {
        let options = DeviceOptions::new().with_log(
            c.path("audit.jsonl"),
            AuditLogConfig::new(FsyncPolicy::EveryEntry),
        );
        let key = BundleKey::from_hex(super::cloud::BUNDLE_KEY).expect("key");
        let device = Arc::new(Device::open(c.path("b.gx"), key, options).expect("device"));
        let guard = Guard::new(device);
        guard
            .run("tool:read_contacts", "read:contacts", None, || {
                Ok::<_, String>(())
            })
            .expect("allowed");
        guard.mark_revoked(None).expect("marker");
    }
    let (code, v) = c.append("b.gx", "audit.jsonl", None);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["code"], "BUNDLE_REVOKED");
    let v = json_of(
        c.cmd(&[
            "audit",
            "verify",
            "audit.jsonl",
            "--bundle",
            "b.gx",
            "--json",
        ]),
        0,
    );
    assert_eq!(v["entries"], 2);
}
