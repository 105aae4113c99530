//! `gx bundle inspect` on the published clients' files; key handling and its errors.

use super::util::{Gx, arg, fixture, json_of, run};

#[test]
fn inspect_shows_everything_but_the_private_key() {
    let gx = Gx::new();
    let key = fixture("peer/bundle_key.hex");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("peer/bundle.json")).expect("bundle"))
            .expect("json");
    let file = gx.copy_fixture("peer/py_bundle.enc");
    let v = json_of(
        gx.cmd(&[
            "bundle",
            "inspect",
            arg(&file),
            "--key-file",
            arg(&key),
            "--json",
        ]),
        0,
    );
    assert_eq!(v["bundleId"], expected["bundleId"]);
    assert_eq!(v["syncEndpoint"], expected["syncEndpoint"]);
    assert_eq!(v["claims"]["grnt"], "grnt_1");
    assert!(
        v["auditPublicKey"]
            .as_str()
            .is_some_and(|k| k.contains("PUBLIC KEY"))
    );
    // The key from the environment works the same; the text form never shows the secret.
    let hex = std::fs::read_to_string(&key).expect("key");
    let (out, _) = run(
        gx.cmd(&["bundle", "inspect", arg(&file)])
            .env("GX_BUNDLE_KEY", hex.trim()),
        0,
    );
    assert!(!out.contains("PRIVATE"), "{out}");
    assert!(!v.to_string().contains("PRIVATE"));
}

#[test]
fn missing_or_wrong_keys_exit_2_with_a_next_step() {
    let gx = Gx::new();
    let file = gx.copy_fixture("peer/py_bundle.enc");
    let (_, err) = run(gx.cmd(&["bundle", "inspect", arg(&file)]), 2);
    assert!(err.starts_with("gx: error[NO_BUNDLE_KEY]"), "{err}");
    assert!(err.contains("next: pass --key-file"), "{err}");
    let wrong = "11".repeat(32);
    let (_, err) = run(
        gx.cmd(&["bundle", "inspect", arg(&file)])
            .env("GX_BUNDLE_KEY", &wrong),
        2,
    );
    assert!(err.starts_with("gx: error["), "{err}");
    assert!(!err.contains(&wrong), "the key must never be echoed: {err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("gx:")).count(),
        1,
        "printed once: {err}"
    );
}
