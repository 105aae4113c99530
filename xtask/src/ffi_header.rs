//! `cargo xtask ffi-header`: regenerates `crates/gx-ffi/include/gx.h` with cbindgen at a
//! pinned version (installed with `cargo install --locked` when missing: a tool, not a
//! dependency). `--check` fails when the committed header differs.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The cbindgen release the committed header was generated with.
pub(crate) const CBINDGEN_VERSION: &str = "0.29.4";

const HEADER: &str = "crates/gx-ffi/include/gx.h";
const USAGE: &str = "cargo xtask ffi-header [--check]";

/// Entry point of `cargo xtask ffi-header`.
pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let mut check = false;
    for a in args {
        match a.as_str() {
            "--check" => check = true,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    install(sh)?;
    generate(sh, check)
}

/// Whether the pinned cbindgen is the one on `PATH`.
pub(crate) fn installed(sh: &Shell) -> bool {
    cmd!(sh, "cbindgen --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|v| v.trim() == format!("cbindgen {CBINDGEN_VERSION}"))
}

/// Installs the pinned cbindgen unless it is there.
fn install(sh: &Shell) -> Result<()> {
    if installed(sh) {
        return Ok(());
    }
    println!("ffi-header: installing cbindgen {CBINDGEN_VERSION}");
    cmd!(
        sh,
        "cargo install cbindgen --version {CBINDGEN_VERSION} --locked"
    )
    .run()
    .context("installing cbindgen")
}

/// Writes the header, or with `check` compares it with the committed one.
pub(crate) fn generate(sh: &Shell, check: bool) -> Result<()> {
    let verify: &[&str] = if check { &["--verify"] } else { &[] };
    let out = cmd!(
        sh,
        "cbindgen --quiet --config crates/gx-ffi/cbindgen.toml --crate gx-ffi {verify...} --output {HEADER} crates/gx-ffi"
    )
    .ignore_status()
    .output()
    .context("running cbindgen")?;
    if !out.status.success() {
        if check {
            bail!(
                "{HEADER} is out of date with crates/gx-ffi/src; regenerate it with `cargo xtask ffi-header` and commit it\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        bail!("cbindgen failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    if !check {
        println!("ffi-header: wrote {HEADER}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed header is what the pinned cbindgen makes of the sources. Runs where
    /// that cbindgen is installed (`cargo xtask ffi-header` installs it; CI does).
    #[test]
    fn the_committed_c_header_is_current() {
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::project_root().unwrap());
        if !installed(&sh) {
            eprintln!(
                "skipped: cbindgen {CBINDGEN_VERSION} is not installed (`cargo xtask ffi-header` installs it)"
            );
            return;
        }
        if let Err(e) = generate(&sh, true) {
            panic!("{e:#}");
        }
    }
}
