//! The consent bundle file (issue #4): the bundle type, its encrypted file format, and
//! reading the files the Python and TypeScript clients write.
//!
//! - [`ConsentBundle`]: the wire JSON of the protocol, with the audit private key kept
//!   in zeroizing, `Debug`-redacted memory;
//! - [`BundleKey`]: a raw 32-byte key (64 hex characters) or a passphrase (Argon2id);
//! - [`BundleFile`]: store (gx's format, atomic, 0600) and load (any client's format);
//! - [`BundleError`]: one error type with stable [`code`](BundleError::code)s.
//!
//! The byte layouts are in `docs/bundle-file.md` and in the `format` module's source.

mod codec;
mod consent;
mod crypto;
mod error;
mod file;
mod format;
mod json;
mod key;

pub use consent::{AuditPrivateKey, ConsentBundle, OfflineAuditKey};
pub(crate) use crypto::random as random_bytes;
pub use error::{BundleError, TamperReason};
pub use file::BundleFile;
pub use format::{BundleFormat, KeyDerivation};
pub use json::BundleJsonError;
pub use key::{Argon2Params, BundleKey, KeyError};
