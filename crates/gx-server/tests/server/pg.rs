//! A real PostgreSQL for the tests: one throwaway cluster per test binary, a fresh
//! database per test.
//!
//! With `GX_TEST_POSTGRES_URL` set (a superuser URL of a running server), databases are
//! created there. Otherwise the binaries of a local installation (`initdb`, `pg_ctl`,
//! found under `/usr/lib/postgresql/*/bin` or on `PATH`) start a cluster in a temporary
//! directory on a free loopback port, `fsync` off, as the `postgres` user when the tests
//! run as root (initdb refuses root). The load generator asks for a durable cluster
//! instead ([`durable_cluster`]): PostgreSQL's defaults (`fsync`, `synchronous_commit`,
//! `full_page_writes` on), so its numbers describe a production-safe setup. A small watcher process stops the cluster and
//! deletes its directory once the test binary has exited.
//!
//! Without either, the PostgreSQL tests are skipped with a message saying why, except in
//! CI (`CI=true`), where that is a failure.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use gx_server::Database;

/// Where new databases are created: a superuser URL without a database name.
struct Cluster {
    /// `postgres://user[:pw]@host:port` (no path).
    base: String,
    /// The query string of the URL, if any (`?sslmode=...`).
    query: String,
    /// The database to connect to for `CREATE DATABASE`.
    admin_db: String,
    /// The data directory of a cluster started here.
    #[allow(dead_code, reason = "read by the load example's CPU accounting")]
    data: Option<PathBuf>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);
/// Whether the cluster started here keeps PostgreSQL's durable defaults (see
/// [`durable_cluster`]).
static DURABLE: AtomicBool = AtomicBool::new(false);

/// Makes the cluster this process starts durable (`fsync`, `synchronous_commit` and
/// `full_page_writes` on, as PostgreSQL ships) and loads `pg_stat_statements`; call it
/// before the first [`fresh_database`]. The tests keep `fsync` off: their data is thrown
/// away, and durability is not what they check.
#[allow(dead_code, reason = "used by the load example, not the tests")]
pub(crate) fn durable_cluster() {
    DURABLE.store(true, Ordering::Relaxed);
}

fn split_url(url: &str) -> Result<Cluster, String> {
    let (main, query) = url.split_once('?').unwrap_or((url, ""));
    let after = main
        .find("://")
        .ok_or_else(|| format!("GX_TEST_POSTGRES_URL is not a URL: {url}"))?
        + 3;
    let (base, db) = match main[after..].find('/') {
        Some(i) => (&main[..after + i], &main[after + i + 1..]),
        None => (main, ""),
    };
    Ok(Cluster {
        base: base.to_owned(),
        query: if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        },
        admin_db: if db.is_empty() { "postgres" } else { db }.to_owned(),
        data: None,
    })
}

fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GX_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().or_else(|| {
        let out = Command::new("sh")
            .args(["-c", "command -v initdb"])
            .output()
            .ok()?;
        let path = String::from_utf8(out.stdout).ok()?;
        Path::new(path.trim()).parent().map(Path::to_owned)
    })
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs `bin` (from `dir`) as the cluster's owner.
fn as_owner(dir: &Path, bin: &str) -> Command {
    let path = dir.join(bin);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn start_cluster() -> Result<Cluster, String> {
    if let Ok(url) = std::env::var("GX_TEST_POSTGRES_URL") {
        return split_url(&url);
    }
    let bin = bin_dir().ok_or(
        "no PostgreSQL binaries (initdb) found; install postgresql or set GX_TEST_POSTGRES_URL",
    )?;
    let dir = tempfile::Builder::new()
        .prefix("gx-test-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let started = start_in(&bin, &dir);
    if started.is_err() {
        // Nothing runs there: leave no directory behind.
        let _ = std::fs::remove_dir_all(&dir);
    }
    started
}

/// Creates and starts a cluster in `dir` with the binaries of `bin`.
fn start_in(bin: &Path, dir: &Path) -> Result<Cluster, String> {
    if is_root() {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(String::from(
                "running as root and cannot hand a directory to the `postgres` user",
            ));
        }
    }
    let data = dir.join("data");
    let out = as_owner(bin, "initdb")
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let durability = if DURABLE.load(Ordering::Relaxed) {
        "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=128MB \
         -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    } else {
        "-F -c shared_buffers=32MB"
    };
    let options = format!(
        "{durability} -c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300",
        dir.display()
    );
    let out = as_owner(bin, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-w", "-o", &options, "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {log}"));
    }
    // The watcher outlives this process: it stops the cluster when the tests are done.
    let stop = if is_root() {
        format!(
            "runuser -u postgres -- {} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            bin.join("pg_ctl").display(),
            data.display()
        )
    };
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster's watcher: {e}"))?;
    Ok(Cluster {
        base: format!("postgres://postgres@127.0.0.1:{port}"),
        query: String::new(),
        admin_db: String::from("postgres"),
        data: Some(data),
    })
}

/// The processes of the cluster started here (the postmaster and its children), for the
/// load generator's CPU accounting; empty for a cluster given by `GX_TEST_POSTGRES_URL`.
#[allow(dead_code, reason = "used by the load example, not the tests")]
pub(crate) fn cluster_pids() -> Vec<u32> {
    let Some(Ok(Cluster {
        data: Some(data), ..
    })) = CLUSTER.get()
    else {
        return Vec::new();
    };
    let Some(postmaster) = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return Vec::new();
    };
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(postmaster) {
            pids.push(pid);
        }
    }
    pids
}

/// Runs `sql` on the cluster's admin database (on a thread of its own, so that it works
/// inside or outside a tokio runtime).
fn admin(cluster: &Cluster, sql: String) -> Result<(), String> {
    let url = format!("{}/{}{}", cluster.base, cluster.admin_db, cluster.query);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            client.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| String::from("admin thread panicked"))?
}

/// A fresh, empty database for one test; `None` (after saying why, once) when no
/// PostgreSQL is available outside CI.
pub(crate) fn fresh_database() -> Option<Database> {
    let cluster = match CLUSTER.get_or_init(start_cluster) {
        Ok(c) => c,
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required in CI: {why}");
            }
            // Straight to the terminal: libtest captures only the print macros.
            let _ = writeln!(std::io::stderr(), "PostgreSQL tests skipped: {why}");
            return None;
        }
    };
    let name = format!(
        "gx_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    admin(cluster, format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let url = format!("{}/{name}{}", cluster.base, cluster.query);
    Some(Database::parse(&url).expect("a postgres URL"))
}
