//! `cargo xtask cross`: builds the workspace for `aarch64-unknown-linux-gnu` (a Pi or a
//! Jetson) with Debian's cross toolchain and runs test suites under `qemu-aarch64`.
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

const USAGE: &str = "cargo xtask cross [--no-build] [--test <package>]...
  default: release build of the workspace, then the gx-core and gx-storage tests";

/// Entry point of `cargo xtask cross`.
pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let mut build = true;
    let mut tests: Vec<String> = Vec::new();
    let mut args = args;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-build" => build = false,
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
    Ok(())
}

fn target_dir(sh: &Shell) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| sh.current_dir().join("target"))
}
