//! The load generator behind `cargo xtask load`: simulated devices syncing pre-signed audit
//! chains over TLS to one or more `gx-server` processes, on SQLite or PostgreSQL.
//!
//! Every device has its own bundle and a chain signed before the clock starts, so the
//! measured window holds only the server's work: N devices at once, each on one
//! keep-alive TLS connection, sending its batches one after the other, round-robin over
//! the replicas. It reports entries accepted per second, request latency (p50/p99),
//! errors by status, the server's CPU seconds per 1000 accepted entries (gx-server
//! processes from `/proc/<pid>/stat`, plus every process of the PostgreSQL cluster it
//! started; the driver's own CPU is not counted), the servers' peak memory and the load
//! average. On PostgreSQL it also reports the WAL written per entry and the durability
//! settings the cluster ran with (`fsync`, `synchronous_commit`, `full_page_writes`: all
//! on, PostgreSQL's defaults), and `--pg-stats` lists the statements by execution time
//! (`pg_stat_statements`). `--pool-size` is each replica's connection pool (default 32).
//! `--json` prints one JSON object instead.
//!
//! ```text
//! load --server-bin target/release/gx-server [--db sqlite|postgres] [--replicas N]
//!      [--devices N] [--batches N] [--batch-size N] [--pool-size N] [--pg-stats] [--json]
//! ```

#[path = "../tests/server/pg.rs"]
#[allow(
    dead_code,
    reason = "the tests' cluster helper; the load uses part of it"
)]
mod pg;

use core::time::Duration;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64ct::{Base64, Encoding as _};
use gx_server::{Database, InitOptions, init_db};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct Options {
    server_bin: PathBuf,
    postgres: bool,
    replicas: usize,
    devices: usize,
    batches: usize,
    batch_size: usize,
    pg_stats: bool,
    pool_size: usize,
    json: bool,
}

