//! Semihosting text output as a `core::fmt::Write`.

use core::fmt;

/// Writes to the host's stdout through semihosting.
pub(crate) struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::arch::print(s);
        Ok(())
    }
}
