//! `cargo xtask cross`: builds the workspace for `aarch64-unknown-linux-gnu` (a Pi or a
//! Jetson) with Debian's cross toolchain and runs test suites under `qemu-aarch64`; with
//! `--gx-smoke`, also runs the aarch64 `gx` binary itself on a short scenario.
//!
//! The linker, C compiler and test runner are set through Cargo's per-target environment
//! variables for the commands run here only, so host builds never see them.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::setup;

const TRIPLE: &str = "aarch64-unknown-linux-gnu";
/// The cross C toolchain's sysroot: `qemu-aarch64 -L` finds the dynamic loader and libc here.
const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// gx-storage tests that start the test binary again as a child process (kill -9 and
/// lock tests).
/// Under `qemu-aarch64` a child cannot be an aarch64 binary unless the host registers
/// QEMU with `binfmt_misc` (containers and CI runners usually do not): the child dies at
/// once. They run in the host's `cargo test`; here they are skipped, by name.
const NEEDS_CHILD_PROCESS: [&str; 4] = [
    "audit_log::crash::kill_9_at_random_moments_loses_no_acknowledged_entry",
    "bundle::crash::killed_inside_store_leaves_old_or_new",
    "audit_log::lock::a_killed_holder_releases_the_lock",
    "audit_log::lock::a_second_process_is_refused_and_nothing_interleaves",
];

const USAGE: &str = "cargo xtask cross [--no-build] [--test <package>]... [--gx-smoke]
  default: release build of the workspace, then the gx-core and gx-storage tests
  --gx-smoke: also build gx-cli (dev profile) and run `gx` under qemu-aarch64: verify a
              token, verify a log, append to a log and verify it, refuse a tampered one";

/// Entry point of `cargo xtask cross`.
pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let mut build = true;
    let mut smoke = false;
    let mut tests: Vec<String> = Vec::new();
    let mut args = args;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-build" => build = false,
            "--gx-smoke" => smoke = true,
            "--test" => match args.next() {
                Some(p) => tests.push(p),
                None => bail!("--test needs a package\n{USAGE}"),
            },
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if tests.is_empty() {
        tests = vec!["gx-core".into(), "gx-storage".into()];
    }

    setup::rustup_targets(sh, &[TRIPLE])?;
    setup::apt_tools(
        sh,
        &[
            ("gcc-aarch64-linux-gnu", "aarch64-linux-gnu-gcc"),
            ("qemu-user", "qemu-aarch64"),
        ],
    )?;
    if !std::path::Path::new(SYSROOT)
        .join("include/stdio.h")
        .is_file()
    {
        setup::apt_install(sh, &["libc6-dev-arm64-cross"])?;
    }

    let _env = [
        sh.push_env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
            "aarch64-linux-gnu-gcc",
        ),
        sh.push_env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
            format!("qemu-aarch64 -L {SYSROOT}"),
        ),
        // For crates that compile C (aws-lc-sys, the bundled SQLite).
        sh.push_env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"),
        sh.push_env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar"),
    ];
    if build {
        println!("cross: release build of the workspace for {TRIPLE}");
        cmd!(sh, "cargo build --release --workspace --target {TRIPLE}").run()?;
        let gx = sh
            .current_dir()
            .join(target_dir(sh))
            .join(TRIPLE)
            .join("release/gx");
        if gx.is_file() {
            let kind = cmd!(sh, "file -b {gx}").read().unwrap_or_default();
            println!("cross: built {} ({kind})", gx.display());
        }
    }
    let packages: Vec<String> = tests
        .iter()
        .flat_map(|p| ["-p".to_owned(), p.clone()])
        .collect();
    println!("cross: testing {} under qemu-aarch64", tests.join(", "));
    let skips: Vec<&str> = NEEDS_CHILD_PROCESS
        .iter()
        .flat_map(|name| ["--skip", name])
        .collect();
    println!(
        "cross: skipping {} tests that start child processes (no binfmt_misc under qemu-user)",
        NEEDS_CHILD_PROCESS.len()
    );
    cmd!(
        sh,
        "cargo test --target {TRIPLE} {packages...} -- {skips...}"
    )
    .run()?;
    println!("cross: {} passed on {TRIPLE}", tests.join(", "));
    if smoke {
        gx_smoke(sh)?;
    }
    Ok(())
}

