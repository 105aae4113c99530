//! gx-server and gx-sync in this process under a TRACE `tracing` subscriber that writes
//! into a buffer (and receives `log` records too, e.g. rustls'): issue, store, append,
//! sync, revocation status, refresh, errors with a wrong API key and a wrong bundle key,
//! revoke, a request through a proxy with credentials. Then the buffer, and the `Debug`/`Display` output of the public config, key
//! and error types met on the way, are searched for every secret.

use std::io::Write;
use std::sync::Mutex;

use gx_core::AuditSigningKey;
use gx_server::{
    InitOptions, RateLimits, Server, ServerConfig, SqliteStore, Store, TlsMode, init_db,
};
use gx_storage::{
    AuditLog, AuditLogConfig, BundleFile, BundleKey, ConsentBundle, EntryFields, FsyncPolicy,
};
use gx_sync::{
    ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, ProxyConfig, RetryPolicy,
    SyncOptions,
};
use tracing_subscriber::filter::LevelFilter;

use super::secrets::Secrets;

/// Everything the subscriber wrote.
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn random_hex_key() -> String {
    let r: [u8; 32] = rand::random();
    r.iter().map(|b| format!("{b:02x}")).collect()
}

fn add_bundle(secrets: &mut Secrets, bundle: &ConsentBundle, label: &str) {
    secrets.add_token(&format!("{label} grant token"), bundle.grant_token());
    secrets.add_pem(
        &format!("{label} audit private key"),
        bundle.offline_audit_key().private_key.expose_pem(),
    );
}

fn entry(i: u32) -> String {
    format!("{{\"i\":{i}}}")
}

