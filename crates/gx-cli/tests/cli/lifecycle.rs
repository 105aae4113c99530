//! A device's week, against an in-process gx-server: the operator's actions through the
//! `gx` binary, the agent's through the library (an injected clock): a rotation, a clock
//! set back, five refreshes with appends between them, `--now` in the past, SIGKILLs
//! during appends, four writer processes at once, a revocation learned by sync, and a
//! restart. At the end the log verifies over every entry, the server holds exactly the
//! same entries, nothing was appended after the revocation, and no entry is stamped
//! past its grant's expiry plus the skew.

use core::time::Duration;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;

use gx_agent::{Device, DeviceOptions, Guard, GuardError, ManualClock};
use gx_core::UnixTime;
use gx_storage::{AuditLogConfig, BundleKey, FsyncPolicy};
use serde_json::Value;

use super::cloud::{BUNDLE_KEY, Cloud, log_lines};
use super::util::json_of;

/// The verifier's default clock skew, which the CLI and the session use.
const SKEW_SECS: u64 = 30;

fn secs(iso: &Value) -> u64 {
    UnixTime::parse_iso(iso.as_str().expect("an ISO time"))
        .expect("iso")
        .as_secs()
}

fn timestamp_ms(line: &str) -> u64 {
    let v: Value = serde_json::from_str(line).expect("json");
    UnixTime::parse_iso(v["timestamp"].as_str().expect("ts"))
        .expect("iso")
        .as_millis()
}

#[test]
fn a_devices_week() {
    let c = Cloud::start();
    let created = c.create_bundle("b.gx", "1h");
    let id = created["bundleId"].as_str().expect("id").to_owned();
    let log = c.path("audit.jsonl");
    // (first seq of the epoch, the epoch's grant expiry in seconds)
    let mut epochs = vec![(1u64, secs(&created["offlineExpiresAt"]))];
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();

    // Monday: the agent, through the library with its own clock; small segments rotate,
    // and the clock is set back ten minutes half way.
    {
        let clock = ManualClock::new(UnixTime::now());
        let options = DeviceOptions::new().with_clock(clock.clone()).with_log(
            &log,
            AuditLogConfig::new(FsyncPolicy::EveryEntry).with_segment_max_bytes(1500),
        );
        let key = BundleKey::from_hex(BUNDLE_KEY).expect("key");
        let device = Arc::new(Device::open(c.path("b.gx"), key, options).expect("device"));
        let guard = Guard::new(Arc::clone(&device));
        for i in 0..12u64 {
            if i == 6 {
                clock.set(UnixTime::from_millis(UnixTime::now().as_millis() - 600_000));
            }
            let meta = serde_json::json!({ "i": i });
            guard
                .run("tool:read_contacts", "read:contacts", Some(&meta), || {
                    Ok::<_, String>(())
                })
                .expect("the guard allows");
        }
    }
    seen.extend(log_lines(&log));
    let segments = std::fs::read_dir(c.path(""))
        .expect("dir")
        .filter(|e| {
            let name = e.as_ref().expect("entry").file_name();
            let name = name.to_string_lossy();
            name.starts_with("audit.jsonl.") && name[12..].bytes().all(|b| b.is_ascii_digit())
        })
        .count();
    assert!(segments >= 1, "the log rotated");

    // Five refreshes with appends between them; one append says `--now` an hour ago.
    for round in 0..5 {
        for _ in 0..3 {
            assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
        }
        if round == 2 {
            let past = UnixTime::now().as_secs() - 3600;
            assert_eq!(c.append("b.gx", "audit.jsonl", Some(past)).0, 0);
        }
        seen.extend(log_lines(&log));
        let last = seen.keys().next_back().copied().unwrap_or(0);
        let refreshed = c.refresh("b.gx", "audit.jsonl");
        epochs.push((last + 1, secs(&refreshed["offlineExpiresAt"])));
    }

    // SIGKILL during appends, at staggered moments of their run.
    let gx = assert_cmd::cargo::cargo_bin("gx");
    for delay_ms in [0u64, 3, 8, 15, 30, 60] {
        let mut child = std::process::Command::new(&gx)
            .current_dir(c.path(""))
            .env("GX_BUNDLE_KEY", BUNDLE_KEY)
            .args([
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
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(
        c.append("b.gx", "audit.jsonl", None).0,
        0,
        "the log recovers"
    );

    // Four writer processes, fifty appends each, at once: none fails.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let (code, v) = c.append("b.gx", "audit.jsonl", None);
                    assert_eq!(code, 0, "{v}");
                }
            });
        }
    });
    seen.extend(log_lines(&log));
    let (code, v) = c.sync("b.gx", "audit.jsonl");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["revocationStatus"], "valid");

    // The grant is revoked on the server; the device learns it by syncing.
    c.revoke_on_server(&id);
    assert_eq!(
        c.append("b.gx", "audit.jsonl", None).0,
        0,
        "not learned yet"
    );
    seen.extend(log_lines(&log));
    let before_revocation = seen.len();
    let (code, v) = c.sync("b.gx", "audit.jsonl");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["revocationStatus"], "revoked");
    for _ in 0..3 {
        let (code, v) = c.append("b.gx", "audit.jsonl", None);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["error"]["code"], "BUNDLE_REVOKED");
    }
    // A restart: a new session and guard refuse too, without running the tool.
    {
        let key = BundleKey::from_hex(BUNDLE_KEY).expect("key");
        let options =
            DeviceOptions::new().with_log(&log, AuditLogConfig::new(FsyncPolicy::EveryEntry));
        let device = Arc::new(Device::open(c.path("b.gx"), key, options).expect("device"));
        let guard = Guard::new(device);
        let r = guard.run("tool:read_contacts", "read:contacts", None, || {
            Ok::<_, String>(())
        });
        assert!(matches!(r, Err(GuardError::Revoked)), "{r:?}");
    }
    seen.extend(log_lines(&log));
    assert_eq!(
        seen.len(),
        before_revocation,
        "nothing appended after the revocation"
    );

    // The log verifies over every entry still on disk, with the key history.
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
    let on_disk = log_lines(&log);
    assert_eq!(v["entries"].as_u64(), Some(on_disk.len() as u64));
    // One chain, seq 1.. with no gap, every entry ever written.
    let seqs: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    // Monday's 12, 15 around the refreshes, `--now`, the recovery, 200, the last one.
    assert!(seqs.len() > 12 + 15 + 1 + 1 + 200);

    // The server holds exactly the same entries.
    let stored = c.stored(&id);
    assert_eq!(stored.len(), seen.len());
    for s in &stored {
        let local: serde_json::Map<String, Value> =
            serde_json::from_str(&seen[&s.seq]).expect("json");
        assert_eq!(s.entry, local, "entry {} differs", s.seq);
    }

    // Time: stamps never go back (not with the clock set back nor with `--now` in the
    // past), and none is later than its grant's expiry plus the skew.
    let stamps: Vec<u64> = seen.values().map(|l| timestamp_ms(l)).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps went back"
    );
    for (seq, line) in &seen {
        let (_, exp) = epochs
            .iter()
            .rev()
            .find(|(first, _)| first <= seq)
            .copied()
            .expect("an epoch");
        assert!(
            timestamp_ms(line) <= (exp + SKEW_SECS) * 1000,
            "entry {seq} is stamped past its grant's expiry"
        );
    }
}
