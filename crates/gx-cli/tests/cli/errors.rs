//! Errors that name what happened and what to do next, per cause: an unreachable server, an
//! untrusted certificate, the server's refusals by status, missing local files; the same
//! errors as JSON on stdout with `--json`, with the same exit codes.

use serde_json::Value;

use super::online::{BUNDLE_KEY, Online, free_port, run_with_tty_stderr};
use super::util::{Gx, arg, fixture, json_of, run};

/// `gx bundle create` against `url` with the given extra flags.
fn create_args<'a>(
    url: &'a str,
    agent: &'a str,
    scope: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "bundle", "create", "--server", url, "--agent", agent, "--user", "user_1", "--scope",
        scope, "--out", "b.gx",
    ];
    args.extend_from_slice(extra);
    args
}

/// Checks the text error and its `--json` twin: same code, same exit code, hint in `next`.
fn assert_error(text: (String, String), json: &Value, code: &str, message: &str, next: &str) {
    let (out, err) = text;
    assert_eq!(out, "", "errors never go to stdout in text mode");
    assert!(err.starts_with(&format!("gx: error[{code}]: ")), "{err}");
    assert!(err.contains(message), "want {message:?} in {err}");
    assert!(
        err.contains(&format!("  next: {next}")),
        "want next step {next:?} in {err}"
    );
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(message)),
        "{json}"
    );
    assert!(
        json["error"]["next"]
            .as_str()
            .is_some_and(|n| n.starts_with(next)),
        "{json}"
    );
}

#[test]
fn a_refused_connection_names_the_url_and_gives_up_after_three_attempts() {
    let gx = Gx::new();
    let url = format!("https://127.0.0.1:{}", free_port());
    let args = create_args(&url, "ag_1", "read:contacts", &[]);
    let with_keys = |args: &[&str]| {
        let mut c = gx.cmd(args);
        c.env("GX_API_KEY", "gx_test_0123456789abcdef")
            .env("GX_BUNDLE_KEY", BUNDLE_KEY);
        c
    };
    let text = run(with_keys(&args), 2);
    let mut json_args = args.clone();
    json_args.push("--json");
    let out = with_keys(&json_args).output().expect("run gx");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "--json: nothing on stderr"
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON error");
    assert_error(
        text,
        &json,
        "CONNECTION_REFUSED",
        &format!(
            "cannot reach {url}: connection refused (nothing listens at that address); gave up after 3 attempts"
        ),
        "check that the server is running",
    );
    assert_eq!(super::util::keys(&json), ["error"]);
    assert_eq!(
        super::util::keys(&json["error"]),
        ["code", "message", "next"]
    );

    // On a terminal, each retry says so on stderr, one line per attempt; stdout stays empty.
    let tty = run_with_tty_stderr(with_keys(&args));
    assert_eq!(tty.code, Some(2));
    assert_eq!(tty.stdout, "");
    let retries: Vec<&str> = tty
        .terminal
        .lines()
        .filter(|l| l.contains("retrying in"))
        .collect();
    assert_eq!(
        retries.len(),
        2,
        "two retries after the first attempt:\n{}",
        tty.terminal
    );
    assert!(
        retries[0].starts_with(&format!("gx: {url}: connection refused")),
        "{}",
        retries[0]
    );
    assert!(retries[0].ends_with("(attempt 2 of 3)"), "{}", retries[0]);
    assert!(retries[1].ends_with("(attempt 3 of 3)"), "{}", retries[1]);
    // --quiet keeps the terminal to the error alone.
    let mut quiet_args = args.clone();
    quiet_args.push("--quiet");
    let tty = run_with_tty_stderr(with_keys(&quiet_args));
    assert_eq!(tty.code, Some(2));
    assert!(!tty.terminal.contains("retrying"), "{}", tty.terminal);
    assert!(
        tty.terminal.contains("error[CONNECTION_REFUSED]"),
        "{}",
        tty.terminal
    );
}

#[test]
fn server_errors_point_at_what_to_fix() {
    let online = Online::start();
    let url = online.url.clone();
    let ca = online.ca();
    let both = |args: Vec<&str>, env: Option<(&str, &str)>| {
        let mut text = online.cmd(&args);
        let mut json_args = args.clone();
        json_args.push("--json");
        let mut json = online.cmd(&json_args);
        if let Some((k, v)) = env {
            text.env(k, v);
            json.env(k, v);
        }
        (run(text, 2), json_of(json, 2))
    };

    // No --ca-cert: the self-signed CA is not trusted.
    let (text, json) = both(create_args(&url, &online.agent, "read:contacts", &[]), None);
    assert_error(
        text,
        &json,
        "TLS_UNKNOWN_ISSUER",
        &format!("TLS with {url} failed: the server's certificate is not signed by a trusted CA"),
        "pass the server's CA with --ca-cert PEM",
    );

    // A wrong API key: 401.
    let (text, json) = both(
        create_args(&url, &online.agent, "read:contacts", &["--ca-cert", &ca]),
        Some(("GX_API_KEY", "gx_wrong_0123456789abcdef")),
    );
    assert_error(
        text,
        &json,
        "UNAUTHORIZED",
        &format!(
            "{url} refused the bundle request: the API key was not accepted (HTTP 401 UNAUTHORIZED"
        ),
        "check GX_API_KEY",
    );

    // An agent the server does not know: 404.
    let (text, json) = both(
        create_args(
            &url,
            "ag_01NOSUCHAGENT",
            "read:contacts",
            &["--ca-cert", &ca],
        ),
        None,
    );
    assert_error(
        text,
        &json,
        "NOT_FOUND",
        "refused the bundle request: no agent ag_01NOSUCHAGENT there (HTTP 404",
        "check --agent",
    );

    // A scope the agent is not registered for: 422.
    let (text, json) = both(
        create_args(
            &url,
            &online.agent,
            "delete:everything",
            &["--ca-cert", &ca],
        ),
        None,
    );
    assert_error(
        text,
        &json,
        "INVALID_SCOPES",
        "a scope is not registered for the agent (HTTP 422 INVALID_SCOPES",
        "ask only for scopes the agent is registered for (--scope)",
    );

    // A TTL over the limit: 422 too, pointing at --ttl.
    let (text, json) = both(
        create_args(
            &url,
            &online.agent,
            "read:contacts",
            &["--ca-cert", &ca, "--ttl", "500h"],
        ),
        None,
    );
    assert_error(
        text,
        &json,
        "INVALID_TTL",
        "(HTTP 422 INVALID_TTL",
        "pass --ttl",
    );

    // A bundle this server never issued (another server's file): 404 names the bundle.
    // A copy: opening a bundle writes its time floor beside it.
    let other = online.gx.copy_fixture("peer/py_bundle.enc");
    let key = fixture("peer/bundle_key.hex");
    let (text, json) = both(
        vec![
            "bundle",
            "status",
            arg(&other),
            "--key-file",
            arg(&key),
            "--server",
            &url,
            "--ca-cert",
            &ca,
        ],
        None,
    );
    assert_error(
        text,
        &json,
        "NOT_FOUND",
        "refused the revocation status request: no bundle",
        "check that the bundle was issued by this server",
    );
}

