//! `gx server key create|list|revoke` and `gx server signing-key rotate` through the real
//! binary, against a running `gx server run`: roles hold, the secret is printed once and
//! never listed, a revocation holds from the next request without a restart, and `run`
//! takes the limit flags of `gx-server run`.

use super::server::start_server;
use super::util::{Gx, arg, json_of, keys, run};

/// `gx bundle create` against the running server with `api_key`; (exit code, stderr).
fn create_bundle(gx: &Gx, url: &str, agent: &str, api_key: &str, out: &str) -> (i32, String) {
    let o = gx
        .cmd(&[
            "bundle",
            "create",
            "--server",
            url,
            "--ca-cert",
            arg(&gx.path("ca.pem")),
            "--agent",
            agent,
            "--user",
            "user_1",
            "--scope",
            "read:contacts",
            "--out",
            out,
        ])
        .env("GX_API_KEY", api_key)
        .env("GX_BUNDLE_KEY", "ab".repeat(32))
        .output()
        .expect("run gx bundle create");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn keys_are_created_once_listed_without_secrets_and_revoked_at_once() {
    let gx = Gx::new();
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
    let agent = tenant["agentId"].as_str().unwrap().to_owned();
    let sync = json_of(
        gx.cmd(&[
            "server",
            "key",
            "create",
            "--db",
            "server.db",
            "--role",
            "sync",
            "--label",
            "fleet",
            "--expires-in",
            "30d",
            "--json",
        ]),
        0,
    );
    assert_eq!(keys(&sync), ["apiKey", "keyId", "role"]);
    assert_eq!(sync["role"], "sync");
    let admin = json_of(
        gx.cmd(&[
            "server",
            "key",
            "create",
            "--db",
            "server.db",
            "--role",
            "admin",
            "--json",
        ]),
        0,
    );
    let secrets = [
        tenant["apiKey"].as_str().unwrap(),
        sync["apiKey"].as_str().unwrap(),
        admin["apiKey"].as_str().unwrap(),
    ];

    let (listed, _) = run(
        gx.cmd(&["server", "key", "list", "--db", "server.db", "--json"]),
        0,
    );
    let (text, _) = run(gx.cmd(&["server", "key", "list", "--db", "server.db"]), 0);
    for secret in secrets {
        assert!(
            !listed.contains(secret) && !text.contains(secret),
            "a secret was listed"
        );
    }
    let rows: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let fleet = rows.iter().find(|r| r["keyId"] == sync["keyId"]).unwrap();
    assert_eq!(
        (fleet["role"].as_str(), fleet["label"].as_str()),
        (Some("sync"), Some("fleet"))
    );
    assert!(fleet["expiresAt"].is_string() && fleet["revokedAt"].is_null());
    assert!(text.contains(sync["keyId"].as_str().unwrap()) && text.contains("fleet"));

    let (_server, url) = start_server(&gx);
    // A sync key cannot issue bundles; an admin key can.
    let (code, err) = create_bundle(&gx, &url, &agent, secrets[1], "s.gx");
    assert_eq!(code, 2);
    assert!(err.starts_with("gx: error[FORBIDDEN]"), "{err}");
    assert_eq!(create_bundle(&gx, &url, &agent, secrets[2], "a.gx").0, 0);

    // Revoked while the server runs: refused from the next request.
    let admin_id = admin["keyId"].as_str().unwrap();
    let (said, _) = run(
        gx.cmd(&["server", "key", "revoke", "--db", "server.db", admin_id]),
        0,
    );
    assert!(
        said.starts_with(&format!("revoked {admin_id} at ")),
        "{said}"
    );
    let (code, err) = create_bundle(&gx, &url, &agent, secrets[2], "b.gx");
    assert_eq!(code, 2);
    assert!(err.starts_with("gx: error[UNAUTHORIZED]"), "{err}");
    assert_eq!(create_bundle(&gx, &url, &agent, secrets[0], "c.gx").0, 0);
    let (listed, _) = run(
        gx.cmd(&["server", "key", "list", "--db", "server.db", "--json"]),
        0,
    );
    assert!(listed.contains("\"revokedAt\":\"20"), "{listed}");

    let (_, err) = run(
        gx.cmd(&["server", "key", "revoke", "--db", "server.db", "key_nope"]),
        2,
    );
    assert!(err.starts_with("gx: error[UNKNOWN_API_KEY]"), "{err}");
    let (_, err) = run(
        gx.cmd(&[
            "server",
            "key",
            "create",
            "--db",
            "server.db",
            "--role",
            "root",
        ]),
        2,
    );
    assert!(err.contains("root"), "{err}");
    let (_, err) = run(
        gx.cmd(&[
            "server",
            "key",
            "create",
            "--db",
            "server.db",
            "--role",
            "sync",
            "--expires-in",
            "soon",
        ]),
        2,
    );
    assert!(err.starts_with("gx: error[INVALID_CONFIG]"), "{err}");
}

#[test]
fn signing_key_rotate_and_run_flags() {
    let gx = Gx::new();
    run(gx.cmd(&["server", "init", "--db", "server.db"]), 0);
    let (out, _) = run(
        gx.cmd(&["server", "signing-key", "rotate", "--db", "server.db"]),
        0,
    );
    assert!(
        out.starts_with("signing key: grantex-") && out.trim_end().ends_with("-2"),
        "{out}"
    );
    // The limit flags of `gx-server run` parse here too; an uninitialised database is refused
    // and not created.
    let (_, err) = run(
        gx.cmd(&[
            "server",
            "run",
            "--db",
            "missing.db",
            "--max-connections",
            "5",
            "--max-connections-per-ip",
            "2",
            "--handshake-timeout",
            "3",
            "--header-timeout",
            "3",
            "--body-timeout",
            "3",
            "--idle-timeout",
            "3",
            "--max-body-memory-mib",
            "8",
            "--storage-quota-mib",
            "16",
            "--log-format",
            "json",
        ]),
        2,
    );
    assert!(err.starts_with("gx: error[NOT_INITIALISED]"), "{err}");
    assert!(!gx.path("missing.db").exists());
    let (_, err) = run(
        gx.cmd(&["server", "signing-key", "rotate", "--db", "missing.db"]),
        2,
    );
    assert!(err.starts_with("gx: error[NOT_INITIALISED]"), "{err}");
}