/// Builds `gx` for aarch64 (dev profile: our code unoptimised, dependencies at the
/// profile's opt-level) and runs it under `qemu-aarch64` on the peer fixtures.
fn gx_smoke(sh: &Shell) -> Result<()> {
    println!("cross: dev build of gx-cli for {TRIPLE}");
    cmd!(sh, "cargo build -p gx-cli --bin gx --target {TRIPLE}").run()?;
    let gx = target_dir(sh).join(TRIPLE).join("debug/gx");
    let root = sh.current_dir();
    let fixture = |p: &str| root.join("fixtures").join(p);
    let tmp = std::env::temp_dir().join(format!("gx-cross-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = (|| -> Result<()> {
        // The Python client's bundle (raw hex key); the copy takes the lock and time floor.
        let bundle = tmp.join("bundle.enc");
        std::fs::copy(fixture("peer/py_bundle.enc"), &bundle)?;
        let key = fixture("peer/bundle_key.hex");
        let log = tmp.join("audit.jsonl");
        let (jwks, token) = (fixture("peer/jwks.json"), fixture("peer/token.jwt"));
        let (chain, spki) = (
            fixture("audit/signed_chain.jsonl"),
            fixture("audit/test_key_spki.pem"),
        );
        let gx_run = |args: &[&std::ffi::OsStr]| -> Result<i32> {
            let out = cmd!(sh, "qemu-aarch64 -L {SYSROOT} {gx} {args...}")
                .ignore_status()
                .output()?;
            Ok(out.status.code().unwrap_or(-1))
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        let steps: [(&str, Vec<&std::ffi::OsStr>, i32); 4] = [
            (
                "token verify (peer token, at its issue time)",
                vec![
                    os("token"),
                    os("verify"),
                    os("--jwks"),
                    jwks.as_os_str(),
                    os("--token"),
                    token.as_os_str(),
                    os("--now"),
                    os("1795751706"),
                ],
                0,
            ),
            (
                "audit verify (24-entry chain signed by node)",
                vec![
                    os("audit"),
                    os("verify"),
                    chain.as_os_str(),
                    os("--public-key"),
                    spki.as_os_str(),
                ],
                0,
            ),
            (
                "audit append",
                vec![
                    os("audit"),
                    os("append"),
                    os("--bundle"),
                    bundle.as_os_str(),
                    os("--key-file"),
                    key.as_os_str(),
                    os("--log"),
                    log.as_os_str(),
                    os("--action"),
                    os("tool:read_contacts"),
                    os("--result"),
                    os("success"),
                    os("--metadata"),
                    os(r#"{"count":42}"#),
                    os("--now"),
                    os("1795751706"),
                ],
                0,
            ),
            (
                "audit verify (the appended log)",
                vec![
                    os("audit"),
                    os("verify"),
                    log.as_os_str(),
                    os("--bundle"),
                    bundle.as_os_str(),
                    os("--key-file"),
                    key.as_os_str(),
                ],
                0,
            ),
        ];
        for (what, args, want) in &steps {
            let code = gx_run(args)?;
            if code != *want {
                bail!("cross: gx {what}: exit {code}, expected {want}");
            }
            println!("cross: gx {what}: exit {code} as expected");
        }
        // The same log with its metadata changed must be refused (exit 1).
        let text = std::fs::read_to_string(&log)?;
        let tampered = text.replace(r#""count":42"#, r#""count":43"#);
        if tampered == text {
            bail!("cross: the appended entry does not carry its metadata");
        }
        std::fs::write(&log, tampered)?;
        let code = gx_run(&steps[3].1)?;
        if code != 1 {
            bail!("cross: gx audit verify of a tampered log: exit {code}, expected 1");
        }
        println!("cross: gx audit verify (tampered log): exit 1 as expected");
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result?;
    println!("cross: gx smoke scenario passed on {TRIPLE}");
    Ok(())
}

fn target_dir(sh: &Shell) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| sh.current_dir().join("target"))
}
