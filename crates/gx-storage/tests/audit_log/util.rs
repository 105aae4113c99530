//! Shared helpers: a temp dir, a test key, entry fields, and running this binary as a child.

use core::time::Duration;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use gx_storage::{AuditLog, AuditLogConfig, AuditSigningKey, EntryFields, FsyncPolicy};

/// The environment variable that turns a run of this binary into a child process.
pub(crate) const CHILD_ENV: &str = "GX_AUDIT_LOG_CHILD";

pub(crate) const SCOPES: &[&str] = &["read:contacts", "write:calendar"];

pub(crate) fn key() -> AuditSigningKey {
    AuditSigningKey::from_bytes(&[7u8; 32])
}

pub(crate) fn verifying_key() -> gx_storage::AuditVerifyingKey {
    key().verifying_key()
}

pub(crate) fn fields(i: u64) -> EntryFields<'static> {
    let metadata: &'static str =
        Box::leak(format!("{{\"i\":{i},\"note\":\"x\"}}").into_boxed_str());
    EntryFields {
        action: "tool:read_contacts",
        agent_did: "did:grantex:agent_1",
        grant_id: "grnt_1",
        scopes: SCOPES,
        result: "success",
        metadata: Some(metadata),
    }
}

pub(crate) fn plain_fields() -> EntryFields<'static> {
    EntryFields {
        action: "tool:read_contacts",
        agent_did: "did:grantex:agent_1",
        grant_id: "grnt_1",
        scopes: SCOPES,
        result: "success",
        metadata: None,
    }
}

pub(crate) fn open(path: &Path, policy: FsyncPolicy) -> AuditLog {
    AuditLog::open(path, key(), AuditLogConfig::new(policy)).expect("open log")
}

/// Appends `n` entries with policy `None` and closes the log.
pub(crate) fn write_entries(path: &Path, n: u64) {
    let log = open(path, FsyncPolicy::None);
    for i in 0..n {
        log.append_fields(&fields(i)).expect("append");
    }
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub(crate) fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("audit.jsonl")
}

/// Starts this test binary as a child running only the test `name`, with `mode` in
/// [`CHILD_ENV`] and `args` in `GX_AUDIT_LOG_ARGS`. Its stdout is piped.
pub(crate) fn run_child(name: &str, mode: &str, args: &str) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ENV, mode)
        .env("GX_AUDIT_LOG_ARGS", args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// As [`run_child`], with the child's umask set to `umask` (octal, e.g. `"000"`) first.
pub(crate) fn run_child_with_umask(name: &str, mode: &str, args: &str, umask: &str) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ENV, mode)
        .env("GX_AUDIT_LOG_ARGS", args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// Opens `path` with a short lock timeout: for tests that expect the lock to be held.
pub(crate) fn open_impatient(path: &Path) -> Result<AuditLog, gx_storage::LogError> {
    let config =
        AuditLogConfig::new(FsyncPolicy::None).with_lock_timeout(Duration::from_millis(100));
    AuditLog::open(path, key(), config)
}

/// The mode and arguments when this process is a child, else `None`.
pub(crate) fn child_mode() -> Option<(String, String)> {
    let mode = std::env::var(CHILD_ENV).ok()?;
    let args = std::env::var("GX_AUDIT_LOG_ARGS").unwrap_or_default();
    Some((mode, args))
}
