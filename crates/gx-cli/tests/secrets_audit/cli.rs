//! The `gx` binary through a full flow with `RUST_LOG=trace`: server init and run (a
//! child logging at TRACE), bundle create/inspect/status/refresh/revoke, token verify,
//! audit append/verify, sync, the errors of a wrong bundle key and a wrong API key, and
//! `gx demo`. Every stdout and stderr, and the server's whole log, is searched for every
//! form of every secret.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

use gx_server::{SqliteStore, Store};
use gx_storage::{BundleFile, BundleKey, ConsentBundle};

use super::secrets::Secrets;

/// A marker that makes the test's own secrets unmistakable.
fn marker() -> String {
    let r: [u8; 8] = rand::random();
    r.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex_key() -> String {
    let r: [u8; 32] = rand::random();
    r.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything the processes printed, labelled by command.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

/// The sandbox: a temp dir and the outputs collected from it.
struct Run {
    dir: tempfile::TempDir,
    outputs: Outputs,
}

impl Run {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gx args` with `RUST_LOG=trace` and `env`; records stdout and stderr and returns
    /// them after checking the exit code.
    fn gx(&mut self, args: &[&str], env: &[(&str, &str)], code: i32) -> Output {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("gx"));
        cmd.current_dir(self.dir.path())
            .env_remove("GX_BUNDLE_KEY")
            .env_remove("GX_API_KEY")
            .env("RUST_LOG", "trace")
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run gx");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "gx {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        let name = format!("gx {}", args.join(" "));
        self.outputs.0.push((format!("{name} (stdout)"), stdout));
        self.outputs.0.push((format!("{name} (stderr)"), stderr));
        out
    }
}

/// `gx server run` logging at TRACE; its stderr is collected by a thread.
struct ServerChild {
    child: Child,
    log: Option<JoinHandle<String>>,
}

impl ServerChild {
    fn start(dir: &Path) -> (Self, String) {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("gx"))
            .current_dir(dir)
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
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gx server run");
        let mut stderr = child.stderr.take().expect("stderr");
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the base URL line");
        let url = first.trim().to_owned();
        assert!(url.starts_with("https://127.0.0.1:"), "{url:?}");
        (
            Self {
                child,
                log: Some(log),
            },
            url,
        )
    }

    /// Stops the server and returns everything it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds the grant token and the audit private key of the bundle stored at `file`.
fn bundle_secrets(
    secrets: &mut Secrets,
    file: &Path,
    key: &BundleKey,
    label: &str,
) -> ConsentBundle {
    let bundle = BundleFile::new(file).load(key).expect("load the bundle");
    secrets.add_token(&format!("{label} grant token"), bundle.grant_token());
    secrets.add_pem(
        &format!("{label} audit private key"),
        bundle.offline_audit_key().private_key.expose_pem(),
    );
    bundle
}

/// Adds the server's RSA signing keys, read from its database.
fn server_secrets(secrets: &mut Secrets, db: &Path) {
    let store = SqliteStore::open(db).expect("open the server database");
    let keys = store.signing_keys().expect("signing keys");
    assert!(!keys.is_empty());
    for k in keys {
        secrets.add_der(&format!("server signing key {}", k.kid), &k.private_key);
    }
}

#[test]
fn no_secret_in_any_output_of_the_cli_and_the_server_at_trace() {
    let mut run = Run {
        dir: tempfile::tempdir().expect("tempdir"),
        outputs: Outputs::default(),
    };
    let mut secrets = Secrets::default();

    // ---- server init: the one output meant to show the API key ----
    let init = run.gx(
        &[
            "server",
            "init",
            "--db",
            "server.db",
            "--scope",
            "read:contacts",
            "--scope",
            "send:email",
            "--json",
        ],
        &[],
        0,
    );
    // Its stdout is where the key is shown, once, by design; its stderr stays audited.
    let init_stderr = run.outputs.0.pop().expect("init stderr");
    let (init_stdout_label, _) = run.outputs.0.pop().expect("init stdout");
    assert!(init_stdout_label.ends_with("(stdout)"));
    run.outputs.0.push(init_stderr);
    let tenant: serde_json::Value = serde_json::from_slice(&init.stdout).expect("init JSON");
    let api_key = tenant["apiKey"].as_str().expect("apiKey").to_owned();
    let agent = tenant["agentId"].as_str().expect("agentId").to_owned();
    secrets.add_text("API key", &api_key);
    secrets.add_text(
        "API key secret part",
        api_key.strip_prefix("gx_").expect("gx_ prefix"),
    );

    let (server, url) = ServerChild::start(run.dir.path());
    let ca = run.path("ca.pem");
    let ca = ca.to_str().expect("utf-8");

    // ---- the test's own secrets, made unmistakable ----
    let key_hex = random_hex_key();
    secrets.add_hex_key("bundle key", &key_hex);
    std::fs::write(run.path("bundle.key"), format!("{key_hex}\n")).unwrap();
    let wrong_hex = random_hex_key();
    secrets.add_hex_key("wrong bundle key", &wrong_hex);
    std::fs::write(run.path("wrong.key"), &wrong_hex).unwrap();
    let passphrase = format!("passphrase-{}", marker());
    secrets.add_text("bundle passphrase", &passphrase);
    let wrong_api_key = format!("gx_wrongApiKey{}", marker());
    secrets.add_text("wrong API key", &wrong_api_key);
    let bundle_key = BundleKey::from_hex(&key_hex).unwrap();
    let api = [("GX_API_KEY", api_key.as_str())];
    let kf = ["--key-file", "bundle.key"];

    // ---- bundle create, inspect, token verify ----
    run.gx(
        &[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            ca,
            "--agent",
            &agent,
            "--user",
            "user_audit",
            "--scope",
            "read:contacts",
            "--out",
            "bundle.gx",
            kf[0],
            kf[1],
            "--json",
        ],
        &api,
        0,
    );
    let bundle = bundle_secrets(
        &mut secrets,
        &run.path("bundle.gx"),
        &bundle_key,
        "first bundle",
    );
    run.gx(&["bundle", "inspect", "bundle.gx", kf[0], kf[1]], &[], 0);
    run.gx(
        &["bundle", "inspect", "bundle.gx", kf[0], kf[1], "--json"],
        &[],
        0,
    );
    std::fs::write(run.path("token.jws"), bundle.grant_token()).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(bundle.jwks_snapshot_json()).unwrap();
    let jwks = serde_json::json!({"keys": snapshot["keys"]});
    std::fs::write(run.path("jwks.json"), jwks.to_string()).unwrap();
    run.gx(
        &[
            "token",
            "verify",
            "--jwks",
            "jwks.json",
            "--token",
            "token.jws",
        ],
        &[],
        0,
    );
    run.gx(
        &[
            "token",
            "verify",
            "--jwks",
            "jwks.json",
            "--token",
            "token.jws",
            "--json",
        ],
        &[],
        0,
    );
    run.gx(
        &[
            "token",
            "verify",
            "--jwks",
            "jwks.json",
            "--token",
            "token.jws",
            "--require-scope",
            "admin:all",
        ],
        &[],
        1,
    );
    // A token whose signature was altered: the error must not echo the token.
    let mut bad = bundle.grant_token().to_owned();
    bad.truncate(bad.len() - 4);
    bad.push_str("AAAA");
    secrets.add_text("altered grant token", &bad);
    std::fs::write(run.path("bad.jws"), &bad).unwrap();
    run.gx(
        &[
            "token",
            "verify",
            "--jwks",
            "jwks.json",
            "--token",
            "bad.jws",
        ],
        &[],
        1,
    );
    run.gx(
        &[
            "token",
            "verify",
            "--jwks",
            "jwks.json",
            "--token",
            "bad.jws",
            "--json",
        ],
        &[],
        1,
    );

    // ---- audit append and verify, sync, status ----
    for (i, json) in [(1, false), (2, true), (3, false)] {
        let meta = format!("{{\"n\":{i}}}");
        let mut args = vec![
            "audit",
            "append",
            "--bundle",
            "bundle.gx",
            kf[0],
            kf[1],
            "--log",
            "audit.jsonl",
            "--action",
            "tool:send_email",
            "--result",
            "success",
            "--metadata",
            &meta,
        ];
        if json {
            args.push("--json");
        }
        run.gx(&args, &[], 0);
    }
    run.gx(
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--bundle",
            "bundle.gx",
            kf[0],
            kf[1],
        ],
        &[],
        0,
    );
    run.gx(
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--bundle",
            "bundle.gx",
            kf[0],
            kf[1],
            "--json",
        ],
        &[],
        0,
    );
    run.gx(
        &[
            "sync",
            "--bundle",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
        ],
        &api,
        0,
    );
    run.gx(
        &[
            "bundle",
            "status",
            "bundle.gx",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
            "--json",
        ],
        &api,
        0,
    );
    run.gx(
        &["bundle", "status", "bundle.gx", kf[0], kf[1], "--offline"],
        &[],
        0,
    );

    // ---- refresh: a new token and a new audit key ----
    run.gx(
        &[
            "bundle",
            "refresh",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
            "--json",
        ],
        &api,
        0,
    );
    bundle_secrets(
        &mut secrets,
        &run.path("bundle.gx"),
        &bundle_key,
        "refreshed bundle",
    );
    run.gx(
        &[
            "audit",
            "append",
            "--bundle",
            "bundle.gx",
            kf[0],
            kf[1],
            "--log",
            "audit.jsonl",
            "--action",
            "tool:send_email",
            "--result",
            "success",
        ],
        &[],
        0,
    );
    run.gx(
        &[
            "sync",
            "--bundle",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
            "--json",
        ],
        &api,
        0,
    );

    // ---- a passphrase bundle key from the environment ----
    let pass = [("GX_BUNDLE_KEY", passphrase.as_str())];
    run.gx(
        &[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            ca,
            "--agent",
            &agent,
            "--user",
            "user_audit",
            "--scope",
            "send:email",
            "--out",
            "pass.gx",
        ],
        &[api[0], pass[0]],
        0,
    );
    let pass_key = BundleKey::from_passphrase(&passphrase).unwrap();
    bundle_secrets(
        &mut secrets,
        &run.path("pass.gx"),
        &pass_key,
        "passphrase bundle",
    );
    run.gx(&["bundle", "inspect", "pass.gx"], &pass, 0);

    // ---- errors: a wrong bundle key, a wrong API key, no API key ----
    let wrong = ["--key-file", "wrong.key"];
    run.gx(
        &["bundle", "inspect", "bundle.gx", wrong[0], wrong[1]],
        &[],
        2,
    );
    run.gx(
        &[
            "bundle",
            "inspect",
            "bundle.gx",
            wrong[0],
            wrong[1],
            "--json",
        ],
        &[],
        2,
    );
    run.gx(
        &[
            "audit",
            "append",
            "--bundle",
            "bundle.gx",
            wrong[0],
            wrong[1],
            "--log",
            "audit.jsonl",
            "--action",
            "a",
            "--result",
            "r",
        ],
        &[],
        2,
    );
    run.gx(
        &[
            "sync",
            "--bundle",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            wrong[0],
            wrong[1],
            "--ca-cert",
            ca,
        ],
        &api,
        2,
    );
    let wrong_pass = format!("wrong-passphrase-{}", marker());
    secrets.add_text("wrong passphrase", &wrong_pass);
    run.gx(
        &["bundle", "inspect", "bundle.gx"],
        &[("GX_BUNDLE_KEY", wrong_pass.as_str())],
        2,
    );
    let bad_api = [("GX_API_KEY", wrong_api_key.as_str())];
    run.gx(
        &[
            "bundle",
            "status",
            "bundle.gx",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
        ],
        &bad_api,
        2,
    );
    run.gx(
        &[
            "sync",
            "--bundle",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
            "--json",
        ],
        &bad_api,
        2,
    );
    run.gx(
        &[
            "bundle",
            "create",
            "--server",
            &url,
            "--ca-cert",
            ca,
            "--agent",
            &agent,
            "--user",
            "u",
            "--scope",
            "read:contacts",
            "--out",
            "x.gx",
            kf[0],
            kf[1],
        ],
        &bad_api,
        2,
    );
    run.gx(
        &[
            "bundle",
            "status",
            "bundle.gx",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
        ],
        &[],
        2,
    );

    // ---- a server refusing its TLS files: a private key and a broken one ----
    std::fs::write(
        run.path("bad-cert.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIBbroken\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(
        run.path("tls.key"),
        bundle.offline_audit_key().private_key.expose_pem(),
    )
    .unwrap();
    let garbage = format!("MC4CAQAwBQYDK2VwBCIEI{}{}", marker(), marker());
    secrets.add_text("broken TLS key body", &garbage);
    std::fs::write(
        run.path("garbage.key"),
        format!("-----BEGIN PRIVATE KEY-----\n{garbage}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    for key in ["tls.key", "garbage.key"] {
        run.gx(
            &[
                "server",
                "run",
                "--db",
                "server.db",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                "bad-cert.pem",
                "--tls-key",
                key,
            ],
            &[],
            2,
        );
    }

    // ---- revocation ----
    run.gx(
        &[
            "bundle",
            "revoke",
            "bundle.gx",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
            "--revoke-grant",
        ],
        &api,
        0,
    );
    run.gx(
        &[
            "bundle",
            "status",
            "bundle.gx",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
        ],
        &api,
        1,
    );
    run.gx(
        &[
            "sync",
            "--bundle",
            "bundle.gx",
            "--log",
            "audit.jsonl",
            kf[0],
            kf[1],
            "--ca-cert",
            ca,
        ],
        &api,
        1,
    );

    let server_log = server.stop();
    server_secrets(&mut secrets, &run.path("server.db"));
    // The server really logged at TRACE/DEBUG: the access log and lower levels are there.
    assert!(server_log.contains("gx_server::access"), "{server_log}");
    assert!(
        server_log.contains("DEBUG") || server_log.contains("TRACE"),
        "{server_log}"
    );
    run.outputs
        .0
        .push(("gx server run (stderr, RUST_LOG=trace)".into(), server_log));

    assert!(secrets.len() > 100, "{} forms", secrets.len());
    let mut bytes = 0;
    for (what, text) in &run.outputs.0 {
        secrets.assert_absent(what, text);
        bytes += text.len();
    }
    eprintln!(
        "secrets audit (cli): {} secret forms, {} outputs, {bytes} bytes",
        secrets.len(),
        run.outputs.0.len()
    );
    assert!(
        run.outputs.0.len() > 60 && bytes > 10_000,
        "{} outputs, {bytes} bytes",
        run.outputs.0.len()
    );
}

#[test]
fn no_secret_in_the_demo_at_trace() {
    let mut run = Run {
        dir: tempfile::tempdir().expect("tempdir"),
        outputs: Outputs::default(),
    };
    run.gx(&["demo", "--keep", "kept"], &[], 0);
    let kept = run.path("kept");
    let key_hex = std::fs::read_to_string(kept.join("bundle.key")).unwrap();
    let mut secrets = Secrets::default();
    secrets.add_hex_key("demo bundle key", &key_hex);
    let key = BundleKey::from_hex(&key_hex).unwrap();
    bundle_secrets(&mut secrets, &kept.join("bundle.gx"), &key, "demo bundle");
    server_secrets(&mut secrets, &kept.join("server.db"));
    for (what, text) in &run.outputs.0 {
        secrets.assert_absent(what, text);
        // The demo's API key is random and only its hash is stored; its shape is known.
        assert!(
            !text
                .split(|c: char| c.is_whitespace() || c == '"')
                .any(|w| w.starts_with("gx_") && w.len() > 30),
            "an API key-like word in {what}: {text}"
        );
    }
}
