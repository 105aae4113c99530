//! Build script: puts the memory layout of the target's QEMU machine on the link path
//! and asks for the runtime crate's linker script.

use std::{env, fs, path::PathBuf};

/// QEMU `mps2-an386` (Cortex-M4): 4 MiB SSRAM1 at 0 stands in for flash, SSRAM2/3 at
/// 0x2000_0000 for RAM. 256 KiB of RAM is plenty: 32 KiB heap, the rest .bss and stack.
const MEMORY_ARM: &str = "\
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   : ORIGIN = 0x20000000, LENGTH = 256K
}
";

/// QEMU `virt` (RV32): DRAM from 0x8000_0000; code and read-only data in the first
/// 2 MiB (the stand-in for flash), data, .bss and stack in 256 KiB after it.
const MEMORY_RISCV: &str = "\
MEMORY
{
  FLASH : ORIGIN = 0x80000000, LENGTH = 2M
  RAM   : ORIGIN = 0x80200000, LENGTH = 256K
}
REGION_ALIAS(\"REGION_TEXT\", FLASH);
REGION_ALIAS(\"REGION_RODATA\", FLASH);
REGION_ALIAS(\"REGION_DATA\", RAM);
REGION_ALIAS(\"REGION_BSS\", RAM);
REGION_ALIAS(\"REGION_HEAP\", RAM);
REGION_ALIAS(\"REGION_STACK\", RAM);
/* panic = \"abort\": nothing unwinds, so unwind tables would only take flash. */
SECTIONS
{
  /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) }
}
INCLUDE link.x
";

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    if os != "none" {
        return;
    }
    let (memory, script) = match arch.as_str() {
        "arm" => (MEMORY_ARM, "-Tlink.x"),
        "riscv32" => (MEMORY_RISCV, "-Tmemory.x"),
        other => panic!("gx-firmware has no memory layout for {other}"),
    };
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg={script}");
}
