//! `gx token verify`: exit 0 valid, 1 invalid, 2 unusable input; the JSON shapes.

use super::util::{Gx, arg, fixture, json_of, keys, run};

const NOW: &str = "1795751706"; // the peer token's iat; it expires at 1796010906

#[test]
fn valid_token_exits_0_with_the_grant() {
    let gx = Gx::new();
    let (jwks, token) = (fixture("peer/jwks.json"), fixture("peer/token.jwt"));
    let v = json_of(
        gx.cmd(&[
            "token",
            "verify",
            "--jwks",
            arg(&jwks),
            "--token",
            arg(&token),
            "--now",
            NOW,
            "--json",
        ]),
        0,
    );
    assert_eq!(keys(&v), ["grant", "valid"]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["grant"]["grantId"], "grnt_1");
    assert_eq!(v["grant"]["agentDID"], "did:grantex:agent_1");
    assert_eq!(
        v["grant"]["scopes"],
        serde_json::json!(["read:contacts", "write:calendar"])
    );
    assert_eq!(v["grant"]["expiresAt"], 1_796_010_906);
    // One line for a person without --json; the token from stdin and a bundle snapshot
    // work too.
    let snap = fixture("peer/jwks_snapshot.json");
    let (out, err) = run(
        gx.cmd(&["token", "verify", "--jwks", arg(&snap), "--now", NOW])
            .write_stdin(std::fs::read(&token).expect("token")),
        0,
    );
    assert_eq!(err, "");
    assert!(
        out.starts_with("valid: grant grnt_1 for ")
            && out.contains("scopes read:contacts, write:calendar; expires 2026-")
            && out.ends_with("(in 3d 0h)\n"),
        "{out}"
    );
}

#[test]
fn invalid_tokens_exit_1_with_the_code() {
    let gx = Gx::new();
    let (jwks, token) = (fixture("peer/jwks.json"), fixture("peer/token.jwt"));
    let base = [
        "token",
        "verify",
        "--jwks",
        arg(&jwks),
        "--token",
        arg(&token),
        "--json",
    ];
    let expired = json_of(gx.cmd(&base).args(["--now", "1796100000"]), 1);
    assert_eq!(keys(&expired), ["error", "valid"]);
    assert_eq!(expired["valid"], false);
    assert_eq!(expired["error"]["code"], "TOKEN_EXPIRED");
    assert!(
        expired["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    let scope = json_of(
        gx.cmd(&base)
            .args(["--now", NOW, "--require-scope", "send:email"]),
        1,
    );
    assert_eq!(scope["error"]["code"], "SCOPE_VIOLATION");

    let issuer = json_of(
        gx.cmd(&base)
            .args(["--now", NOW, "--issuer", "https://evil.example"]),
        1,
    );
    assert_eq!(issuer["error"]["code"], "ISSUER_MISMATCH");

    // A tampered token: text mode prints one `gx:` line with the code and a next step.
    let mut text = std::fs::read_to_string(&token).expect("token");
    text.insert(text.len() / 2, 'A');
    let bad = gx.path("bad.jwt");
    std::fs::write(&bad, text).expect("write");
    let (out, err) = run(
        gx.cmd(&[
            "token",
            "verify",
            "--jwks",
            arg(&jwks),
            "--token",
            arg(&bad),
            "--now",
            NOW,
        ]),
        1,
    );
    assert_eq!(out, "");
    assert!(err.starts_with("gx: invalid["), "{err}");
    assert!(err.contains("next:"), "{err}");
}

#[test]
fn unusable_inputs_exit_2() {
    let gx = Gx::new();
    let token = fixture("peer/token.jwt");
    let (_, err) = run(
        gx.cmd(&[
            "token",
            "verify",
            "--jwks",
            "missing.json",
            "--token",
            arg(&token),
        ]),
        2,
    );
    assert!(err.starts_with("gx: error[FILE_NOT_FOUND]"), "{err}");
    assert!(
        err.contains("missing.json") && err.contains("next: check the path"),
        "{err}"
    );
    let unusable = fixture("tokens/jwks_unusable.json");
    let (_, err) = run(
        gx.cmd(&[
            "token",
            "verify",
            "--jwks",
            arg(&unusable),
            "--token",
            arg(&token),
        ]),
        2,
    );
    assert!(err.contains("NO_USABLE_KEYS"), "{err}");
    // Usage errors: exit 2, prefixed.
    let (_, err) = run(gx.cmd(&["token", "verify"]), 2);
    assert!(err.starts_with("gx: "), "{err}");
    let (_, err) = run(
        gx.cmd(&["token", "verify", "--jwks", "x", "--now", "soon"]),
        2,
    );
    assert!(err.starts_with("gx: "), "{err}");
}
