//! Benchmark: syncing audit entries to a local gx-server over TLS on loopback.
//!
//! Each iteration issues a fresh bundle, writes the entries to a fresh log (not timed)
//! and times `GrantexClient::sync` with batches of 1000. 10,000 entries by default;
//! `GX_SYNC_BENCH_ENTRIES=100000` times the issue's 100k sync (a multiple of 1000).
//! Criterion's throughput line gives entries per second; the 100k target (< 10 s) is
//! 10,000 entries/s.

// `criterion_group!` generates undocumented public functions.
#![allow(missing_docs)]

use core::time::Duration;
use std::time::Instant;

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gx_core::AuditSigningKey;
use gx_server::{InitOptions, RateLimits, Server, ServerConfig};
use gx_storage::{AuditLog, AuditLogConfig, EntryFields, FsyncPolicy};
use gx_sync::{
    ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, ProxyConfig, SyncOptions,
};

/// Entries per iteration: `GX_SYNC_BENCH_ENTRIES`, else 10,000.
fn entries() -> usize {
    std::env::var("GX_SYNC_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn bench_sync(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    let init = gx_server::init_db(&db, InitOptions::default()).unwrap();
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
    config.rate_limits = RateLimits::DISABLED;
    let server = rt.block_on(Server::start(config)).unwrap();
    let client = GrantexClient::with_options(
        server.base_url(),
        ApiKey::new(init.api_key.expose()).unwrap(),
        ClientOptions::default()
            .with_proxy(ProxyConfig::None)
            .with_ca_pem(server.ca_cert_pem().unwrap().as_bytes()),
    )
    .unwrap();

    let n = entries();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("{n}_entries_batch_1000"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let bundle = rt
                    .block_on(client.create_bundle(&CreateBundleRequest::new(
                        &init.agent_id,
                        "user_bench",
                        ["read:contacts"],
                    )))
                    .unwrap();
                let key = AuditSigningKey::from_pkcs8_pem(
                    bundle.offline_audit_key().private_key.expose_pem(),
                )
                .unwrap();
                let path = dir
                    .path()
                    .join(format!("audit-{i}-{}.jsonl", bundle.bundle_id()));
                let log =
                    AuditLog::open(&path, key, AuditLogConfig::new(FsyncPolicy::None)).unwrap();
                let payload = bundle.grant_token().split('.').nth(1).unwrap();
                let claims: serde_json::Value =
                    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).unwrap())
                        .unwrap();
                let did = claims["agt"].as_str().unwrap();
                let grant = claims["grnt"].as_str().or(claims["jti"].as_str()).unwrap();
                for chunk in 0..n / 1000 {
                    let meta: Vec<String> = (0..1000)
                        .map(|k| format!(r#"{{"n":{}}}"#, chunk * 1000 + k))
                        .collect();
                    let fields: Vec<EntryFields<'_>> = meta
                        .iter()
                        .map(|m| EntryFields {
                            action: "tool:read_contacts",
                            agent_did: did,
                            grant_id: grant,
                            scopes: &["read:contacts"],
                            result: "success",
                            metadata: Some(m),
                        })
                        .collect();
                    log.append_batch(&fields).unwrap();
                }
                let started = Instant::now();
                let report = rt
                    .block_on(client.sync(
                        &log,
                        bundle.bundle_id(),
                        &SyncOptions::default().with_batch_size(1000),
                        |_| {},
                    ))
                    .unwrap();
                total += started.elapsed();
                assert_eq!(report.accepted, n as u64);
            }
            total
        });
    });
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, bench_sync);
criterion_main!(benches);
