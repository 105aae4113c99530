//! The bundle JSON: the `data` fallback, field-naming errors, expiry and refresh, and
//! secrets kept out of `Debug` and errors.

use gx_core::UnixTime;
use gx_storage::{BundleJsonError, BundleKey, ConsentBundle};
use serde_json::{Value, json};

use super::util::{bundle, bundle_json, key_text};

fn fixture_value() -> Value {
    serde_json::from_slice(&bundle_json()).unwrap()
}

/// A change made to the fixture JSON.
type Change = Box<dyn Fn(&mut Value)>;

fn from_value(v: Value) -> Result<ConsentBundle, BundleJsonError> {
    ConsentBundle::from_value(v)
}

#[test]
fn fields_are_read_at_the_top_level_falling_back_to_data() {
    // Only under `data`.
    let wrapped = json!({ "data": fixture_value() });
    assert_eq!(from_value(wrapped).unwrap(), bundle());
    // Both, as the server sends it: the top level wins.
    let mut both = fixture_value();
    let mut data = fixture_value();
    data["bundleId"] = "bnd_from_data".into();
    both["data"] = data;
    assert_eq!(from_value(both).unwrap().bundle_id(), "bnd_1");
    // Split: whatever is missing on top comes from `data`.
    let mut split = fixture_value();
    let moved = split.as_object_mut().unwrap().remove("grantToken").unwrap();
    split["data"] = json!({ "grantToken": moved });
    assert_eq!(from_value(split).unwrap(), bundle());
    // serde's Deserialize goes the same way.
    let via_serde: ConsentBundle =
        serde_json::from_value(json!({ "data": fixture_value() })).unwrap();
    assert_eq!(via_serde, bundle());
}

#[test]
fn errors_name_the_field_and_never_echo_values() {
    let cases: [(&str, Change, &str); 6] = [
        (
            "bundleId",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("bundleId"))),
            "missing",
        ),
        (
            "checkpointAt",
            Box::new(|v| v["checkpointAt"] = "soon".into()),
            "not a valid instant",
        ),
        (
            "offlineExpiresAt",
            Box::new(|v| v["offlineExpiresAt"] = 5.into()),
            "must be",
        ),
        (
            "offlineAuditKey.privateKey",
            Box::new(|v| {
                drop(
                    v["offlineAuditKey"]
                        .as_object_mut()
                        .unwrap()
                        .remove("privateKey"),
                )
            }),
            "missing",
        ),
        (
            "jwksSnapshot.keys",
            Box::new(|v| v["jwksSnapshot"]["keys"] = json!([1])),
            "array of objects",
        ),
        (
            "jwksSnapshot.validUntil",
            Box::new(|v| v["jwksSnapshot"]["validUntil"] = "2026-02-30T00:00:00Z".into()),
            "instant",
        ),
    ];
    for (field, change, says) in cases {
        let mut v = fixture_value();
        change(&mut v);
        let e = from_value(v).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
        let text = e.to_string();
        assert!(text.contains(field) && text.contains(says), "{text}");
    }
    // A wrongly typed private key is named, and its value is not shown.
    let mut v = fixture_value();
    v["offlineAuditKey"]["privateKey"] = json!(["MC4CAQAwBQYDK2VwBCIEIC1sNuZlmxOqp4Wwe6Z"]);
    let e = from_value(v).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("MC4CAQ"));
    // Syntax errors give a position, not the text around it.
    let e = ConsentBundle::from_json(b"{\"privateKey\": \"MC4CAQ\" oops}").unwrap_err();
    assert!(
        matches!(e, BundleJsonError::Syntax { line: 1, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("MC4CAQ"));
    assert_eq!(
        ConsentBundle::from_json(b"[1]").unwrap_err(),
        BundleJsonError::NotAnObject
    );
}

#[test]
fn checkpoint_accepts_the_number_forms_javascript_writes() {
    for form in [
        json!(1795751706000u64),
        json!(1.795751706e12),
        json!("2026-11-27T03:55:06.000Z"),
    ] {
        let mut v = fixture_value();
        v["checkpointAt"] = form.clone();
        let b = from_value(v).unwrap();
        assert_eq!(
            b.checkpoint_at(),
            UnixTime::from_millis(1_795_751_706_000),
            "{form}"
        );
    }
    for bad in [json!(-1), json!(1.5)] {
        let mut v = fixture_value();
        v["checkpointAt"] = bad;
        assert_eq!(from_value(v).unwrap_err().field(), Some("checkpointAt"));
    }
}

#[test]
fn expiry_and_refresh_follow_the_offline_window() {
    let b = bundle();
    // checkpointAt 2026-11-27T03:55:06Z, offlineExpiresAt 2026-11-30T03:55:06Z: 72 h.
    let start = UnixTime::from_millis(1_795_751_706_000);
    let end = UnixTime::parse_iso("2026-11-30T03:55:06.000Z").unwrap();
    assert_eq!(b.checkpoint_at(), start);
    assert_eq!(b.offline_expires_at(), end);
    // The snapshot stays raw JSON text, parsed once by gx-core where it is used.
    let snapshot: Value = serde_json::from_str(b.jwks_snapshot_json()).unwrap();
    assert_eq!(snapshot["validUntil"], "2026-11-30T03:55:06.000Z");
    assert!(!b.is_expired(start));
    assert!(!b.is_expired(UnixTime::from_millis(end.as_millis() - 1)));
    assert!(b.is_expired(end));
    // 20 % of 72 h is 14.4 h = 51 840 s: refresh once less than that is left.
    let edge = end.saturating_sub_secs(51_840);
    assert!(!b.should_refresh(start));
    assert!(!b.should_refresh(edge));
    assert!(b.should_refresh(UnixTime::from_millis(edge.as_millis() + 1)));
    assert!(b.should_refresh(end));
    assert!(b.should_refresh(end.saturating_add_secs(3600)));
    // A clock before the checkpoint is not a reason to refresh.
    assert!(!b.should_refresh(UnixTime::EPOCH));
}

#[test]
fn debug_shows_neither_the_private_key_nor_the_bundle_key() {
    let b = bundle();
    let pem = b.offline_audit_key().private_key.expose_pem().to_owned();
    let secret_line = pem.lines().nth(1).unwrap();
    assert!(secret_line.len() > 40);
    let shown = format!("{b:?} {:#?}", b);
    assert!(!shown.contains(secret_line), "{shown}");
    assert!(
        !shown.contains(&b.grant_token()[..40]),
        "the grant token is a bearer credential"
    );
    assert!(shown.contains("bnd_1") && shown.contains("<redacted>"));
    let key = BundleKey::from_hex(&key_text()).unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.contains(&key_text().trim()[..16]), "{shown}");
    // The JSON written to the file does hold the key: it is what gets encrypted.
    let json = b.to_json();
    assert!(String::from_utf8_lossy(&json).contains(&secret_line[..20]));
}
