//! Why a bundle file could not be stored or loaded, with stable codes.

use core::fmt;
use std::io;
use std::path::PathBuf;

use super::format::BundleFormat;
use super::json::BundleJsonError;
use super::key::KeyError;

/// What exactly made a file count as tampered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperReason {
    /// AES-GCM authentication failed: the key is wrong or the bytes (header included)
    /// were modified. GCM cannot tell these apart, by design.
    Authentication,
    /// The file ends before its header and tag do.
    Truncated,
    /// A version-1 gx header holds values version 1 never writes (an unknown key
    /// derivation, out-of-range Argon2id parameters, a salt on a raw-key file).
    Header,
    /// A Python-client file whose base64 does not decode.
    Encoding,
}

/// Why [`BundleFile`](super::BundleFile) could not store or load a bundle.
#[derive(Debug)]
#[non_exhaustive]
pub enum BundleError {
    /// There is no bundle file at this path.
    NotFound {
        /// The path looked at.
        path: PathBuf,
    },
    /// Reading or writing the file failed.
    Io {
        /// What was being done: `"read"`, or the step of an atomic store that failed
        /// (`"create temp file"`, `"write temp file"`, `"fsync temp file"`, `"rename"`,
        /// `"fsync directory"`).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not what was written with this key: see [`TamperReason`].
    Tampered {
        /// The format the file was read as; `None` when too short to tell.
        format: Option<BundleFormat>,
        /// What failed.
        reason: TamperReason,
    },
    /// The file is a known format in a version this build cannot read.
    UnsupportedFormat {
        /// Which family (`gx`, `TypeScript GTXB`).
        family: &'static str,
        /// The version byte found.
        version: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The key text or key parameters are unusable for this operation.
    InvalidKey(KeyError),
    /// The decrypted content is not a consent bundle.
    InvalidBundleJson(BundleJsonError),
    /// The key derivation function failed at run time (out of memory) or the system
    /// random number generator did.
    Crypto {
        /// What failed.
        what: &'static str,
    },
}

impl BundleError {
    /// A stable, machine-readable code: `NOT_FOUND`, `IO_ERROR`, `BUNDLE_TAMPERED`,
    /// `UNSUPPORTED_FORMAT`, `INVALID_KEY`, `INVALID_BUNDLE_JSON`, `CRYPTO_FAILURE`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Io { .. } => "IO_ERROR",
            Self::Tampered { .. } => "BUNDLE_TAMPERED",
            Self::UnsupportedFormat { .. } => "UNSUPPORTED_FORMAT",
            Self::InvalidKey(_) => "INVALID_KEY",
            Self::InvalidBundleJson(_) => "INVALID_BUNDLE_JSON",
            Self::Crypto { .. } => "CRYPTO_FAILURE",
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            Self::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            Self::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            }
        }
    }

    pub(crate) fn tampered(format: BundleFormat, reason: TamperReason) -> Self {
        Self::Tampered {
            format: Some(format),
            reason,
        }
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { path } => write!(f, "no consent bundle file at {}", path.display()),
            Self::Io { op, path, source } => {
                write!(f, "consent bundle file {}: {op}: {source}", path.display())
            }
            Self::Tampered { format, reason } => {
                f.write_str("consent bundle file rejected")?;
                if let Some(format) = format {
                    write!(f, " (read as {format})")?;
                }
                f.write_str(": ")?;
                f.write_str(match reason {
                    TamperReason::Authentication => {
                        "decryption failed: either the key is wrong or the file was modified \
                         (AES-GCM cannot tell a wrong key from modified bytes)"
                    }
                    TamperReason::Truncated => "the file is truncated",
                    TamperReason::Header => {
                        "the header holds values its version never writes; \
                         the file was modified"
                    }
                    TamperReason::Encoding => {
                        "the base64 text does not decode; the file was modified"
                    }
                })
            }
            Self::UnsupportedFormat {
                family,
                version,
                supported,
            } => write!(
                f,
                "consent bundle file is {family} format version {version}, \
                 this build reads version {supported}"
            ),
            Self::InvalidKey(e) => write!(f, "invalid bundle key: {e}"),
            Self::InvalidBundleJson(e) => write!(f, "decrypted consent bundle is invalid: {e}"),
            Self::Crypto { what } => write!(f, "consent bundle crypto failure: {what}"),
        }
    }
}

impl core::error::Error for BundleError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::InvalidKey(e) => Some(e),
            Self::InvalidBundleJson(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for BundleError {
    fn from(e: KeyError) -> Self {
        Self::InvalidKey(e)
    }
}

impl From<BundleJsonError> for BundleError {
    fn from(e: BundleJsonError) -> Self {
        Self::InvalidBundleJson(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_say_what_to_do() {
        let tampered = BundleError::tampered(BundleFormat::Python, TamperReason::Authentication);
        assert_eq!(tampered.code(), "BUNDLE_TAMPERED");
        let text = tampered.to_string();
        assert!(
            text.contains("cannot tell a wrong key from modified bytes"),
            "{text}"
        );
        let unsupported = BundleError::UnsupportedFormat {
            family: "gx",
            version: 7,
            supported: 1,
        };
        assert_eq!(unsupported.code(), "UNSUPPORTED_FORMAT");
        assert!(unsupported.to_string().contains("version 7"));
        let missing = BundleError::from(BundleJsonError::Missing {
            field: "offlineAuditKey.privateKey",
        });
        assert_eq!(missing.code(), "INVALID_BUNDLE_JSON");
        assert!(missing.to_string().contains("offlineAuditKey.privateKey"));
        assert_eq!(
            BundleError::from(KeyError::EmptyPassphrase).code(),
            "INVALID_KEY"
        );
        let nf = BundleError::io(
            std::path::Path::new("/x"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(nf.code(), "NOT_FOUND");
        let other = BundleError::io(
            std::path::Path::new("/x"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(other.code(), "IO_ERROR");
        assert_eq!(BundleError::Crypto { what: "rng" }.code(), "CRYPTO_FAILURE");
    }
}
