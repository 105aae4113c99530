//! The tool guard against a real bundle from an in-process gx-server: one entry per
//! call with the right result, refusals, and a log that verifies and syncs; revocation
//! that survives a restart, and a clock set back.

use std::path::Path;
use std::sync::Arc;

use gx_agent::{Device, DeviceOptions, Guard, GuardError, ManualClock, MemoSlot, UnixTime};
use gx_server::{InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};
use gx_storage::gx_core::AuditVerifyingKey;
use gx_storage::{
    AuditLog, AuditLogConfig, BundleFile, BundleKey, ConsentBundle, FsyncPolicy, verify_log,
};
use gx_sync::{ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, SyncOptions};
use serde_json::{Value, json};

struct Setup {
    dir: tempfile::TempDir,
    bundle: ConsentBundle,
    client: GrantexClient,
    server: gx_server::RunningServer,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gx.db");
    let tenant = init_db(
        &db,
        InitOptions {
            scopes: vec!["read:contacts".into(), "send:email".into()],
            ..InitOptions::default()
        },
    )
    .expect("init");
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().expect("addr"));
    config.tls = TlsMode::PlainHttp;
    config.rate_limits = RateLimits::DISABLED;
    let server = Server::start(config).await.expect("server");
    let client = GrantexClient::with_options(
        server.base_url(),
        ApiKey::new(tenant.api_key.expose()).expect("key"),
        ClientOptions::default(),
    )
    .expect("client");
    let bundle = client
        .create_bundle(&CreateBundleRequest::new(
            &tenant.agent_id,
            "user_1",
            ["read:contacts"],
        ))
        .await
        .expect("bundle");
    BundleFile::new(dir.path().join("b.gx"))
        .store(&bundle, &bundle_key())
        .expect("store");
    Setup {
        dir,
        bundle,
        client,
        server,
    }
}

fn bundle_key() -> BundleKey {
    BundleKey::from_hex(&"3c".repeat(32)).expect("key")
}

/// The device state in `dir`, with memo slots and the given options' clock.
fn device<'m>(
    dir: &Path,
    options: DeviceOptions<'static>,
    slots: &'m mut [MemoSlot],
) -> Arc<Device<'m>> {
    let options = options
        .with_log(
            dir.join("audit.jsonl"),
            AuditLogConfig::new(FsyncPolicy::EveryEntry),
        )
        .with_memo(slots);
    Arc::new(Device::open(dir.join("b.gx"), bundle_key(), options).expect("device"))
}

