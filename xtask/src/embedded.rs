//! `cargo xtask embedded`: builds the firmware examples — the Rust one (`firmware/`) for
//! Cortex-M4 and RV32IMAC, and the C one (`firmware/c/`, linking gx-ffi's static library)
//! for Cortex-M4 — runs them under QEMU, and prints their footprint against the targets.
//!
//! Each firmware reports through semihosting (`GX-METRIC name=value` lines, then
//! `GX-FIRMWARE PASS` or `GX-FIRMWARE FAIL <step>`) and exits QEMU with its verdict; a
//! firmware passes only when both say so. Flash is read from the ELF's section headers.

mod c_firmware;
mod elf;
mod qemu;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::setup;

/// Which firmware example.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Firmware {
    /// `firmware/`: gx-core from Rust.
    Rust,
    /// `firmware/c/`: gx-ffi's C API from C (`arm-none-eabi-gcc`).
    C,
}

/// One firmware target: how to build it and how QEMU runs it.
pub(crate) struct Target {
    /// The firmware example.
    pub(crate) firmware: Firmware,
    /// How the report names it.
    pub(crate) label: &'static str,
    /// The rustc target triple.
    pub(crate) triple: &'static str,
    /// The QEMU system emulator.
    pub(crate) qemu: &'static str,
    /// QEMU's arguments before `-kernel`.
    pub(crate) qemu_args: &'static [&'static str],
    /// Whether the footprint targets apply (they are stated for Cortex-M4).
    pub(crate) has_budget: bool,
}

/// QEMU's arguments for the Cortex-M4 board, before `-kernel`.
const MPS2_AN386: &[&str] = &[
    "-machine",
    "mps2-an386",
    "-cpu",
    "cortex-m4",
    "-semihosting-config",
    "enable=on,target=native",
    "-icount",
    "shift=0",
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    "none",
];

/// QEMU counts one nanosecond of virtual time per instruction (`-icount shift=0`): that is
/// what makes SysTick and `minstret` count instructions, and the runs deterministic.
pub(crate) const TARGETS: [Target; 3] = [
    Target {
        firmware: Firmware::Rust,
        label: "thumbv7em-none-eabihf",
        triple: "thumbv7em-none-eabihf",
        qemu: "qemu-system-arm",
        qemu_args: MPS2_AN386,
        has_budget: true,
    },
    Target {
        firmware: Firmware::C,
        label: "thumbv7em-none-eabihf (C, gx-ffi)",
        triple: "thumbv7em-none-eabihf",
        qemu: "qemu-system-arm",
        qemu_args: MPS2_AN386,
        has_budget: true,
    },
    Target {
        firmware: Firmware::Rust,
        label: "riscv32imac-unknown-none-elf",
        triple: "riscv32imac-unknown-none-elf",
        qemu: "qemu-system-riscv32",
        qemu_args: &[
            "-machine",
            "virt",
            "-bios",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
        ],
        has_budget: false,
    },
];

/// What to run.
#[derive(Default)]
pub(crate) struct Options {
    /// Build with the `fail-on-purpose` feature (a flipped signature byte).
    pub(crate) fail_on_purpose: bool,
    /// Only this target triple.
    pub(crate) only: Option<String>,
    /// Only this firmware (`--firmware rust|c`).
    pub(crate) firmware: Option<Firmware>,
    /// Fail when a footprint target is missed (by default a miss is reported only).
    pub(crate) enforce_budget: bool,
}

const USAGE: &str = "cargo xtask embedded [--fail-on-purpose] [--enforce-budget] [--target <triple>] [--firmware rust|c]";

/// Entry point of `cargo xtask embedded`.
pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let mut opts = Options::default();
    let mut args = args;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fail-on-purpose" => opts.fail_on_purpose = true,
            "--enforce-budget" => opts.enforce_budget = true,
            "--target" => opts.only = Some(args.next().context(USAGE)?),
            "--firmware" => {
                opts.firmware = Some(match args.next().as_deref() {
                    Some("rust") => Firmware::Rust,
                    Some("c") => Firmware::C,
                    _ => bail!("--firmware takes rust or c\n{USAGE}"),
                });
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    check(sh, &opts)
}

/// Builds, runs and reports every selected target; `Err` when any failed to build, run
/// or pass, or a footprint target was missed.
pub(crate) fn check(sh: &Shell, opts: &Options) -> Result<()> {
    let targets: Vec<&Target> = TARGETS
        .iter()
        .filter(|t| opts.only.as_deref().is_none_or(|o| o == t.triple))
        .filter(|t| opts.firmware.is_none_or(|f| f == t.firmware))
        .collect();
    if targets.is_empty() {
        bail!("no firmware target matches {:?}", opts.only);
    }
    setup::rustup_targets(sh, &targets.iter().map(|t| t.triple).collect::<Vec<_>>())?;
    let mut packages = vec![("binutils-arm-none-eabi", "arm-none-eabi-size")];
    for t in &targets {
        packages.push(match t.qemu {
            "qemu-system-arm" => ("qemu-system-arm", t.qemu),
            _ => ("qemu-system-misc", t.qemu),
        });
    }
    setup::apt_tools(sh, &packages)?;
    if targets.iter().any(|t| t.firmware == Firmware::C) {
        c_firmware::install_toolchain(sh)?;
    }

    let mut failures = Vec::new();
    let mut verify = Vec::new();
    for t in targets {
        match run_target(sh, t, opts) {
            Ok(r) => {
                print!("{}", r.table(t));
                failures.extend(r.verdict(t, opts.enforce_budget).err());
                verify.push((t.firmware, t.triple, r.verify_instructions()));
            }
            Err(e) => {
                eprintln!("{}: {e:#}", t.label);
                failures.push(format!("{}: {e:#}", t.label));
            }
        }
    }
    failures.extend(report::compare_c_with_rust(&verify, opts.enforce_budget).err());
    if failures.is_empty() {
        println!("embedded: every target PASSED");
        Ok(())
    } else {
        bail!("embedded check failed:\n  {}", failures.join("\n  "))
    }
}

