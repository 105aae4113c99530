//! Byte strings across the boundary: `gx_str` (pointer and length, not NUL-terminated)
//! and the checked conversions from C pointers to Rust slices.
//!
//! Every `unsafe` conversion from a C pointer in this crate goes through the helpers
//! here, so the rule is stated once: a non-NULL pointer with a length must point to that
//! many readable (or, for `_mut`, writable) bytes for the duration of the call. NULL with
//! length 0 is the empty string; NULL with a length is [`GxError::NullArgument`].

use core::ptr;

use crate::GxError;

/// A string or byte string: `len` bytes at `ptr`, **not** NUL-terminated.
///
/// Strings gx returns (grant fields) point into the caller's decode buffer and are
/// valid while it is unchanged; print one with `printf("%.*s", (int)s.len, s.ptr)`.
/// An absent optional field is `{NULL, 0}`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxStr {
    /// The first byte (NULL for an absent or empty string).
    pub ptr: *const u8,
    /// The number of bytes.
    pub len: usize,
}

impl GxStr {
    /// The absent string `{NULL, 0}`.
    pub const NONE: Self = Self {
        ptr: ptr::null(),
        len: 0,
    };

    /// Points at `s` (which must outlive every use of the result).
    pub(crate) const fn from_str(s: &str) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Points at `s`, or `{NULL, 0}` for `None`.
    pub(crate) fn from_opt(s: Option<&str>) -> Self {
        s.map_or(Self::NONE, Self::from_str)
    }

    /// Whether this is the absent string (NULL pointer).
    pub(crate) fn is_null(&self) -> bool {
        self.ptr.is_null()
    }

    /// The bytes.
    ///
    /// # Safety
    /// As [`bytes`].
    pub(crate) unsafe fn as_bytes<'a>(&self) -> Result<&'a [u8], GxError> {
        // SAFETY: the caller upholds `bytes`'s contract for this pointer and length.
        unsafe { bytes(self.ptr, self.len) }
    }

    /// The text, which must be UTF-8 ([`GxError::InvalidArgument`] otherwise).
    ///
    /// # Safety
    /// As [`bytes`].
    pub(crate) unsafe fn as_str<'a>(&self) -> Result<&'a str, GxError> {
        // SAFETY: as above.
        let b = unsafe { self.as_bytes() }?;
        core::str::from_utf8(b).map_err(|_| GxError::InvalidArgument)
    }
}

/// `len` bytes at `ptr`.
///
/// # Safety
/// When `ptr` is not NULL and `len` is not 0, `ptr` must point to `len` initialised bytes
/// that stay readable and unmodified for `'a` (the C call).
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], GxError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(GxError::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(GxError::InvalidArgument);
    }
    // SAFETY: non-NULL, length within isize::MAX, and readable per the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable bytes at `ptr`.
///
/// # Safety
/// When `ptr` is not NULL and `len` is not 0, `ptr` must point to `len` writable bytes
/// that nothing else reads or writes for `'a` (the C call, or as long as results borrow
/// them). They need not be initialised: they are zeroed first.
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], GxError> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(GxError::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(GxError::InvalidArgument);
    }
    // SAFETY: non-NULL and writable per the caller's contract; zeroing first makes every
    // byte initialised before a slice of them exists.
    unsafe {
        ptr.write_bytes(0, len);
        Ok(core::slice::from_raw_parts_mut(ptr, len))
    }
}

/// The pointee of a non-NULL `ptr`.
///
/// # Safety
/// When not NULL, `ptr` must point to a valid, initialised `T` that is not written
/// during `'a`.
pub(crate) unsafe fn deref<'a, T>(ptr: *const T) -> Result<&'a T, GxError> {
    // SAFETY: per the caller's contract, a non-NULL `ptr` is valid for reads during 'a.
    unsafe { ptr.as_ref() }.ok_or(GxError::NullArgument)
}

/// Copies up to `N` strings of a C array into `out`; the filled part.
///
/// # Safety
/// `ptr` (when `len` is not 0) must point to `len` valid `gx_str`, each honouring
/// [`bytes`]'s contract.
pub(crate) unsafe fn str_array<'a, 'o, const N: usize>(
    ptr: *const GxStr,
    len: usize,
    out: &'o mut [&'a str; N],
) -> Result<&'o [&'a str], GxError> {
    if len > N {
        return Err(GxError::InvalidArgument);
    }
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(GxError::NullArgument);
    }
    // SAFETY: non-NULL, `len` <= N elements per the caller's contract.
    let items = unsafe { core::slice::from_raw_parts(ptr, len) };
    for (slot, item) in out.iter_mut().zip(items) {
        // SAFETY: each element honours `bytes`'s contract.
        *slot = unsafe { item.as_str() }?;
    }
    Ok(out.get(..len).unwrap_or_default())
}