fn lines(log: &AuditLog) -> Vec<Value> {
    std::fs::read_to_string(log.path())
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[tokio::test]
async fn every_call_ends_in_one_entry_with_its_result() {
    let s = setup().await;
    let mut slots = [MemoSlot::EMPTY; 4];
    let guard = Guard::new(device(s.dir.path(), DeviceOptions::new(), &mut slots));
    let log = Arc::clone(guard.device().log().expect("log"));

    let ok = guard.run(
        "tool:read_contacts",
        "read:contacts",
        Some(&json!({"q": "a"})),
        || Ok::<_, String>(7),
    );
    assert_eq!(ok.expect("success"), 7);
    let ran = core::cell::Cell::new(false);
    let denied = guard.run("tool:send_email", "send:email", None, || {
        ran.set(true);
        Ok::<_, String>(())
    });
    assert!(!ran.get(), "a denied tool must not run");
    match denied {
        Err(ref e @ GuardError::Denied { seq, .. }) => {
            assert_eq!(seq, 2);
            assert_eq!(e.code(), "SCOPE_VIOLATION");
            assert!(e.is_refusal());
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    let failed = guard
        .run_async("tool:read_contacts", "read:contacts", None, || async {
            Err::<u8, _>("disk full".to_owned())
        })
        .await;
    assert!(
        matches!(failed, Err(GuardError::Action(ref m)) if m == "disk full"),
        "{failed:?}"
    );
    assert!(matches!(
        guard.run("tool:x", "read:contacts", Some(&json!([1])), || Ok::<
            _,
            String,
        >(
            ()
        )),
        Err(GuardError::InvalidMetadata)
    ));

    let entries = lines(&log);
    let results: Vec<&str> = entries
        .iter()
        .map(|e| e["result"].as_str().expect("result"))
        .collect();
    assert_eq!(results, ["success", "denied", "error"]);
    assert_eq!(entries[0]["metadata"], json!({"q": "a"}));
    assert_eq!(
        entries[1]["metadata"],
        json!({"requiredScope": "send:email"})
    );
    assert_eq!(entries[2]["metadata"], json!({"error": "disk full"}));
    // Entries carry the grant's subject, so the server accepts them.
    assert_eq!(entries[0]["scopes"], json!(["read:contacts"]));

    let public =
        AuditVerifyingKey::from_spki_pem(&s.bundle.offline_audit_key().public_key).expect("pk");
    assert!(verify_log(log.path(), &public).expect("verify").is_intact());
    let report = s
        .client
        .sync(&log, s.bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .expect("sync");
    assert_eq!(report.accepted, 3);

    // Revocation: the server says so, the guard stops without writing.
    s.client
        .revoke_bundle(s.bundle.bundle_id(), true)
        .await
        .expect("revoke");
    let report = s
        .client
        .sync(&log, s.bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .expect("sync");
    assert!(report.is_revoked());
    guard
        .mark_revoked(report.revoked_at.clone())
        .expect("marker");
    assert!(matches!(
        guard.run("tool:read_contacts", "read:contacts", None, || Ok::<
            _,
            String,
        >(())),
        Err(GuardError::Revoked)
    ));
    assert_eq!(lines(&log).len(), 3);
    // A restarted agent (a new device session, a new guard) refuses too.
    drop(log);
    drop(guard);
    let mut slots = [MemoSlot::EMPTY; 4];
    let guard = Guard::new(device(s.dir.path(), DeviceOptions::new(), &mut slots));
    let ran = core::cell::Cell::new(false);
    let r = guard.run("tool:read_contacts", "read:contacts", None, || {
        ran.set(true);
        Ok::<_, String>(())
    });
    assert!(matches!(r, Err(GuardError::Revoked)), "{r:?}");
    assert!(!ran.get());
    assert_eq!(lines(guard.device().log().expect("log")).len(), 3);
    s.server.shutdown().await;
}

#[tokio::test]
async fn an_expired_grant_is_refused_without_an_entry() {
    let s = setup().await;
    let mut slots = [MemoSlot::EMPTY; 2];
    let clock = ManualClock::new(UnixTime::now());
    let guard = Guard::new(device(
        s.dir.path(),
        DeviceOptions::new().with_clock(clock.clone()),
        &mut slots,
    ));
    let call = |guard: &Guard<'_>| {
        guard.run("tool:read_contacts", "read:contacts", None, || {
            Ok::<_, String>(())
        })
    };
    assert!(call(&guard).is_ok());
    clock.set(UnixTime::from_secs(4_000_000_000));
    let expired = |r: Result<(), GuardError<String>>| match r {
        Err(GuardError::Grant(e)) => assert!(
            e.code() == "TOKEN_EXPIRED" || e.code() == "JWKS_SNAPSHOT_EXPIRED",
            "{e}"
        ),
        other => panic!("expected an expired grant, got {other:?}"),
    };
    expired(call(&guard));
    // The clock set back to when the grant was valid: the floor keeps it expired, also
    // for a guard started after a restart.
    clock.set(UnixTime::now());
    expired(call(&guard));
    drop(guard);
    let mut slots = [MemoSlot::EMPTY; 2];
    let guard = Guard::new(device(
        s.dir.path(),
        DeviceOptions::new().with_clock(clock.clone()),
        &mut slots,
    ));
    expired(call(&guard));
    assert_eq!(lines(guard.device().log().expect("log")).len(), 1);
    s.server.shutdown().await;
}
