//! What a person sees without `--json`: the bundle summary, the one-line status, the sync
//! line, progress on a terminal's stderr (never on stdout), completions and the man page;
//! and that `--json` keeps the documents other tools rely on.

use super::online::{Online, run_with_tty_stderr};
use super::util::{json_of, keys, run};

/// The value of a `label   value` row of the bundle summary.
fn row<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{label:<10} ")))
        .unwrap_or_else(|| panic!("no {label:?} row in\n{text}"))
}

#[test]
fn inspect_status_and_sync_speak_to_a_person() {
    let online = Online::start();
    online.create_bundle("b.gx");
    let ca = online.ca();

    let (text, err) = run(online.cmd(&["bundle", "inspect", "b.gx"]), 0);
    assert_eq!(err, "");
    let doc = json_of(online.cmd(&["bundle", "inspect", "b.gx", "--json"]), 0);
    // The JSON document keeps its fields.
    assert_eq!(
        keys(&doc),
        [
            "auditAlgorithm",
            "auditKeyHistory",
            "auditPublicKey",
            "bundleId",
            "checkpointAt",
            "claims",
            "expired",
            "jwks",
            "offlineExpiresAt",
            "shouldRefresh",
            "syncEndpoint"
        ]
    );
    assert_eq!(row(&text, "bundle"), doc["bundleId"].as_str().unwrap());
    assert_eq!(row(&text, "agent"), doc["claims"]["agt"].as_str().unwrap());
    assert_eq!(row(&text, "user"), "user_1");
    assert_eq!(row(&text, "scopes"), "read:contacts");
    assert!(
        row(&text, "issued").ends_with(" ago)") || row(&text, "issued").ends_with("(just now)"),
        "{text}"
    );
    let expires = row(&text, "expires");
    let iso = doc["offlineExpiresAt"]
        .as_str()
        .unwrap()
        .replace(".000Z", "Z");
    assert!(
        expires.starts_with(&format!("{iso} (expires in 59m "))
            || expires.starts_with(&format!("{iso} (expires in 1h 0m")),
        "{expires}"
    );
    let kid = doc["jwks"]["kids"][0].as_str().unwrap();
    assert!(
        row(&text, "jwks").starts_with(&format!("key ids {kid}; valid until 20")),
        "{text}"
    );
    assert!(
        row(&text, "revoked").starts_with("no, as far as this device knows"),
        "{text}"
    );
    assert!(
        row(&text, "refresh").starts_with("not due yet (due 20"),
        "{text}"
    );
    assert!(
        !text.contains("PRIVATE") && !text.contains("BEGIN"),
        "{text}"
    );

    // Status: one line, with the entries not synced yet when given the log.
    online.append("b.gx", "a.jsonl", 3);
    let (line, _) = run(
        online.cmd(&[
            "bundle",
            "status",
            "b.gx",
            "--ca-cert",
            &ca,
            "--log",
            "a.jsonl",
        ]),
        0,
    );
    assert!(line.starts_with("usable, expires in "), "{line}");
    assert!(
        line.ends_with(", not revoked, 3 entries not synced\n"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
    let st = json_of(
        online.cmd(&["bundle", "status", "b.gx", "--offline", "--json"]),
        0,
    );
    assert_eq!(
        keys(&st),
        [
            "bundleId",
            "expired",
            "offlineExpiresAt",
            "refreshPending",
            "revoked",
            "server",
            "shouldRefresh",
            "usable"
        ]
    );

    // Sync: one line in words.
    let (line, _) = run(
        online.cmd(&[
            "sync",
            "--bundle",
            "b.gx",
            "--log",
            "a.jsonl",
            "--ca-cert",
            &ca,
        ]),
        0,
    );
    assert_eq!(
        line,
        "synced 3 entries in 1 batch (0 retries); cursor 3; grant valid\n"
    );
    let (line, _) = run(
        online.cmd(&["bundle", "status", "b.gx", "--offline", "--log", "a.jsonl"]),
        0,
    );
    assert!(
        line.ends_with(", not revoked as far as this device knows, every entry synced\n"),
        "{line}"
    );

    // After a revocation the summary and the status say so.
    let (line, _) = run(
        online.cmd(&["bundle", "revoke", "b.gx", "--ca-cert", &ca]),
        0,
    );
    assert!(line.starts_with("revoked bundle_"), "{line}");
    let (text, _) = run(online.cmd(&["bundle", "inspect", "b.gx"]), 0);
    assert!(row(&text, "revoked").starts_with("yes"), "{text}");
    let (line, err) = run(online.cmd(&["bundle", "status", "b.gx", "--offline"]), 1);
    assert!(line.starts_with("not usable, expires in "), "{line}");
    assert!(line.contains(", revoked"), "{line}");
    assert!(err.starts_with("gx: invalid[BUNDLE_REVOKED]"), "{err}");
}

#[test]
fn progress_goes_to_the_terminal_never_to_stdout() {
    let online = Online::start();
    online.create_bundle("b.gx");
    online.append("b.gx", "a.jsonl", 5);
    let ca = online.ca();

    // audit verify: a bar over the log's bytes on the terminal, one line on stdout.
    let tty = run_with_tty_stderr(online.cmd(&["audit", "verify", "a.jsonl", "--bundle", "b.gx"]));
    assert_eq!(tty.code, Some(0), "{}", tty.terminal);
    assert_eq!(
        tty.stdout,
        "a.jsonl: 5 entries, hash chain and signatures intact (wire format)\n"
    );
    assert!(
        tty.terminal.contains("verifying ["),
        "no bar on the terminal: {:?}",
        tty.terminal
    );
    assert!(
        tty.terminal.contains('B'),
        "the bar counts bytes: {:?}",
        tty.terminal
    );

    // --quiet, or stderr not a terminal: nothing but the result.
    let tty = run_with_tty_stderr(
        online.cmd(&["audit", "verify", "a.jsonl", "--bundle", "b.gx", "--quiet"]),
    );
    assert_eq!(tty.code, Some(0));
    assert_eq!(tty.terminal, "", "--quiet draws nothing");
    let (out, err) = run(
        online.cmd(&["audit", "verify", "a.jsonl", "--bundle", "b.gx"]),
        0,
    );
    assert_eq!(err, "", "not a terminal: no progress");
    assert_eq!(
        out,
        "a.jsonl: 5 entries, hash chain and signatures intact (wire format)\n"
    );

    // sync: entries sent / total on the terminal.
    let tty = run_with_tty_stderr(online.cmd(&[
        "sync",
        "--bundle",
        "b.gx",
        "--log",
        "a.jsonl",
        "--ca-cert",
        &ca,
        "--batch",
        "2",
    ]));
    assert_eq!(tty.code, Some(0), "{}", tty.terminal);
    assert_eq!(
        tty.stdout,
        "synced 5 entries in 3 batches (0 retries); cursor 5; grant valid\n"
    );
    assert!(tty.terminal.contains("syncing"), "{:?}", tty.terminal);
    assert!(tty.terminal.contains("/5 entries"), "{:?}", tty.terminal);
    assert!(
        tty.terminal.contains("syncing (batch "),
        "{:?}",
        tty.terminal
    );
    assert!(
        tty.terminal.contains(" of 3) ["),
        "which batch of how many: {:?}",
        tty.terminal
    );

    // bundle refresh: its steps.
    online.append("b.gx", "a.jsonl", 2);
    let tty = run_with_tty_stderr(online.cmd(&[
        "bundle",
        "refresh",
        "b.gx",
        "--log",
        "a.jsonl",
        "--ca-cert",
        &ca,
    ]));
    assert_eq!(tty.code, Some(0), "{}", tty.terminal);
    assert!(
        tty.stdout.starts_with("refreshed bundle_"),
        "{}",
        tty.stdout
    );
    assert_eq!(tty.stdout.lines().count(), 1, "{}", tty.stdout);
    assert!(
        tty.terminal.contains("[1/2] syncing 2 entries"),
        "{:?}",
        tty.terminal
    );
    assert!(
        tty.terminal
            .contains("[2/2] asking the server for a fresh bundle"),
        "{:?}",
        tty.terminal
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_flags() {
    let gx = super::util::Gx::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef gx"),
        ("fish", "complete -c gx"),
    ] {
        let (out, _) = run(gx.cmd(&["completions", shell]), 0);
        assert!(out.contains(marker), "{shell}: {out:.200}");
        assert!(out.contains("refresh"), "{shell} completes subcommands");
    }
    let (out, _) = run(gx.cmd(&["completions", "tcsh"]), 2);
    assert_eq!(out, "");
    let (man, _) = run(gx.cmd(&["man"]), 0);
    assert!(man.starts_with(".ie \\n(.g .ds Aq"), "{man:.200}");
    assert!(man.contains(".TH gx 1"), "{man:.300}");
    assert!(man.contains("Exit codes"), "the after-help is in the page");
    let (out, _) = run(gx.cmd(&["man", "--dir", "man1"]), 0);
    assert_eq!(out, "");
    for page in ["gx.1", "gx-bundle.1", "gx-bundle-create.1", "gx-sync.1"] {
        let text = std::fs::read_to_string(gx.path("man1").join(page)).expect(page);
        assert!(text.contains(".TH "), "{page}");
    }
    let create = std::fs::read_to_string(gx.path("man1/gx-bundle-create.1")).expect("page");
    assert!(create.contains("\\-\\-ttl"), "the flags are in the page");
}
