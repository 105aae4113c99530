//! The revocation marker: once the server has said a bundle is revoked, a file beside the
//! bundle remembers it, so the device refuses the grant from then on, offline and after
//! a restart.
//!
//! gx-core's verifier is sans-I/O and knows nothing of revocation, and the grant token
//! stays cryptographically valid until it expires; this marker is what makes the refusal
//! stick. It is checked fail-closed: a marker that exists but cannot be read counts as
//! revoked. It is written through the one atomic small-file helper (random temp name,
//! `O_EXCL | O_NOFOLLOW`, mode 0600, fsync of the file and the directory).

use core::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{self, PRIVATE_MODE};

/// What the marker records about a revoked bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Revoked {
    /// The revoked bundle.
    pub bundle_id: String,
    /// When the server says it was revoked (ISO-8601), if it said.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

impl Revoked {
    /// A record that `bundle_id` was revoked (at `revoked_at`, if the server said).
    pub fn new(bundle_id: impl Into<String>, revoked_at: Option<String>) -> Self {
        Self {
            bundle_id: bundle_id.into(),
            revoked_at,
        }
    }
}

/// The marker file `<bundle file>.revoked`.
#[derive(Clone, Debug)]
pub struct RevocationMarker {
    path: PathBuf,
}

/// Why a revocation check or record failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum RevocationError {
    /// The bundle was revoked: stop acting on its grant.
    Revoked(Revoked),
    /// A marker exists but cannot be read or parsed; treated as revoked (fail closed).
    Unreadable {
        /// The marker's path.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The marker could not be written.
    Write {
        /// The marker's path.
        path: PathBuf,
        /// The step of the atomic write that failed.
        op: &'static str,
        /// The I/O failure.
        source: io::Error,
    },
}

impl RevocationError {
    /// A stable code: `BUNDLE_REVOKED`, `REVOCATION_MARKER_UNREADABLE` or
    /// `REVOCATION_MARKER_WRITE`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Revoked(_) => "BUNDLE_REVOKED",
            Self::Unreadable { .. } => "REVOCATION_MARKER_UNREADABLE",
            Self::Write { .. } => "REVOCATION_MARKER_WRITE",
        }
    }
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Revoked(r) => {
                write!(f, "bundle {} was revoked", r.bundle_id)?;
                if let Some(at) = &r.revoked_at {
                    write!(f, " at {at}")?;
                }
                f.write_str("; the agent must stop using its grant")
            }
            Self::Unreadable { path, source } => write!(
                f,
                "revocation marker {} exists but cannot be read ({source}); treating the bundle as revoked",
                path.display()
            ),
            Self::Write { path, op, source } => {
                write!(
                    f,
                    "cannot write revocation marker {}: {op}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl core::error::Error for RevocationError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Unreadable { source, .. } | Self::Write { source, .. } => Some(source),
            Self::Revoked(_) => None,
        }
    }
}

impl RevocationMarker {
    /// The marker of the bundle file at `bundle_path`: `<bundle_path>.revoked`.
    pub fn beside(bundle_path: impl AsRef<Path>) -> Self {
        let mut name = bundle_path.as_ref().as_os_str().to_owned();
        name.push(".revoked");
        Self {
            path: PathBuf::from(name),
        }
    }

    /// The marker's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that `revoked.bundle_id` is revoked, durably and atomically. Recording
    /// again overwrites.
    ///
    /// # Errors
    /// [`RevocationError::Write`].
    pub fn record(&self, revoked: &Revoked) -> Result<(), RevocationError> {
        let write_err = |op, source| RevocationError::Write {
            path: self.path.clone(),
            op,
            source,
        };
        let text =
            serde_json::to_vec(revoked).map_err(|e| write_err("encode", io::Error::other(e)))?;
        atomic::write_atomic(&self.path, &text, PRIVATE_MODE).map_err(|e| write_err(e.op, e.source))
    }

    /// What the marker says, if there is one.
    ///
    /// # Errors
    /// [`RevocationError::Unreadable`] when it exists but cannot be read or parsed.
    pub fn load(&self) -> Result<Option<Revoked>, RevocationError> {
        let unreadable = |source| RevocationError::Unreadable {
            path: self.path.clone(),
            source,
        };
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| unreadable(io::Error::new(io::ErrorKind::InvalidData, e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unreadable(e)),
        }
    }

    /// Refuses `bundle_id` if the marker names it. A marker for another bundle id (the
    /// file was since replaced by a new bundle) does not block.
    ///
    /// # Errors
    /// [`RevocationError::Revoked`], or [`RevocationError::Unreadable`] (fail closed).
    pub fn ensure_not_revoked(&self, bundle_id: &str) -> Result<(), RevocationError> {
        match self.load()? {
            Some(r) if r.bundle_id == bundle_id => Err(RevocationError::Revoked(r)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_blocks_only_its_bundle_and_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = RevocationMarker::beside(dir.path().join("bundle.enc"));
        assert!(marker.path().ends_with("bundle.enc.revoked"));
        assert!(marker.ensure_not_revoked("bundle_A").is_ok());
        marker
            .record(&Revoked::new(
                "bundle_A",
                Some("2026-11-27T10:00:00.000Z".into()),
            ))
            .unwrap();
        let err = marker.ensure_not_revoked("bundle_A").unwrap_err();
        assert_eq!(err.code(), "BUNDLE_REVOKED");
        assert!(err.to_string().contains("2026-11-27T10:00:00.000Z"));
        assert!(marker.ensure_not_revoked("bundle_B").is_ok());
        fs::write(marker.path(), b"{garbage").unwrap();
        let err = marker.ensure_not_revoked("bundle_B").unwrap_err();
        assert_eq!(err.code(), "REVOCATION_MARKER_UNREADABLE");
    }

    #[test]
    fn a_planted_symlink_does_not_redirect_the_write() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let bundle = dir.path().join("b.gx");
        let marker = RevocationMarker::beside(&bundle);
        // The old writer used the fixed name `<marker>.tmp`: plant a link there and at
        // the marker itself.
        let mut fixed = marker.path().as_os_str().to_owned();
        fixed.push(".tmp");
        std::os::unix::fs::symlink(&victim, PathBuf::from(fixed)).unwrap();
        std::os::unix::fs::symlink(&victim, marker.path()).unwrap();
        marker.record(&Revoked::new("bundle_A", None)).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(marker.path()).unwrap().is_symlink());
        let mode = fs::metadata(marker.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(marker.ensure_not_revoked("bundle_A").is_err());
    }
}
