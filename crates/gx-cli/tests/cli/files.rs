//! The device's files against hostile paths, through the real `gx` binary: a `--log` that is
//! a symlink onto an unrelated file is refused and the file left untouched, and `gx audit
//! append` processes writing one log through its own name, a symlink and a hard link at once
//! never acknowledge the same seq twice.

use std::collections::BTreeMap;

use serde_json::Value;

use super::server::{ServerProcess, start_server};
use super::util::{Gx, arg, json_of, run};

/// A sandbox with a running server and a bundle `b.gx`; returns the server (keep it
/// alive), and the environment every `gx` call needs.
fn with_bundle(gx: &Gx) -> (ServerProcess, Vec<(&'static str, String)>) {
    let tenant = json_of(
        gx.cmd(&[
            "server",
            "init",
            "--db",
            "server.db",
            "--scope",
            "read:contacts",
            "--json",
        ]),
        0,
    );
    let (server, url) = start_server(gx);
    let env = vec![
        (
            "GX_API_KEY",
            tenant["apiKey"].as_str().expect("key").to_owned(),
        ),
        ("GX_BUNDLE_KEY", "cd".repeat(32)),
    ];
    let ca = gx.path("ca.pem");
    let mut create = gx.cmd(&[
        "bundle",
        "create",
        "--server",
        &url,
        "--ca-cert",
        arg(&ca),
        "--agent",
        tenant["agentId"].as_str().expect("agent"),
        "--user",
        "user_1",
        "--scope",
        "read:contacts",
        "--out",
        "b.gx",
        "--json",
    ]);
    create.envs(env.iter().map(|(k, v)| (*k, v)));
    json_of(create, 0);
    (server, env)
}

fn append_cmd(gx: &Gx, env: &[(&'static str, String)], log: &str) -> assert_cmd::Command {
    let mut cmd = gx.cmd(&[
        "audit",
        "append",
        "--bundle",
        "b.gx",
        "--log",
        log,
        "--action",
        "tool:read_contacts",
        "--result",
        "success",
        "--json",
    ]);
    cmd.envs(env.iter().map(|(k, v)| (*k, v)));
    cmd
}

#[test]
fn a_symlinked_log_onto_an_unrelated_file_is_refused_and_left_untouched() {
    let gx = Gx::new();
    let (_server, env) = with_bundle(&gx);
    let victim = gx.path("notes.txt");
    // No newline at all: to a repair that follows links, the whole file is one torn line.
    std::fs::write(&victim, b"my notes, with no newline").unwrap();
    std::os::unix::fs::symlink(&victim, gx.path("a.jsonl")).unwrap();
    let out = append_cmd(&gx, &env, "a.jsonl").output().unwrap();
    // With --json the error is JSON on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "LOG_NOT_REGULAR_FILE", "{stdout}");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"my notes, with no newline"
    );
    // The same log under its real name works.
    std::fs::remove_file(gx.path("a.jsonl")).unwrap();
    let v: Value =
        serde_json::from_slice(&append_cmd(&gx, &env, "a.jsonl").output().unwrap().stdout).unwrap();
    assert_eq!(v["seq"], 1);
}

/// Runs `writers` at once, each a thread running `per_writer` `gx audit append` processes
/// one after another on its log name; returns every acknowledged (seq, hash) and every
/// refusal's error code.
fn append_at_once(
    gx: &Gx,
    env: &[(&'static str, String)],
    writers: &[&str],
    per_writer: usize,
) -> (Vec<(u64, String)>, Vec<String>) {
    std::thread::scope(|s| {
        let handles: Vec<_> = writers
            .iter()
            .map(|log| {
                s.spawn(move || {
                    let mut acks = Vec::new();
                    let mut refusals = Vec::new();
                    for _ in 0..per_writer {
                        let out = append_cmd(gx, env, log).output().unwrap();
                        if out.status.success() {
                            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                            let seq = v["seq"].as_u64().unwrap();
                            let hash = v["hash"].as_str().unwrap_or_default().to_owned();
                            acks.push((seq, hash));
                        } else {
                            // With --json the error is JSON on stdout.
                            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                            let code = v["error"]["code"].as_str().map_or_else(
                                || String::from_utf8_lossy(&out.stdout).into_owned(),
                                str::to_owned,
                            );
                            refusals.push(code);
                        }
                    }
                    (acks, refusals)
                })
            })
            .collect();
        let mut acks = Vec::new();
        let mut refusals = Vec::new();
        for h in handles {
            let (a, r) = h.join().unwrap();
            acks.extend(a);
            refusals.extend(r);
        }
        (acks, refusals)
    })
}

#[test]
fn appends_through_a_symlink_and_a_hard_link_at_once_never_share_a_seq() {
    let gx = Gx::new();
    let (_server, env) = with_bundle(&gx);
    // The log exists before the links to it are made.
    run(append_cmd(&gx, &env, "a.jsonl"), 0);
    std::os::unix::fs::symlink(gx.path("a.jsonl"), gx.path("s.jsonl")).unwrap();

    // Two writers on the log's name and one through the symlink.
    let (acks, refusals) = append_at_once(&gx, &env, &["a.jsonl", "s.jsonl", "a.jsonl"], 6);
    let mut seqs = BTreeMap::new();
    for (seq, hash) in &acks {
        assert!(
            seqs.insert(*seq, hash).is_none(),
            "seq {seq} acknowledged twice"
        );
    }
    assert_eq!(
        seqs.keys().copied().collect::<Vec<_>>(),
        (2..=13).collect::<Vec<_>>()
    );
    assert_eq!(refusals.len(), 6, "{refusals:?}");
    assert!(
        refusals.iter().all(|c| c == "LOG_NOT_REGULAR_FILE"),
        "{refusals:?}"
    );

    // With a hard link as well, every name is refused and the log is left as it was.
    std::fs::hard_link(gx.path("a.jsonl"), gx.path("h.jsonl")).unwrap();
    let before = std::fs::read(gx.path("a.jsonl")).unwrap();
    let (acks, refusals) = append_at_once(&gx, &env, &["a.jsonl", "s.jsonl", "h.jsonl"], 3);
    assert!(acks.is_empty(), "{acks:?}");
    assert!(
        refusals
            .iter()
            .all(|c| c == "LOG_NOT_REGULAR_FILE" || c == "LOG_HARD_LINKED"),
        "{refusals:?}"
    );
    assert_eq!(std::fs::read(gx.path("a.jsonl")).unwrap(), before);

    std::fs::remove_file(gx.path("h.jsonl")).unwrap();
    let mut verify = gx.cmd(&["audit", "verify", "a.jsonl", "--bundle", "b.gx", "--json"]);
    verify.envs(env.iter().map(|(k, v)| (*k, v)));
    let v = json_of(verify, 0);
    assert_eq!(v["entries"], 13);
}

/// `gx sync` against a server that accepts the connection and never answers: while it
/// waits, `gx audit append` processes on the same log go on (the sync holds the log's lock
/// only to read its position and to store the cursor, never across the exchange).
#[test]
fn appends_go_on_while_gx_sync_waits_on_a_server_that_never_answers() {
    use core::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let gx = Gx::new();
    let (_server, env) = with_bundle(&gx);
    for _ in 0..2 {
        run(append_cmd(&gx, &env, "a.jsonl"), 0);
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let (accepted_tx, accepted) = std::sync::mpsc::channel();
    let silent = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                held.push(stream);
                let _ = accepted_tx.send(());
            }
        })
    };

    let url = format!("http://127.0.0.1:{port}");
    let mut sync = std::process::Command::new(assert_cmd::cargo::cargo_bin("gx"));
    sync.current_dir(gx.path(""))
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .args([
            "sync", "--bundle", "b.gx", "--log", "a.jsonl", "--server", &url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut sync = sync.spawn().unwrap();
    // The sync's request is on the wire.
    accepted
        .recv_timeout(core::time::Duration::from_secs(60))
        .expect("gx sync connected");

    let mut seqs = Vec::new();
    for _ in 0..3 {
        let out = append_cmd(&gx, &env, "a.jsonl").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        seqs.push(v["seq"].as_u64().unwrap());
    }
    // All three went through while the sync was still waiting.
    assert!(sync.try_wait().unwrap().is_none(), "gx sync ended early");
    assert_eq!(seqs, [3, 4, 5]);

    let _ = sync.kill();
    let _ = sync.wait();
    stop.store(true, Ordering::SeqCst);
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    silent.join().unwrap();
}
