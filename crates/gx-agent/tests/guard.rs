//! The tool guard against a real bundle from an in-process gx-server: one entry per
//! call with the right result, refusals, and a log that verifies and syncs.

use std::sync::Arc;

use gx_agent::{Guard, GuardError, MemoSlot, UnixTime};
use gx_server::{InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};
use gx_storage::gx_core::{AuditSigningKey, AuditVerifyingKey};
use gx_storage::{AuditLog, AuditLogConfig, ConsentBundle, FsyncPolicy, verify_log};
use gx_sync::{ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, SyncOptions};
use serde_json::{Value, json};

struct Setup {
    _dir: tempfile::TempDir,
    bundle: ConsentBundle,
    log: Arc<AuditLog>,
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
    let key = AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem())
        .expect("key");
    let log = Arc::new(
        AuditLog::open(
            dir.path().join("audit.jsonl"),
            key,
            AuditLogConfig::new(FsyncPolicy::EveryEntry),
        )
        .expect("log"),
    );
    Setup {
        _dir: dir,
        bundle,
        log,
        client,
        server,
    }
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
    let guard = Guard::new(&s.bundle, Arc::clone(&s.log), &mut slots).expect("guard");

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

    let entries = lines(&s.log);
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
    assert!(
        verify_log(s.log.path(), &public)
            .expect("verify")
            .is_intact()
    );
    let report = s
        .client
        .sync(
            &s.log,
            s.bundle.bundle_id(),
            &SyncOptions::default(),
            |_| {},
        )
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
        .sync(
            &s.log,
            s.bundle.bundle_id(),
            &SyncOptions::default(),
            |_| {},
        )
        .await
        .expect("sync");
    assert!(report.is_revoked());
    guard.mark_revoked();
    assert!(matches!(
        guard.run("tool:read_contacts", "read:contacts", None, || Ok::<
            _,
            String,
        >(())),
        Err(GuardError::Revoked)
    ));
    assert_eq!(lines(&s.log).len(), 3);
    s.server.shutdown().await;
}

#[tokio::test]
async fn an_expired_grant_is_refused_without_an_entry() {
    let s = setup().await;
    let mut slots = [MemoSlot::EMPTY; 2];
    let guard = Guard::new(&s.bundle, Arc::clone(&s.log), &mut slots)
        .expect("guard")
        .with_clock(|| UnixTime::from_secs(4_000_000_000));
    let r = guard.run("tool:read_contacts", "read:contacts", None, || {
        Ok::<_, String>(())
    });
    match r {
        Err(GuardError::Grant { code, .. }) => assert!(
            code == "TOKEN_EXPIRED" || code == "JWKS_SNAPSHOT_EXPIRED",
            "{code}"
        ),
        other => panic!("expected an expired grant, got {other:?}"),
    }
    assert!(lines(&s.log).is_empty());
    s.server.shutdown().await;
}
