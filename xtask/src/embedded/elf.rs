//! Flash footprint from the ELF section headers (with the `object` crate).

use std::path::Path;

use anyhow::{Context, Result};
use object::{Object, ObjectSection, SectionFlags, SectionKind};

/// Section sizes that make up the flash image, in bytes: every allocated section with
/// contents in the file (`SHF_ALLOC`, not `NOBITS`), by kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flash {
    /// Executable sections: `.text`, the Cortex-M `.vector_table`, RISC-V `.init`.
    pub(crate) text: u64,
    /// Read-only data: `.rodata` (constants, tables, the embedded fixtures), unwind tables.
    pub(crate) rodata: u64,
    /// `.data`: initial values copied to RAM at boot (stored in flash too).
    pub(crate) data: u64,
}

const SHF_WRITE: u64 = 0x1;
const SHF_ALLOC: u64 = 0x2;
const SHF_EXECINSTR: u64 = 0x4;

impl Flash {
    /// `.text` + `.rodata` (+ `.data`'s load image): what the device must store.
    pub(crate) fn total(&self) -> u64 {
        self.text + self.rodata + self.data
    }
}

/// Reads the section headers of the ELF at `path`.
pub(crate) fn flash_size(path: &Path) -> Result<Flash> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file =
        object::File::parse(&*bytes).with_context(|| format!("parsing {}", path.display()))?;
    let mut flash = Flash::default();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags, .. } = section.flags() else {
            continue;
        };
        let sh_flags = sh_flags.0;
        if sh_flags & SHF_ALLOC == 0 || section.kind() == SectionKind::UninitializedData {
            continue;
        }
        let size = section.size();
        if sh_flags & SHF_EXECINSTR != 0 {
            flash.text += size;
        } else if sh_flags & SHF_WRITE != 0 {
            flash.data += size;
        } else {
            flash.rodata += size;
        }
    }
    Ok(flash)
}