#[test]
fn local_file_errors_name_the_file() {
    let gx = Gx::new();
    let key = fixture("peer/bundle_key.hex");
    let both = |args: &[&str]| {
        let mut json_args = args.to_vec();
        json_args.push("--json");
        (run(gx.cmd(args), 2), json_of(gx.cmd(&json_args), 2))
    };
    let (text, json) = both(&["bundle", "inspect", "nope.gx", "--key-file", arg(&key)]);
    assert_error(
        text,
        &json,
        "BUNDLE_NOT_FOUND",
        "cannot open bundle nope.gx: no consent bundle file at nope.gx",
        "check the path, or create a bundle with `gx bundle create",
    );
    let (text, json) = both(&["bundle", "inspect", "b.gx", "--key-file", "no-such.key"]);
    assert_error(
        text,
        &json,
        "FILE_NOT_FOUND",
        "reading the key file no-such.key",
        "check the path",
    );
    let public = fixture("peer/audit_ed25519_public.pem");
    let (text, json) = both(&[
        "audit",
        "verify",
        "missing.jsonl",
        "--public-key",
        arg(&public),
    ]);
    assert_error(
        text,
        &json,
        "LOG_NOT_FOUND",
        "no log at missing.jsonl",
        "check the path",
    );
    // No key at all: exit 2 as JSON too.
    let bundle = gx.copy_fixture("peer/py_bundle.enc");
    let (text, json) = both(&["bundle", "inspect", arg(&bundle)]);
    assert_error(
        text,
        &json,
        "NO_BUNDLE_KEY",
        "no bundle key given",
        "pass --key-file FILE",
    );
}

#[test]
fn usage_errors_are_json_when_json_was_asked_for() {
    let gx = Gx::new();
    // A missing argument: clap's text on stderr without --json ...
    let (out, err) = run(gx.cmd(&["bundle", "inspect"]), 2);
    assert_eq!(out, "");
    assert!(err.starts_with("gx: error: "), "{err}");
    // ... and one JSON error on stdout with it, same exit code.
    let out = gx
        .cmd(&["bundle", "inspect", "--json"])
        .output()
        .expect("run gx");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["error"]["code"], "USAGE");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("<FILE>")),
        "{v}"
    );
    assert!(
        v["error"]["next"]
            .as_str()
            .is_some_and(|n| n.contains("--help")),
        "{v}"
    );
    let v = json_of(
        gx.cmd(&[
            "sync", "--bundle", "b.gx", "--log", "a", "--batch", "0", "--json",
        ]),
        2,
    );
    assert_eq!(v["error"]["code"], "USAGE");
    // Help is not an error: stdout, exit 0, also with --json.
    let (out, _) = run(gx.cmd(&["bundle", "inspect", "--help", "--json"]), 0);
    assert!(out.contains("Usage: gx bundle inspect"), "{out}");
}

/// A `gx server run --plain-http` child, killed when dropped.
struct PlainServer(std::process::Child);

impl Drop for PlainServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_to_a_plain_http_port_says_it_is_not_tls() {
    use std::io::{BufRead, BufReader};
    let gx = Gx::new();
    run(gx.cmd(&["server", "init", "--db", "plain.db"]), 0);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gx"))
        .current_dir(gx.path(""))
        .args([
            "server",
            "run",
            "--db",
            "plain.db",
            "--listen",
            "127.0.0.1:0",
            "--plain-http",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn gx server run");
    let stdout = child.stdout.take().expect("stdout");
    let _server = PlainServer(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first.trim().replacen("http://", "https://", 1);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let args = create_args(&url, "ag_1", "read:contacts", &[]);
    let with_keys = |args: &[&str]| {
        let mut c = gx.cmd(args);
        c.env("GX_API_KEY", "gx_test_0123456789abcdef")
            .env("GX_BUNDLE_KEY", BUNDLE_KEY);
        c
    };
    let text = run(with_keys(&args), 2);
    let mut json_args = args.clone();
    json_args.push("--json");
    let json = json_of(with_keys(&json_args), 2);
    assert_error(
        text,
        &json,
        "TLS_HANDSHAKE",
        &format!(
            "TLS with {url} failed: the TLS handshake failed (is the server speaking plain HTTP"
        ),
        "check the URL's scheme and port",
    );
}
