//! The C firmware example (`firmware/c/`): gx-ffi's static library built for the target
//! with the `firmware` profile, then the C sources compiled and linked against it with
//! `arm-none-eabi-gcc` (Debian's `gcc-arm-none-eabi` and `libnewlib-arm-none-eabi`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use super::{Options, Target, target_dir};
use crate::setup;

/// newlib's headers: the firmware uses `<string.h>` and `<stdint.h>` from it.
const NEWLIB_HEADER: &str = "/usr/lib/arm-none-eabi/include/string.h";

/// Installs the bare-metal C toolchain and newlib when missing.
pub(crate) fn install_toolchain(sh: &Shell) -> Result<()> {
    setup::apt_tools(sh, &[("gcc-arm-none-eabi", "arm-none-eabi-gcc")])?;
    if !Path::new(NEWLIB_HEADER).is_file() {
        setup::apt_install(sh, &["libnewlib-arm-none-eabi"])?;
    }
    Ok(())
}

/// The C compiler's flags for Cortex-M4F, the hard-float ABI of `thumbv7em-none-eabihf`.
const CPU: &[&str] = &[
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
];

/// Builds `libgx_ffi.a` for `t` and links the C firmware against it; the ELF's path.
pub(crate) fn build(sh: &Shell, t: &Target, opts: &Options) -> Result<PathBuf> {
    let root = sh.current_dir();
    let out = target_dir(&root).join("firmware-c");
    let triple = t.triple;
    println!("embedded: building gx-ffi's static library for {triple} (profile firmware)");
    // The same settings as the Rust firmware's build (`firmware/.cargo/config.toml`):
    // sha2's compact backend, no unwind tables. Its own target directory, so the host
    // builds never see these flags. `cargo rustc --crate-type staticlib`: built alone,
    // the static library exports only the C functions, so LTO internalises everything
    // else and drops what C never calls (with the `lib` crate type beside it, every
    // public Rust item stays exported, and the image grows by ~35 KiB).
    let rustflags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        triple.to_uppercase().replace('-', "_")
    );
    cmd!(
        sh,
        "cargo rustc -p gx-ffi --lib --crate-type staticlib --profile firmware --target {triple} --no-default-features --features panic-handler,arena"
    )
    .env("CARGO_TARGET_DIR", &out)
    .env(
        rustflags_var,
        "--cfg sha2_backend_soft=\"compact\" -C force-unwind-tables=no",
    )
    .run()
    .with_context(|| format!("building gx-ffi for {triple}"))?;
    let lib = out.join(triple).join("firmware/libgx_ffi.a");

    println!("embedded: linking the C firmware (firmware/c) with arm-none-eabi-gcc");
    let src = root.join("firmware/c");
    let include = root.join("crates/gx-ffi/include");
    let elf = out.join("gx-c-firmware.elf");
    let fail: &[&str] = if opts.fail_on_purpose {
        &["-DGX_FAIL_ON_PURPOSE"]
    } else {
        &[]
    };
    let (main, board, fixtures, script) = (
        src.join("main.c"),
        src.join("board.c"),
        src.join("fixtures.S"),
        src.join("link.ld"),
    );
    let asm_include = format!("-Wa,-I{}", root.display());
    cmd!(
        sh,
        "arm-none-eabi-gcc {CPU...} -std=c99 -Wall -Wextra -Werror -Os -ffunction-sections -fdata-sections
         {fail...} -I {include} {asm_include} -nostartfiles --specs=nano.specs -Wl,--gc-sections
         -T {script} {main} {board} {fixtures} {lib} -lc -o {elf}"
    )
    .run()
    .context("linking the C firmware")?;
    Ok(elf)
}
