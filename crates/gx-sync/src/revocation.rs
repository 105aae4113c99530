//! The revocation marker: once the server has said a bundle is revoked, a file beside the
//! bundle remembers it, so the device refuses the grant from then on, offline too.
//!
//! gx-core's verifier is sans-I/O and knows nothing of revocation, and the grant token stays
//! cryptographically valid until it expires; this marker is what makes the refusal stick.
//! It is checked fail-closed: a marker that exists but cannot be read counts as revoked.

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gx_storage::{BundleError, BundleFile, BundleKey, ConsentBundle};
use serde::{Deserialize, Serialize};

use crate::SyncReport;

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
        /// The I/O failure.
        source: io::Error,
    },
    /// Loading the bundle itself failed.
    Bundle(BundleError),
}

impl RevocationError {
    /// A stable code: `BUNDLE_REVOKED`, `REVOCATION_MARKER_UNREADABLE`,
    /// `REVOCATION_MARKER_WRITE`, or the bundle error's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Revoked(_) => "BUNDLE_REVOKED",
            Self::Unreadable { .. } => "REVOCATION_MARKER_UNREADABLE",
            Self::Write { .. } => "REVOCATION_MARKER_WRITE",
            Self::Bundle(e) => e.code(),
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
            Self::Write { path, source } => {
                write!(
                    f,
                    "cannot write revocation marker {}: {source}",
                    path.display()
                )
            }
            Self::Bundle(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for RevocationError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Unreadable { source, .. } | Self::Write { source, .. } => Some(source),
            Self::Bundle(e) => Some(e),
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

    /// Records that `bundle_id` is revoked, durably (temporary file, fsync, rename, fsync
    /// of the directory). Recording again overwrites.
    ///
    /// # Errors
    /// [`RevocationError::Write`].
    pub fn record(&self, revoked: &Revoked) -> Result<(), RevocationError> {
        let write_err = |source| RevocationError::Write {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_vec(revoked).map_err(|e| write_err(io::Error::other(e)))?;
        write_atomic(&self.path, &text).map_err(write_err)
    }

    /// Records the revocation a sync run reported, if it reported one; returns whether it did.
    ///
    /// # Errors
    /// [`RevocationError::Write`].
    pub fn record_from_report(
        &self,
        bundle_id: &str,
        report: &SyncReport,
    ) -> Result<bool, RevocationError> {
        if !report.is_revoked() {
            return Ok(false);
        }
        self.record(&Revoked {
            bundle_id: bundle_id.to_owned(),
            revoked_at: report.revoked_at.clone(),
        })?;
        Ok(true)
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

    /// Refuses `bundle_id` if the marker names it. A marker for another bundle id (the file
    /// was since replaced by a new bundle) does not block.
    ///
    /// # Errors
    /// [`RevocationError::Revoked`], or [`RevocationError::Unreadable`] (fail closed).
    pub fn ensure_not_revoked(&self, bundle_id: &str) -> Result<(), RevocationError> {
        match self.load()? {
            Some(r) if r.bundle_id == bundle_id => Err(RevocationError::Revoked(r)),
            _ => Ok(()),
        }
    }

    /// Loads the bundle from `file` and refuses it if its marker says it was revoked: the
    /// loader to use before verifying a grant offline.
    ///
    /// # Errors
    /// [`RevocationError::Bundle`] when loading fails, [`RevocationError::Revoked`] /
    /// [`RevocationError::Unreadable`] as [`ensure_not_revoked`](Self::ensure_not_revoked).
    pub fn load_unrevoked(
        file: &BundleFile,
        key: &BundleKey,
    ) -> Result<ConsentBundle, RevocationError> {
        let bundle = file.load(key).map_err(RevocationError::Bundle)?;
        Self::beside(file.path()).ensure_not_revoked(bundle.bundle_id())?;
        Ok(bundle)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Directory fsync makes the rename durable; not supported everywhere, so best effort.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
            .record(&Revoked {
                bundle_id: "bundle_A".into(),
                revoked_at: Some("2026-11-27T10:00:00.000Z".into()),
            })
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
    fn records_from_a_report_only_when_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let marker = RevocationMarker::beside(dir.path().join("b"));
        let mut report = SyncReport::starting(0);
        assert!(!marker.record_from_report("bundle_X", &report).unwrap());
        assert!(marker.load().unwrap().is_none());
        report.revocation_status = crate::RevocationState::Revoked;
        assert!(marker.record_from_report("bundle_X", &report).unwrap());
        assert_eq!(marker.load().unwrap().unwrap().bundle_id, "bundle_X");
    }
}
