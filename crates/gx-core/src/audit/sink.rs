//! Where canonical bytes go: a hasher, a caller's buffer, an `embedded_io::Write`.
//!
//! Every writer in the audit module emits through [`Sink`], so the same code computes
//! a hash (streaming into SHA-256, no buffer at all), fills a caller's `&mut [u8]`
//! (returning [`WriteError::Full`] instead of growing) or feeds a flash region, UART or
//! file through `embedded_io::Write`.

use super::error::WriteError;

/// A byte consumer.
pub(crate) trait Sink {
    /// Takes the next bytes.
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError>;
}

impl Sink for sha2::Sha256 {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        sha2::Digest::update(self, bytes);
        Ok(())
    }
}

/// Fills a caller's buffer from the start.
pub(crate) struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let end = self.len.checked_add(bytes.len()).ok_or(WriteError::Full)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(WriteError::Full)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Counts bytes without keeping them (to size a buffer).
#[derive(Default)]
pub(crate) struct CountSink(pub(crate) usize);

impl Sink for CountSink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Forwards to an `embedded_io::Write`.
pub(crate) struct IoSink<'w, W: ?Sized>(pub(crate) &'w mut W);

impl<W: embedded_io::Write + ?Sized> Sink for IoSink<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.0
            .write_all(bytes)
            .map_err(|e| WriteError::Io(embedded_io::Error::kind(&e)))
    }
}

#[cfg(any(test, feature = "alloc"))]
impl Sink for super::alloc::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Writes `\uXXXX` with lowercase hex, as both JavaScript and Python do.
pub(crate) fn put_u_escape<S: Sink + ?Sized>(out: &mut S, unit: u32) -> Result<(), WriteError> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nib = |s: u32| {
        HEX.get(((unit >> s) & 0xf) as usize)
            .copied()
            .unwrap_or(b'0')
    };
    out.put(&[b'\\', b'u', nib(12), nib(8), nib(4), nib(0)])
}

/// Writes a code point as UTF-8; surrogate code points (which UTF-8 cannot carry)
/// become U+FFFD, as Node's UTF-8 encoder does.
pub(crate) fn put_utf8<S: Sink + ?Sized>(out: &mut S, cp: u32) -> Result<(), WriteError> {
    let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.put(c.encode_utf8(&mut buf).as_bytes())
}
