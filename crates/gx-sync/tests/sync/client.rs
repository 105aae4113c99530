//! The client's calls and typed errors against the real server.

use gx_sync::{
    ApiKey, ClientError, ClientOptions, CreateBundleRequest, GrantexClient, ProxyConfig,
    RetryPolicy, SyncErrorKind, SyncOptions,
};

use super::harness::{self, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_calls_and_server_errors_keep_their_fields() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    assert!(bundle.bundle_id().starts_with("bundle_"));
    assert!(bundle.sync_endpoint().ends_with("/v1/audit/offline-sync"));

    let summary = client.get_bundle(bundle.bundle_id()).await.unwrap();
    assert_eq!(summary.id, bundle.bundle_id());
    assert_eq!(summary.device_id.as_deref(), Some("test-device"));
    assert_eq!(summary.audit_entry_count, Some(0));
    let status = client.revocation_status(bundle.bundle_id()).await.unwrap();
    assert!(!status.is_revoked());

    // 404 with the server's code, message and request id.
    let err = client.get_bundle("bundle_01NOPE").await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.status(), api.code()), (404, "NOT_FOUND"));
    assert!(api.request_id().is_some_and(|id| !id.is_empty()));
    assert!(!err.is_transient());

    // 422 for a scope the agent does not have.
    let err = client
        .create_bundle(&CreateBundleRequest::new(
            &env.init.agent_id,
            "u",
            ["admin:everything"],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some("INVALID_SCOPES"));

    // A wrong API key: 401, not retried.
    let stranger = GrantexClient::with_options(
        env.server.base_url(),
        ApiKey::new("gx_not_a_real_key_at_all_0000").unwrap(),
        env.options(),
    )
    .unwrap();
    let err = stranger.get_bundle(bundle.bundle_id()).await.unwrap_err();
    assert_eq!(
        err.api().map(|a| (a.status(), a.code())),
        Some((401, "UNAUTHORIZED"))
    );
    // The key never shows up in the error or the client's Debug.
    assert!(!format!("{err} {err:?} {stranger:?}").contains("gx_not_a_real_key"));
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_refused_without_retries() {
    let env = Env::start().await;
    let client = GrantexClient::with_options(
        env.server.base_url(),
        env.api_key(),
        ClientOptions::default()
            .with_proxy(ProxyConfig::None)
            .with_retry(RetryPolicy::default().with_max_attempts(3)),
    )
    .unwrap();
    let err = client.get_bundle("bundle_x").await.unwrap_err();
    assert_eq!(err.code(), "TLS_HANDSHAKE", "{err}");
    assert_eq!(
        err.tls_cause(),
        Some(gx_sync::TlsCause::UnknownIssuer),
        "{err}"
    );
    assert!(
        err.to_string().contains("not signed by a trusted CA"),
        "{err}"
    );
    assert!(!err.is_transient());
    env.server.shutdown().await;
}

#[test]
fn insecure_urls_are_refused() {
    let key = || ApiKey::new("gx_0123456789abcdef").unwrap();
    assert!(matches!(
        GrantexClient::new("http://api.example.com", key()),
        Err(ClientError::InsecureUrl)
    ));
    assert!(GrantexClient::new("http://127.0.0.1:9", key()).is_ok());
    assert!(matches!(
        GrantexClient::with_options(
            "https://x.example",
            key(),
            ClientOptions::default().with_ca_pem(&b"not a pem"[..])
        ),
        Err(ClientError::InvalidCaCertificate { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_bounds_retries_against_a_dead_server() {
    // Nothing listens on this port: connection refused, retried until the deadline.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = GrantexClient::with_options(
        &format!("http://127.0.0.1:{port}"),
        ApiKey::new("gx_0123456789abcdef").unwrap(),
        ClientOptions::default().with_retry(
            RetryPolicy::default()
                .with_max_attempts(1000)
                .with_max_unreachable_attempts(1000)
                .with_backoff(
                    core::time::Duration::from_millis(5),
                    core::time::Duration::from_millis(50),
                ),
        ),
    )
    .unwrap();
    let env = Env::start().await;
    let bundle = env.bundle(&env.client()).await;
    let log = harness::open_log(&env.path("a.jsonl"), &bundle);
    harness::append(&log, &bundle, 10);
    let started = std::time::Instant::now();
    let err = client
        .sync(
            &log,
            bundle.bundle_id(),
            &SyncOptions::default().with_deadline(started + core::time::Duration::from_millis(300)),
            |_| {},
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < core::time::Duration::from_secs(3), "{elapsed:?}");
    match err.kind() {
        SyncErrorKind::Client(ClientError::DeadlineExceeded { attempts, last }) => {
            assert!(*attempts > 1);
            // Refused, or, on a loaded machine, the last attempt cut short by the deadline.
            assert!(
                matches!(last.code(), "CONNECT_FAILED" | "TIMEOUT"),
                "{last}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.report().retries > 0);
    assert_eq!(err.report().cursor, 0);
    assert_eq!(log.synced_seq(), 0);
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_gives_up_after_the_short_budget_and_says_so() {
    // Nothing listens on this port: each attempt is refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&notices);
    let client = GrantexClient::with_options(
        &format!("http://127.0.0.1:{port}"),
        ApiKey::new("gx_0123456789abcdef").unwrap(),
        ClientOptions::default()
            .with_proxy(ProxyConfig::None)
            .with_retry_observer(move |n| {
                seen.lock().unwrap().push((
                    n.attempt,
                    n.max_attempts,
                    n.url.to_owned(),
                    n.error.connect_cause(),
                ));
            }),
    )
    .unwrap();
    let err = client.get_bundle("bundle_x").await.unwrap_err();
    match &err {
        ClientError::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 3, "{err}");
            assert_eq!(last.code(), "CONNECT_FAILED");
        }
        other => panic!("expected the retry budget to end it, got {other:?}"),
    }
    assert_eq!(err.connect_cause(), Some(gx_sync::ConnectCause::Refused));
    assert!(err.to_string().contains("connection refused"), "{err}");
    let notices = notices.lock().unwrap();
    assert_eq!(
        notices.iter().map(|n| (n.0, n.1)).collect::<Vec<_>>(),
        [(1, 3), (2, 3)],
        "one notice before each of the two retries"
    );
    assert!(
        notices[0]
            .2
            .starts_with(&format!("http://127.0.0.1:{port}/"))
    );
    assert_eq!(notices[0].3, Some(gx_sync::ConnectCause::Refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_and_server_behind_are_reported_precisely() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let a = harness::open_log(&env.path("a.jsonl"), &bundle);
    harness::append(&a, &bundle, 20);
    client
        .sync(&a, bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap();

    // Another log for the same bundle: entries 1..=20 with other timestamps/hashes.
    std::thread::sleep(core::time::Duration::from_millis(5)); // distinct timestamps, not synchronisation
    let b = harness::open_log(&env.path("b.jsonl"), &bundle);
    harness::append(&b, &bundle, 25);
    let local_1 = harness::local_entries(&b)[0].1.clone();
    let err = client
        .sync(
            &b,
            bundle.bundle_id(),
            &SyncOptions::default().with_batch_size(10),
            |_| {},
        )
        .await
        .unwrap_err();
    match err.kind() {
        SyncErrorKind::Fork {
            seq,
            local_hash,
            server_hash,
        } => {
            assert_eq!(*seq, 1);
            assert_eq!(local_hash, &local_1);
            assert_ne!(local_hash, server_hash);
        }
        other => panic!("expected a fork, got {other:?}"),
    }
    assert_eq!(err.code(), "CHAIN_FORK");
    assert_eq!(b.synced_seq(), 0, "a fork must not move the cursor");

    // A fresh bundle whose server holds nothing, but whose cursor claims 5 confirmed.
    let fresh = env.bundle(&client).await;
    let c_path = env.path("c.jsonl");
    let c = harness::open_log(&c_path, &fresh);
    harness::append(&c, &fresh, 8);
    drop(c);
    std::fs::write(env.path("c.jsonl.synced"), "5").unwrap();
    let c = harness::open_log(&c_path, &fresh);
    let err = client
        .sync(&c, fresh.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap_err();
    match err.kind() {
        SyncErrorKind::ServerBehind {
            server_last,
            cursor,
        } => assert_eq!((*server_last, *cursor), (0, 5)),
        other => panic!("expected server-behind, got {other:?}"),
    }
    env.server.shutdown().await;
}