/// Builds the firmware for `t` and runs it; the report of the run.
fn run_target(sh: &Shell, t: &Target, opts: &Options) -> Result<report::Report> {
    let elf = match t.firmware {
        Firmware::Rust => build(sh, t, opts)?,
        Firmware::C => c_firmware::build(sh, t, opts)?,
    };
    let flash = elf::flash_size(&elf)?;
    let run = qemu::run(t, &elf)?;
    Ok(report::Report::new(flash, run))
}

/// `cargo build --release` of `firmware/` for `t`; the ELF's path.
fn build(sh: &Shell, t: &Target, opts: &Options) -> Result<PathBuf> {
    let root = sh.current_dir();
    // From `firmware/`, so that cargo reads `firmware/.cargo/config.toml` (its rustflags).
    let _dir = sh.push_dir(root.join("firmware"));
    let target_dir = firmware_target_dir(&root);
    let triple = t.triple;
    let features: &[&str] = if opts.fail_on_purpose {
        &["--features", "fail-on-purpose"]
    } else {
        &[]
    };
    println!("embedded: building firmware for {triple}");
    cmd!(sh, "cargo build --release --target {triple} {features...}")
        .env("CARGO_TARGET_DIR", &target_dir)
        .run()
        .with_context(|| format!("building the firmware for {triple}"))?;
    Ok(target_dir.join(triple).join("release/gx-firmware"))
}

/// The firmware has its own workspace and lock file; its builds go to `firmware/` under
/// the caller's target directory so they never touch the host builds.
fn firmware_target_dir(root: &Path) -> PathBuf {
    target_dir(root).join("firmware")
}

/// The caller's target directory.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both tests build `gx-firmware` into the same path with different features: one
    /// at a time, or one could run the other's ELF.
    static FIRMWARE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn qemu_tests_enabled() -> bool {
        std::env::var_os("GX_XTASK_EMBEDDED_TEST").is_some_and(|v| v == "1")
    }

    fn shell() -> Shell {
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::project_root().unwrap());
        sh
    }

    /// A flipped signature byte must make the firmware report FAIL and the xtask fail.
    /// Needs QEMU and the rustup target: runs when `GX_XTASK_EMBEDDED_TEST=1` (CI sets it).
    #[test]
    fn a_failing_firmware_fails_the_xtask() {
        if !qemu_tests_enabled() {
            eprintln!("skipped: set GX_XTASK_EMBEDDED_TEST=1 to run the firmware under QEMU");
            return;
        }
        let _one_at_a_time = FIRMWARE.lock().unwrap_or_else(|e| e.into_inner());
        let opts = Options {
            fail_on_purpose: true,
            enforce_budget: false,
            only: Some("thumbv7em-none-eabihf".into()),
            firmware: None,
        };
        let err = check(&shell(), &opts).unwrap_err();
        let msg = format!("{err:#}");
        // Both the Rust and the C firmware fail, each at its valid token.
        assert_eq!(msg.matches("FAIL verify valid token").count(), 2, "{msg}");
    }

    /// The C firmware (gx-ffi's static library from C) passes on Cortex-M4.
    #[test]
    fn the_c_firmware_passes_on_cortex_m4() {
        if !qemu_tests_enabled() {
            eprintln!("skipped: set GX_XTASK_EMBEDDED_TEST=1 to run the firmware under QEMU");
            return;
        }
        let _one_at_a_time = FIRMWARE.lock().unwrap_or_else(|e| e.into_inner());
        let sh = shell();
        c_firmware::install_toolchain(&sh).unwrap();
        let t = &TARGETS[1];
        let elf = c_firmware::build(&sh, t, &Options::default()).unwrap();
        let run = qemu::run(t, &elf).unwrap();
        assert!(run.passed(), "{}", run.output);
        assert!(
            run.metric("verify_instructions")
                .is_some_and(|n| n > 100_000)
        );
    }

    /// The same firmware without the feature passes on Cortex-M4.
    #[test]
    fn the_firmware_passes_on_cortex_m4() {
        if !qemu_tests_enabled() {
            eprintln!("skipped: set GX_XTASK_EMBEDDED_TEST=1 to run the firmware under QEMU");
            return;
        }
        let _one_at_a_time = FIRMWARE.lock().unwrap_or_else(|e| e.into_inner());
        let opts = Options {
            fail_on_purpose: false,
            enforce_budget: false,
            only: Some("thumbv7em-none-eabihf".into()),
            firmware: Some(Firmware::Rust),
        };
        let elf = build(&shell(), &TARGETS[0], &opts).unwrap();
        let run = qemu::run(&TARGETS[0], &elf).unwrap();
        assert!(run.passed(), "{}", run.output);
        assert!(
            run.metric("verify_instructions")
                .is_some_and(|n| n > 100_000)
        );
    }
}
