//! Installing what a command needs: rustup targets and Debian packages, each install
//! announced before it runs.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// Adds the rustup targets of `triples` that are not installed yet.
pub(crate) fn rustup_targets(sh: &Shell, triples: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .read()
        .context("running rustup")?;
    let missing: Vec<&str> = triples
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        println!("setup: installing rustup targets {}", missing.join(" "));
        cmd!(sh, "rustup target add {missing...}").run()?;
    }
    Ok(())
}

/// Makes sure each `(package, program)` is present: installs with apt-get the packages
/// whose program is not on `PATH`.
pub(crate) fn apt_tools(sh: &Shell, tools: &[(&str, &str)]) -> Result<()> {
    let mut missing: Vec<&str> = tools
        .iter()
        .filter(|(_, program)| !on_path(program))
        .map(|(package, _)| *package)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    apt_install(sh, &missing)
}

/// Installs the Debian `packages` with apt-get (after `apt-get update`), saying so first.
pub(crate) fn apt_install(sh: &Shell, packages: &[&str]) -> Result<()> {
    let missing = packages;
    if missing.is_empty() {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!("missing tools; install the packages {}", missing.join(" "));
    }
    if !is_root() {
        bail!(
            "missing tools; as root run: apt-get install --no-install-recommends {}",
            missing.join(" ")
        );
    }
    println!("setup: installing Debian packages {}", missing.join(" "));
    cmd!(sh, "apt-get update -qq").run()?;
    cmd!(
        sh,
        "apt-get install -y --no-install-recommends {missing...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .context("apt-get install")?;
    Ok(())
}

/// Whether `program` is an executable file on `PATH`.
pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                == Some("0")
        })
}
