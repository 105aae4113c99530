//! `gx server init|run` and the online commands against a real `gx server run` process:
//! bundle create/status/revoke, audit append, sync.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::util::{Gx, arg, json_of, keys, run};

/// A `gx server run` child, killed when dropped.
pub(crate) struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_server(gx: &Gx) -> (ServerProcess, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("gx"))
        .current_dir(gx.path(""))
        .args([
            "server",
            "run",
            "--db",
            "server.db",
            "--listen",
            "127.0.0.1:0",
            "--self-signed",
            "ca.pem",
            "--no-rate-limits",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gx server run");
    let stdout = child.stdout.take().expect("stdout");
    let proc = ServerProcess(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first.trim().to_owned();
    assert!(
        url.starts_with("https://127.0.0.1:"),
        "first line is the base URL: {url:?}"
    );
    (proc, url)
}

#[test]
fn init_prints_the_tenant_once_and_refuses_to_overwrite() {
    let gx = Gx::new();
    let v = json_of(
        gx.cmd(&[
            "server",
            "init",
            "--db",
            "s.db",
            "--scope",
            "read:contacts",
            "--json",
        ]),
        0,
    );
    assert_eq!(keys(&v), ["agentDid", "agentId", "apiKey", "developerId"]);
    assert!(v["agentId"].as_str().is_some_and(|a| a.starts_with("ag_")));
    let (_, err) = run(gx.cmd(&["server", "init", "--db", "s.db"]), 2);
    assert!(
        err.starts_with("gx: error[ALREADY_INITIALISED]") && err.contains("--force"),
        "{err}"
    );
    let again = json_of(
        gx.cmd(&["server", "init", "--db", "s.db", "--force", "--json"]),
        0,
    );
    assert_ne!(again["apiKey"], v["apiKey"]);
}

#[test]
fn the_whole_life_cycle_through_the_cli() {
    let gx = Gx::new();
    let tenant = json_of(
        gx.cmd(&[
            "server",
            "init",
            "--db",
            "server.db",
            "--scope",
            "read:contacts",
            "--scope",
            "send:email",
            "--json",
        ]),
        0,
    );
    let (_server, url) = start_server(&gx);
    let api_key = tenant["apiKey"].as_str().expect("api key").to_owned();
    let agent = tenant["agentId"].as_str().expect("agent").to_owned();
    let bundle_key = "ab".repeat(32);
    let with_keys = |args: &[&str]| {
        let mut c = gx.cmd(args);
        c.env("GX_API_KEY", &api_key)
            .env("GX_BUNDLE_KEY", &bundle_key);
        c
    };
    let ca = gx.path("ca.pem");
    let created = json_of(
        &mut with_keys(&[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            arg(&ca),
            "--agent",
            &agent,
            "--user",
            "user_1",
            "--scope",
            "read:contacts",
            "--ttl",
            "1h",
            "--out",
            "b.gx",
            "--json",
        ]),
        0,
    );
    assert!(
        created["bundleId"]
            .as_str()
            .is_some_and(|b| b.starts_with("bundle_"))
    );
    // A scope the agent is not registered for: the server's code, exit 2.
    let (_, err) = run(
        &mut with_keys(&[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            arg(&ca),
            "--agent",
            &agent,
            "--user",
            "user_1",
            "--scope",
            "delete:everything",
            "--out",
            "c.gx",
        ]),
        2,
    );
    assert!(err.starts_with("gx: error[INVALID_SCOPES]"), "{err}");
    // Without the API key: exit 2 before any call.
    let (_, err) = run(
        gx.cmd(&[
            "bundle",
            "create",
            "--server",
            &url,
            "--agent",
            &agent,
            "--user",
            "u",
            "--scope",
            "read:contacts",
            "--out",
            "d.gx",
        ])
        .env("GX_BUNDLE_KEY", &bundle_key),
        2,
    );
    assert!(err.starts_with("gx: error[NO_API_KEY]"), "{err}");

    for i in 1..=3 {
        let meta = format!("{{\"i\":{i}}}");
        let v = json_of(
            &mut with_keys(&[
                "audit",
                "append",
                "--bundle",
                "b.gx",
                "--log",
                "a.jsonl",
                "--action",
                "tool:read_contacts",
                "--result",
                "success",
                "--metadata",
                &meta,
                "--json",
            ]),
            0,
        );
        assert_eq!(v["seq"], i);
    }
    let (_, err) = run(
        &mut with_keys(&[
            "audit",
            "append",
            "--bundle",
            "b.gx",
            "--log",
            "a.jsonl",
            "--action",
            "x",
            "--result",
            "success",
            "--metadata",
            "[1]",
        ]),
        2,
    );
    assert!(err.starts_with("gx: error["), "{err}");
    // After the grant expired (as told by --now): exit 1, nothing written. On a bundle of
    // its own: an explicit time raises the time floor beside the bundle for good, so b.gx would
    // count as expired from then on.
    json_of(
        &mut with_keys(&[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            arg(&ca),
            "--agent",
            &agent,
            "--user",
            "user_1",
            "--scope",
            "read:contacts",
            "--ttl",
            "1h",
            "--out",
            "late.gx",
            "--json",
        ]),
        0,
    );
    let late = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        + 7200)
        .to_string();
    let (_, err) = run(
        &mut with_keys(&[
            "audit",
            "append",
            "--bundle",
            "late.gx",
            "--log",
            "late.jsonl",
            "--action",
            "x",
            "--result",
            "success",
            "--now",
            &late,
        ]),
        1,
    );
    assert!(err.starts_with("gx: invalid["), "{err}");
    let v = json_of(
        &mut with_keys(&["audit", "verify", "a.jsonl", "--bundle", "b.gx", "--json"]),
        0,
    );
    assert_eq!(v["entries"], 3);

    let sync_args = [
        "sync",
        "--bundle",
        "b.gx",
        "--log",
        "a.jsonl",
        "--ca-cert",
        arg(&ca),
        "--batch",
        "2",
        "--json",
    ];
    let s = json_of(&mut with_keys(&sync_args), 0);
    assert_eq!(
        keys(&s),
        [
            "accepted",
            "batches",
            "cursor",
            "retries",
            "revocationStatus"
        ]
    );
    assert_eq!(
        (
            s["accepted"].as_u64(),
            s["batches"].as_u64(),
            s["cursor"].as_u64()
        ),
        (Some(3), Some(2), Some(3))
    );
    assert_eq!(s["revocationStatus"], "valid");

    let st = json_of(
        &mut with_keys(&["bundle", "status", "b.gx", "--ca-cert", arg(&ca), "--json"]),
        0,
    );
    assert_eq!(st["usable"], true);
    let r = json_of(
        &mut with_keys(&["bundle", "revoke", "b.gx", "--ca-cert", arg(&ca), "--json"]),
        0,
    );
    assert_eq!(r["status"], "revoked");
    let s = json_of(&mut with_keys(&sync_args), 1);
    assert_eq!(s["revocationStatus"], "revoked");
    // The device remembers: offline status is now "no".
    let st = json_of(
        &mut with_keys(&["bundle", "status", "b.gx", "--offline", "--json"]),
        1,
    );
    assert_eq!(
        (st["usable"].as_bool(), st["revoked"].as_bool()),
        (Some(false), Some(true))
    );
}