/// The grant id (`grnt`, else `jti`) of a token, read without verification.
fn grant_id(token: &str) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).unwrap()).unwrap();
    claims["grnt"]
        .as_str()
        .or(claims["jti"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn no_secret_in_trace_logs_of_server_and_sync_client_nor_in_debug_output() {
    tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init()
        .expect("the only subscriber of this test binary");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let mut secrets = Secrets::default();
    // Debug and Display texts to audit, labelled.
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| shown.push((what.to_owned(), text));

    let tenant = init_db(
        &db,
        InitOptions {
            agent_did: None,
            scopes: vec!["read:contacts".into()],
            force: false,
        },
    )
    .unwrap();
    let api_key = tenant.api_key.expose().to_owned();
    secrets.add_text("API key", &api_key);
    secrets.add_text("API key secret part", api_key.strip_prefix("gx_").unwrap());
    show("InitOutput Debug", format!("{tenant:?}"));
    show("server ApiKey Debug", format!("{:?}", tenant.api_key));

    let key_hex = random_hex_key();
    secrets.add_hex_key("bundle key", &key_hex);
    let key = BundleKey::from_hex(&key_hex).unwrap();
    show("BundleKey Debug", format!("{key:?}"));
    let wrong_hex = random_hex_key();
    secrets.add_hex_key("wrong bundle key", &wrong_hex);
    let wrong_key = BundleKey::from_hex(&wrong_hex).unwrap();
    let passphrase = format!("passphrase-{}", &random_hex_key()[..16]);
    secrets.add_text("passphrase", &passphrase);
    show(
        "passphrase BundleKey Debug",
        format!("{:?}", BundleKey::from_passphrase(&passphrase).unwrap()),
    );
    // Key texts that are refused must not be echoed in the error.
    let bad_key_text = format!("zz{}", &random_hex_key()[2..]);
    secrets.add_text("refused key text", &bad_key_text);
    let e = BundleKey::from_hex(&bad_key_text).unwrap_err();
    show("KeyError", format!("{e} {e:?}"));
    let wrong_api_key = format!("gx_wrongApiKey{}", &random_hex_key()[..20]);
    secrets.add_text("wrong API key", &wrong_api_key);
    let bad_api_text = format!("{wrong_api_key}\nwith a newline");
    let e = ApiKey::new(bad_api_text).unwrap_err();
    show("ApiKey refusal", format!("{e} {e:?}"));

    let proxy_password = format!("proxyPassword{}", &random_hex_key()[..16]);
    secrets.add_text("proxy password", &proxy_password);
    let ca_path = dir.path().join("ca.pem");
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
    config.tls = TlsMode::SelfSigned {
        ca_out: Some(ca_path.clone()),
    };
    config.rate_limits = RateLimits::DISABLED;
    show("ServerConfig Debug", format!("{config:?}"));

    let file = BundleFile::new(dir.path().join("bundle.gx"));
    let log_path = dir.path().join("audit.jsonl");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = Server::start(config).await.unwrap();
        let base = server.base_url().to_owned();
        let ca = std::fs::read(&ca_path).unwrap();
        let options = ClientOptions::default().with_ca_pem(ca.clone());
        show("ClientOptions Debug", format!("{options:?}"));
        let sync_key = ApiKey::new(api_key.clone()).unwrap();
        show("sync ApiKey Debug", format!("{sync_key:?}"));
        let client = GrantexClient::with_options(&base, sync_key, options).unwrap();
        show("GrantexClient Debug", format!("{client:?}"));

        // Issue, store, append, sync, status.
        let request = CreateBundleRequest::new(&tenant.agent_id, "user_audit", ["read:contacts"]);
        let bundle = client.create_bundle(&request).await.unwrap();
        add_bundle(&mut secrets, &bundle, "first bundle");
        show("ConsentBundle Debug", format!("{bundle:?}"));
        show(
            "OfflineAuditKey Debug",
            format!("{:?}", bundle.offline_audit_key()),
        );
        file.store(&bundle, &key).unwrap();
        let signing =
            AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem())
                .unwrap();
        show("AuditSigningKey Debug", format!("{signing:?}"));
        let log = AuditLog::open(
            &log_path,
            signing,
            AuditLogConfig::new(FsyncPolicy::EveryEntry),
        )
        .unwrap();
        show("AuditLog Debug", format!("{log:?}"));
        let scopes = ["read:contacts"];
        let grant = grant_id(bundle.grant_token());
        for i in 0..3 {
            let meta = entry(i);
            log.append_fields(&EntryFields {
                action: "tool:read_contacts",
                agent_did: &tenant.agent_did,
                grant_id: &grant,
                scopes: &scopes,
                result: "success",
                metadata: Some(&meta),
            })
            .unwrap();
        }
        let report = client
            .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
            .await
            .unwrap();
        show("SyncReport Debug", format!("{report:?}"));
        let status = client.revocation_status(bundle.bundle_id()).await.unwrap();
        show("revocation status Debug", format!("{status:?}"));

        // Refresh through the device session: a new token and audit key, stored and
        // switched to.
        drop(log);
        let device = gx_storage::DeviceSession::<gx_core::AwsLcRs>::open(
            file.path(),
            BundleKey::from_hex(&key_hex).unwrap(),
            gx_storage::DeviceOptions::new()
                .with_log(&log_path, AuditLogConfig::new(FsyncPolicy::EveryEntry)),
        )
        .unwrap();
        show("DeviceSession Debug", format!("{device:?}"));
        let log = device.log().unwrap();
        let outcome = client
            .refresh_device(&device, &SyncOptions::default())
            .await
            .unwrap();
        add_bundle(&mut secrets, &outcome.bundle, "refreshed bundle");
        show("RefreshOutcome Debug", format!("{outcome:?}"));

        // Errors: a wrong API key, a wrong bundle key.
        let bad = GrantexClient::with_options(
            &base,
            ApiKey::new(wrong_api_key.clone()).unwrap(),
            ClientOptions::default().with_ca_pem(ca.clone()),
        )
        .unwrap();
        let e = bad.create_bundle(&request).await.unwrap_err();
        show("ClientError (wrong API key)", format!("{e} {e:?}"));
        let e = bad
            .sync(log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
            .await;
        show("sync with a wrong API key", format!("{e:?}"));
        let e = bad
            .refresh_device(&device, &SyncOptions::default())
            .await
            .unwrap_err();
        show("RefreshError (wrong API key)", format!("{e} {e:?}"));
        let e = file.load(&wrong_key).unwrap_err();
        show("BundleError (wrong key)", format!("{e} {e:?}"));

        // Revoke, then sync learns it.
        let revoked = client
            .revoke_bundle(bundle.bundle_id(), true)
            .await
            .unwrap();
        show("RevokeOutcome Debug", format!("{revoked:?}"));
        let report = client
            .sync(log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
            .await
            .unwrap();
        assert!(report.is_revoked());
        let e = client
            .request_refresh(bundle.bundle_id())
            .await
            .unwrap_err();
        show("ClientError (refresh after revoke)", format!("{e} {e:?}"));

        // A proxy with credentials: neither its Debug nor a failed tunnel shows them.
        let proxy_url = format!("http://proxyuser:{proxy_password}@127.0.0.1:9");
        let options = ClientOptions::default()
            .with_proxy(ProxyConfig::Url(proxy_url))
            .with_retry(RetryPolicy::never());
        show("ClientOptions with a proxy Debug", format!("{options:?}"));
        let proxied = GrantexClient::with_options(
            "https://grantex.invalid",
            ApiKey::new(api_key.clone()).unwrap(),
            options,
        )
        .unwrap();
        show("GrantexClient with a proxy Debug", format!("{proxied:?}"));
        let e = proxied.revocation_status("bundle_x").await.unwrap_err();
        show("ClientError (proxy refused)", format!("{e} {e:?}"));
        server.shutdown().await;
    });

    let store = SqliteStore::open(&db).unwrap();
    show("SqliteStore Debug", format!("{store:?}"));
    for k in store.signing_keys().unwrap() {
        secrets.add_der(&format!("server signing key {}", k.kid), &k.private_key);
        show("SigningKeyRecord Debug", format!("{k:?}"));
    }

    let log_text = captured();
    // The subscriber really ran at TRACE: the server's access log and debug events, and
    // lower-level events of the libraries, are in it.
    assert!(log_text.contains("gx_server::access"), "{log_text}");
    assert!(log_text.contains("DEBUG"), "{log_text}");
    assert!(log_text.contains("TRACE"), "{log_text}");
    secrets.assert_absent("the TRACE log", &log_text);
    eprintln!(
        "secrets audit (in process): {} secret forms, {} log bytes in {} lines, {} Debug/Display texts",
        secrets.len(),
        log_text.len(),
        log_text.lines().count(),
        shown.len()
    );
    assert!(shown.len() > 20);
    for (what, text) in &shown {
        secrets.assert_absent(what, text);
    }
}
