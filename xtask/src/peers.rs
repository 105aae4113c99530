//! The published Grantex clients, installed into a temporary directory for the commands
//! that run them (`interop`, `bench-peers`): the Python client in a fresh venv, the
//! TypeScript client in a fresh npm project. Versions are pinned; `latest` installs the
//! newest instead.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

/// The Python client, pinned.
pub(crate) const PY_PACKAGE: &str = "grantex-gemma==0.1.2";
/// The TypeScript client, pinned.
pub(crate) const NPM_PACKAGE: &str = "@grantex/gemma@0.1.1";

/// Stops with a clear message unless `python3`, `node` and `npm` run.
pub(crate) fn check_tools(sh: &Shell, command: &str) -> Result<()> {
    for (tool, hint) in [
        ("python3", "install Python 3 with venv"),
        ("node", "install Node.js 18+"),
        ("npm", "install npm"),
    ] {
        if cmd!(sh, "{tool} --version")
            .quiet()
            .ignore_stdout()
            .run()
            .is_err()
        {
            bail!("{command} needs `{tool}`: {hint}");
        }
    }
    Ok(())
}

/// The package name to install: pinned, or the newest with `latest`.
pub(crate) fn python_package(latest: bool) -> &'static str {
    if latest { "grantex-gemma" } else { PY_PACKAGE }
}

/// The npm package spec to install: pinned, or the newest with `latest`.
pub(crate) fn npm_package(latest: bool) -> &'static str {
    if latest {
        "@grantex/gemma"
    } else {
        NPM_PACKAGE
    }
}

/// Creates a venv in `dir/venv`, installs the Python client into it and returns the
/// venv's `python`.
pub(crate) fn install_python(sh: &Shell, dir: &Path, latest: bool) -> Result<PathBuf> {
    let venv = dir.join("venv");
    cmd!(sh, "python3 -m venv {venv}").run()?;
    let python = venv.join("bin").join("python");
    let package = python_package(latest);
    cmd!(sh, "{python} -m pip install --quiet {package}")
        .ignore_stdout()
        .run()?;
    Ok(python)
}

/// Creates a venv in `dir/venv-gx`, builds and installs this workspace's Python package
/// (crates/gx-python, `grantex_gemma` on gx; a release build through maturin) into it,
/// and returns the venv's `python`.
pub(crate) fn install_python_gx(sh: &Shell, dir: &Path) -> Result<PathBuf> {
    let venv = dir.join("venv-gx");
    cmd!(sh, "python3 -m venv {venv}").run()?;
    let python = venv.join("bin").join("python");
    let package = sh.current_dir().join("crates").join("gx-python");
    eprintln!("bench-peers: building crates/gx-python (release) into a venv");
    cmd!(sh, "{python} -m pip install --quiet {package}")
        .env_remove("MATURIN_PEP517_ARGS")
        .ignore_stdout()
        .run()?;
    Ok(python)
}

/// Creates an npm project in `dir/node`, installs the TypeScript client into it and
/// returns the project directory (scripts that import the client must live there).
pub(crate) fn install_node(sh: &Shell, dir: &Path, latest: bool) -> Result<PathBuf> {
    let project = dir.join("node");
    sh.create_dir(&project)?;
    let _cd = sh.push_dir(&project);
    cmd!(sh, "npm init -y").quiet().ignore_stdout().run()?;
    let package = npm_package(latest);
    cmd!(sh, "npm install --silent --no-audit --no-fund {package}")
        .ignore_stdout()
        .run()?;
    Ok(project)
}
