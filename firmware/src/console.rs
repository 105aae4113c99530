//! Semihosting text output, one line at a time, without `core::fmt`.
//!
//! The report is a handful of `GX-METRIC name=value` lines; `core::fmt`'s machinery
//! (`Formatter`, padding, integer formatting) would add ~3 KiB of flash that the footprint
//! measures but a device would not need, so lines are assembled by hand.

/// Prints `GX-METRIC <name>=<value>`; its own frame, so the line buffer is not part of
/// the caller's stack (the stack measurement's baseline).
#[inline(never)]
pub(crate) fn metric_num(name: &str, value: u64) {
    Line::metric(name).num(value).print();
}

/// Prints `GX-METRIC <name>=<text>`.
#[inline(never)]
pub(crate) fn metric_str(name: &str, text: &str) {
    Line::metric(name).str(text).print();
}

/// Prints `GX-FIRMWARE <verdict>`.
#[inline(never)]
pub(crate) fn verdict(verdict: &str) {
    Line::new().str("GX-FIRMWARE ").str(verdict).print();
}

/// Prints `GX-FIRMWARE FAIL <step>`.
#[inline(never)]
pub(crate) fn fail(step: &str) {
    Line::new().str("GX-FIRMWARE FAIL ").str(step).print();
}

/// One line of output, assembled in a fixed buffer and printed with its newline.
/// Text beyond the buffer is cut off (the report's lines are far shorter).
pub(crate) struct Line {
    buf: [u8; 128],
    len: usize,
}

impl Line {
    /// An empty line.
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; 128],
            len: 0,
        }
    }

    /// `GX-METRIC <name>=` (the value follows).
    pub(crate) fn metric(name: &str) -> Self {
        Self::new().str("GX-METRIC ").str(name).str("=")
    }

    /// Appends text.
    pub(crate) fn str(mut self, s: &str) -> Self {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        self
    }

    /// Appends `v` in decimal.
    pub(crate) fn num(self, v: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = v;
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.ascii(digits.get(i..).unwrap_or_default())
    }

    /// Appends `v` as `0x` and eight hex digits.
    pub(crate) fn hex(self, v: u32) -> Self {
        let mut digits = *b"0x00000000";
        for (k, d) in digits.iter_mut().skip(2).enumerate() {
            let nibble = (v >> (28 - 4 * k)) & 0xf;
            *d = b"0123456789abcdef"
                .get(nibble as usize)
                .copied()
                .unwrap_or(b'?');
        }
        self.ascii(&digits)
    }

    fn ascii(self, b: &[u8]) -> Self {
        self.str(core::str::from_utf8(b).unwrap_or("?"))
    }

    /// Prints the line and a newline.
    pub(crate) fn print(self) {
        let line = self.str("\n");
        let text = line.buf.get(..line.len).unwrap_or_default();
        crate::arch::print(core::str::from_utf8(text).unwrap_or("?\n"));
    }
}
