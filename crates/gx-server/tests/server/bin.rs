//! The `gx-server` binary: init (text and JSON, refusal to overwrite), run (first line is
//! the URL), plain HTTP refused off loopback, and a graceful exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gx-server");

#[test]
fn init_prints_the_tenant_once_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    let out = Command::new(BIN)
        .args([
            "init",
            "--db",
            db.to_str().unwrap(),
            "--scope",
            "read:contacts",
            "--agent-did",
            "did:example:a",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["developerId"].as_str().unwrap().starts_with("dev_"));
    assert!(v["agentId"].as_str().unwrap().starts_with("ag_"));
    assert_eq!(v["agentDid"], "did:example:a");
    assert!(v["apiKey"].as_str().unwrap().starts_with("gx_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = Command::new(BIN)
        .args(["init", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));
    let forced = Command::new(BIN)
        .args(["init", "--db", db.to_str().unwrap(), "--force"])
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert!(String::from_utf8_lossy(&forced.stdout).contains("api key:"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["run"][..],
        &["frobnicate", "--db", "x"],
        &["run", "--db", "x", "--plain-http", "--listen", "0.0.0.0:0"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("gx-server: "),
            "{args:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn run_prints_the_url_first_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    assert!(
        Command::new(BIN)
            .args(["init", "--db", db.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .success()
    );
    let ca = dir.path().join("ca.pem");
    let mut child = run_self_signed(&db, &ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    let r = rt.block_on(async {
        crate::client::Client::new(([127, 0, 0, 1], port).into(), &ca_pem, None)
            .get("/healthz")
            .await
    });
    assert_eq!(r.status, hyper::StatusCode::OK);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(
        logs.contains("route=/healthz") && logs.contains("status=200"),
        "{logs}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
}

/// `gx-server run --db DB --listen 127.0.0.1:0 --self-signed CA`.
#[cfg(unix)]
fn run_self_signed(db: &std::path::Path, ca: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("run").arg("--db").arg(db);
    cmd.args(["--listen", "127.0.0.1:0", "--self-signed"])
        .arg(ca);
    cmd
}

/// Starts `gx-server run --self-signed ca` on a free loopback port; the child and its port.
#[cfg(unix)]
fn start_self_signed(db: &std::path::Path, ca: &std::path::Path) -> (std::process::Child, u16) {
    let mut child = run_self_signed(db, ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first.trim().rsplit(':').next().unwrap().parse().unwrap();
    (child, port)
}

#[cfg(unix)]
#[test]
fn a_restart_keeps_the_development_ca_that_clients_trust() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    let init = Command::new(BIN)
        .args(["init", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(init.status.success());
    let ca = dir.path().join("ca.pem");
    let key = dir.path().join("ca.pem.key");
    let rt = tokio::runtime::Runtime::new().unwrap();

    let (mut first, _) = start_self_signed(&db, &ca);
    let trusted = std::fs::read_to_string(&ca).unwrap();
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the CA key is private");
    let key_pem = std::fs::read_to_string(&key).unwrap();
    assert!(key_pem.contains("PRIVATE KEY"));
    first.kill().unwrap();
    first.wait().unwrap();

    // A device kept the first ca.pem; the restarted server must still be trusted by it.
    for _ in 0..2 {
        let (mut again, port) = start_self_signed(&db, &ca);
        let r = rt.block_on(async {
            crate::client::Client::new(([127, 0, 0, 1], port).into(), &trusted, None)
                .get("/healthz")
                .await
        });
        assert_eq!(r.status, hyper::StatusCode::OK);
        assert_eq!(std::fs::read_to_string(&key).unwrap(), key_pem);
        again.kill().unwrap();
        again.wait().unwrap();
    }

    // A key file that is not a key is refused, named, and left as it is.
    std::fs::write(&key, "not a key").unwrap();
    let out = run_self_signed(&db, &ca).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ca.pem.key") && err.contains("not a PEM private key"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "not a key");
}
