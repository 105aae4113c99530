//! The helper every CLI test goes through: a temp dir, the built `gx`, the fixtures.

use core::borrow::BorrowMut;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A sandbox: a fresh temporary directory to run `gx` in.
pub(crate) struct Gx {
    dir: tempfile::TempDir,
}

impl Gx {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gx` with `args`, in the sandbox, with no secrets inherited from the environment.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("gx").expect("the gx binary");
        cmd.current_dir(self.dir.path())
            .env_remove("GX_BUNDLE_KEY")
            .env_remove("GX_API_KEY")
            .env_remove("RUST_LOG")
            .args(args);
        cmd
    }

    /// Copies a fixture into the sandbox and returns its new path.
    pub(crate) fn copy_fixture(&self, rel: &str) -> PathBuf {
        let to = self.path(
            Path::new(rel)
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name"),
        );
        std::fs::copy(fixture(rel), &to).expect("copy fixture");
        to
    }
}

/// A file under the workspace's `fixtures/`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

/// A fixture path as a `&str` argument.
pub(crate) fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs `cmd`, checks its exit code, and parses its stdout as one JSON value.
pub(crate) fn json_of(mut cmd: impl BorrowMut<Command>, code: i32) -> Value {
    let out = cmd.borrow_mut().output().expect("run gx");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs `cmd`, checks its exit code, returns (stdout, stderr).
pub(crate) fn run(mut cmd: impl BorrowMut<Command>, code: i32) -> (String, String) {
    let out = cmd.borrow_mut().output().expect("run gx");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

/// The keys of a JSON object, sorted.
pub(crate) fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}