fn options() -> Result<Options> {
    let mut o = Options {
        server_bin: PathBuf::from("target/release/gx-server"),
        postgres: false,
        replicas: 1,
        devices: 200,
        batches: 10,
        batch_size: 100,
        pg_stats: false,
        pool_size: 32,
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--server-bin" => o.server_bin = value()?.into(),
            "--db" => {
                o.postgres = match value()?.as_str() {
                    "sqlite" => false,
                    "postgres" => true,
                    other => bail!("--db is sqlite or postgres, not {other}"),
                }
            }
            "--replicas" => o.replicas = value()?.parse()?,
            "--devices" => o.devices = value()?.parse()?,
            "--batches" => o.batches = value()?.parse()?,
            "--batch-size" => o.batch_size = value()?.parse()?,
            "--pg-stats" => o.pg_stats = true,
            "--pool-size" => o.pool_size = value()?.parse()?,
            "--json" => o.json = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if o.replicas == 0 || o.devices == 0 || o.batches == 0 || !(1..=1000).contains(&o.batch_size) {
        bail!("replicas, devices and batches must be positive, batch size 1..=1000");
    }
    if o.replicas > 1 && !o.postgres {
        bail!("several replicas need --db postgres");
    }
    Ok(o)
}

/// A `gx-server run` child process and where it listens.
struct Replica {
    child: Child,
    addr: core::net::SocketAddr,
    ca: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(o: &Options, db: &str, dir: &std::path::Path, n: usize) -> Result<Replica> {
    let ca = dir.join(format!("ca-{n}.pem"));
    let mut child = Command::new(&o.server_bin)
        .args([
            "run",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--self-signed",
        ])
        .arg(&ca)
        .args(["--no-rate-limits", "--max-connections", "4096"])
        .args(["--max-connections-per-ip", "4096"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", o.server_bin.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("server stdout")?;
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line.trim();
    let addr = url
        .strip_prefix("https://")
        .context("the server did not print its URL")?
        .parse()?;
    let ca = std::fs::read_to_string(&ca)?;
    Ok(Replica { child, addr, ca })
}

/// One device's connection: TLS, HTTP/1.1 keep-alive.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

fn connector(ca: &str) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

impl Conn {
    async fn open(addr: core::net::SocketAddr, tls: &TlsConnector) -> Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tls.connect(ServerName::try_from("localhost")?, tcp).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        Ok(Self { sender })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        key: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Full::new(body))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device's chain, signed with its bundle's key, cut into request bodies.
fn presign(bundle: &Value, o: &Options) -> Result<Vec<Bytes>> {
    let token = bundle["grantToken"].as_str().context("grantToken")?;
    let claims: Value = serde_json::from_slice(&base64ct::Base64UrlUnpadded::decode_vec(
        token.split('.').nth(1).context("token")?,
    )?)?;
    let pem = bundle["offlineAuditKey"]["privateKey"]
        .as_str()
        .context("key")?;
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&Base64::decode_vec(&der)?)
        .map_err(|_| anyhow::anyhow!("bad audit key"))?;
    let _ = key.public_key();
    let (did, grant) = (
        claims["agt"].as_str().context("agt")?,
        claims["grnt"].as_str().context("grnt")?,
    );
    let id = bundle["bundleId"].as_str().context("bundleId")?;
    let mut prev = String::from("0000000000000000");
    let mut bodies = Vec::with_capacity(o.batches);
    let mut seq = 0u64;
    for _ in 0..o.batches {
        let mut entries = Vec::with_capacity(o.batch_size);
        for _ in 0..o.batch_size {
            seq += 1;
            let input = format!(
                "{seq}|2026-11-27T10:00:00.000Z|tool:read_contacts|{did}|{grant}|read:contacts|success|{{\"i\":{seq}}}|{prev}"
            );
            let hash = hex(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes()).as_ref(),
            );
            let signature = hex(key.sign(hash.as_bytes()).as_ref());
            entries.push(json!({"seq": seq, "timestamp": "2026-11-27T10:00:00.000Z", "action": "tool:read_contacts",
                "agentDID": did, "grantId": grant, "scopes": ["read:contacts"], "result": "success",
                "metadata": {"i": seq}, "prevHash": prev, "hash": hash, "signature": signature}));
            prev = hash;
        }
        bodies.push(Bytes::from(serde_json::to_vec(
            &json!({"bundleId": id, "entries": entries}),
        )?));
    }
    Ok(bodies)
}

/// utime + stime of a process, in seconds (0 once it is gone).
fn cpu_secs(pid: u32, ticks: f64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / ticks
}

/// The role of a PostgreSQL process from its title (`postgres: walwriter`, `postgres:
/// postgres gx_test_1 127.0.0.1(5432) idle`, …): the connections are `backend`.
fn pg_role(pid: u32) -> String {
    let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let title = String::from_utf8_lossy(&title).replace('\0', " ");
    let Some(rest) = title.trim().strip_prefix("postgres: ") else {
        return String::from("postmaster");
    };
    for role in [
        "walwriter",
        "checkpointer",
        "background writer",
        "autovacuum",
        "logical replication",
    ] {
        if rest.starts_with(role) {
            return role.to_owned();
        }
    }
    String::from("backend")
}

/// CPU seconds of the cluster's processes so far, by role.
fn pg_cpu_by_role(ticks: f64) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for pid in pg::cluster_pids() {
        *out.entry(pg_role(pid)).or_insert(0.0) += cpu_secs(pid, ticks);
    }
    out
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// PostgreSQL's own view of the measured window: its settings, the WAL written, and the
/// statements by execution time.
struct PgProbe {
    client: tokio_postgres::Client,
    lsn: String,
}

impl PgProbe {
    async fn start(url: &str) -> Result<Self> {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        let stats = client
            .batch_execute(
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
            )
            .await;
        if let Err(e) = stats {
            // A cluster given by GX_TEST_POSTGRES_URL may not preload it.
            eprintln!("pg_stat_statements unavailable: {e}");
        }
        let lsn = client
            .query_one("SELECT pg_current_wal_lsn()::TEXT", &[])
            .await?
            .try_get(0)?;
        Ok(Self { client, lsn })
    }

    async fn finish(&self, statements: bool) -> Result<Value> {
        let wal: f64 = self
            .client
            .query_one(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::TEXT::pg_lsn)::FLOAT8",
                &[&self.lsn],
            )
            .await?
            .try_get(0)?;
        let mut settings = serde_json::Map::new();
        for name in [
            "fsync",
            "synchronous_commit",
            "full_page_writes",
            "wal_level",
            "shared_buffers",
        ] {
            let row = self
                .client
                .query_one("SELECT current_setting($1)", &[&name])
                .await?;
            settings.insert(name.to_owned(), Value::String(row.try_get(0)?));
        }
        let mut top = Vec::new();
        if statements {
            let rows = self
                .client
                .query(
                    "SELECT calls, total_exec_time, wal_bytes::BIGINT,
                            left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
                     FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15",
                    &[],
                )
                .await?;
            for r in rows {
                top.push(json!({"calls": r.try_get::<_, i64>(0)?, "ms": r.try_get::<_, f64>(1)?,
                                "walBytes": r.try_get::<_, i64>(2)?, "query": r.try_get::<_, String>(3)?}));
            }
        }
        Ok(json!({"walBytes": wal, "settings": settings, "statements": top}))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    let dir = tempfile::tempdir()?;
    let db = if o.postgres {
        pg::durable_cluster();
        pg::fresh_database()
            .context("no PostgreSQL: install postgresql or set GX_TEST_POSTGRES_URL")?
    } else {
        Database::Sqlite(dir.path().join("load.db"))
    };
    let tenant = init_db(&db, InitOptions::default())?;
    let db_arg = match &db {
        Database::Postgres(url) => format!("{}?pool_size={}", url.expose(), o.pool_size),
        other => other.describe(),
    };
    let replicas: Vec<Replica> = (0..o.replicas)
        .map(|n| start_replica(&o, &db_arg, dir.path(), n))
        .collect::<Result<_>>()?;
    let key = tenant.api_key.expose().to_owned();
    let tls = connector(&replicas[0].ca)?;

    // Bundles and chains, before the clock starts.
    let mut setup = Conn::open(replicas[0].addr, &tls).await?;
    let mut devices = Vec::with_capacity(o.devices);
    for d in 0..o.devices {
        let body = json!({"agentId": tenant.agent_id, "userId": format!("user_{d}"), "scopes": ["read:contacts"],
                          "offlineTTL": "72h", "offlineAuditKeyAlgorithm": "Ed25519"});
        let (status, bytes) = setup
            .send(
                Method::POST,
                "/v1/consent-bundles",
                &key,
                Bytes::from(body.to_string()),
            )
            .await?;
        if status != StatusCode::CREATED {
            bail!("creating a bundle answered {status}");
        }
        devices.push(presign(&serde_json::from_slice(&bytes)?, &o)?);
    }
    let connectors: Vec<(core::net::SocketAddr, TlsConnector)> = replicas
        .iter()
        .map(|r| Ok((r.addr, connector(&r.ca)?)))
        .collect::<Result<_>>()?;

    let pg = match &db {
        Database::Postgres(url) => Some(PgProbe::start(url.expose()).await?),
        _ => None,
    };
    let ticks = clock_ticks();
    let server_pids: Vec<u32> = replicas.iter().map(|r| r.child.id()).collect();
    // (gx-server processes, PostgreSQL processes), CPU seconds so far.
    let cpu_now = || {
        let sum = |pids: &[u32]| pids.iter().map(|&p| cpu_secs(p, ticks)).sum::<f64>();
        (sum(&server_pids), sum(&pg::cluster_pids()))
    };
    let cpu_before = cpu_now();
    let roles_before = pg_cpu_by_role(ticks);
    let started = Instant::now();
    let tasks: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(d, bodies)| {
            let (addr, tls) = connectors[d % connectors.len()].clone();
            let key = key.clone();
            tokio::spawn(async move {
                let mut out: Vec<(Option<StatusCode>, Duration, usize)> = Vec::new();
                let mut conn = match Conn::open(addr, &tls).await {
                    Ok(c) => c,
                    Err(_) => return vec![(None, Duration::ZERO, 0)],
                };
                for body in bodies {
                    let t0 = Instant::now();
                    let n = match conn
                        .send(Method::POST, "/v1/audit/offline-sync", &key, body)
                        .await
                    {
                        Ok((s, b)) => {
                            let accepted = serde_json::from_slice::<Value>(&b)
                                .ok()
                                .and_then(|v| v["accepted"].as_u64())
                                .unwrap_or(0) as usize;
                            (Some(s), accepted)
                        }
                        Err(_) => (None, 0),
                    };
                    out.push((n.0, t0.elapsed(), n.1));
                    if n.0.is_none() {
                        break;
                    }
                }
                out
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await?);
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = cpu_now();
    // A process that exited inside the window (an autovacuum worker) is not counted.
    let pg_roles: serde_json::Map<String, Value> = pg_cpu_by_role(ticks)
        .into_iter()
        .map(|(role, secs)| {
            let spent = secs - roles_before.get(&role).copied().unwrap_or(0.0);
            (role, json!(spent))
        })
        .collect();
    let pg_report = match &pg {
        Some(p) => p.finish(o.pg_stats).await?,
        None => Value::Null,
    };
    let (cpu_server, cpu_pg) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let cpu = cpu_server + cpu_pg;
    let peak_kib: u64 = server_pids
        .iter()
        .map(|&p| peak_rss_kib(p))
        .max()
        .unwrap_or(0);

    let mut latencies: Vec<Duration> = results.iter().map(|r| r.1).collect();
    latencies.sort();
    let accepted: usize = results
        .iter()
        .filter(|r| r.0 == Some(StatusCode::OK))
        .map(|r| r.2)
        .sum();
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    for r in results.iter().filter(|r| r.0 != Some(StatusCode::OK)) {
        *errors
            .entry(r.0.map_or_else(|| String::from("connection"), |s| s.as_u16().to_string()))
            .or_default() += 1;
    }
    let report = json!({
        "backend": if o.postgres { "postgres" } else { "sqlite" },
        "replicas": o.replicas,
        "devices": o.devices,
        "batches": o.batches,
        "batchSize": o.batch_size,
        "entriesAccepted": accepted,
        "seconds": wall,
        "entriesPerSecond": accepted as f64 / wall,
        "latencyMs": {"p50": percentile(&latencies, 0.50), "p99": percentile(&latencies, 0.99)},
        "errors": errors,
        "serverCpuSecondsPer1000Entries": if accepted > 0 { cpu / accepted as f64 * 1000.0 } else { 0.0 },
        "serverCpuMicrosPerEntry": if accepted > 0 { cpu / accepted as f64 * 1e6 } else { 0.0 },
        "gxServerCpuSeconds": cpu_server,
        "postgresCpuSeconds": cpu_pg,
        "postgresCpuSecondsByRole": pg_roles,
        "postgresCounted": !pg::cluster_pids().is_empty(),
        "serverPeakRssMiB": peak_kib as f64 / 1024.0,
        "postgres": pg_report,
        "walBytesPerEntry": pg_report["walBytes"].as_f64().map(|w| w / accepted.max(1) as f64),
        "loadAverage": load_average(),
    });
    if o.json {
        println!("{report}");
    } else {
        println!(
            "{} x{}: {} devices x {} batches x {} entries\n  accepted {} entries in {:.2} s: {:.0} entries/s\n  latency p50 {:.1} ms, p99 {:.1} ms\n  errors {}\n  server CPU {:.4} s per 1000 entries ({:.1} us/entry{})\n  server peak RSS {:.1} MiB; load average {}",
            report["backend"].as_str().unwrap_or(""),
            o.replicas,
            o.devices,
            o.batches,
            o.batch_size,
            accepted,
            wall,
            accepted as f64 / wall,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            report["errors"],
            report["serverCpuSecondsPer1000Entries"]
                .as_f64()
                .unwrap_or(0.0),
            report["serverCpuMicrosPerEntry"].as_f64().unwrap_or(0.0),
            if o.postgres {
                format!(
                    ": gx-server {:.1} + postgres {:.1}",
                    cpu_server / accepted.max(1) as f64 * 1e6,
                    cpu_pg / accepted.max(1) as f64 * 1e6
                )
            } else {
                String::new()
            },
            peak_kib as f64 / 1024.0,
            load_average(),
        );
        if let Some(pg) = pg_report.as_object() {
            let wal = pg["walBytes"].as_f64().unwrap_or(0.0);
            println!(
                "  postgres: {:.0} WAL bytes per entry; CPU s by process {}; {}",
                wal / accepted.max(1) as f64,
                report["postgresCpuSecondsByRole"],
                pg["settings"]
            );
            for s in pg["statements"].as_array().into_iter().flatten() {
                println!(
                    "    {:>8} calls {:>9.1} ms {:>10} WAL bytes  {}",
                    s["calls"],
                    s["ms"].as_f64().unwrap_or(0.0),
                    s["walBytes"],
                    s["query"].as_str().unwrap_or("")
                );
            }
        }
    }
    drop(replicas);
    Ok(())
}
