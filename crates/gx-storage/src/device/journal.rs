//! The refresh journal `<bundle file>.refresh`: written, durably, before a refresh asks
//! the server for a new audit key, and removed once the new bundle is stored.
//!
//! The server switches to the new key when it answers the refresh. If the device then
//! crashes or cannot store the answer (a full disk), the old key is useless: entries it
//! signs can never be synced. The journal closes that gap: while it exists every append
//! is refused (`REFRESH_PENDING`), so no entry is ever signed with a key the server may
//! have dropped, and the next refresh simply runs again (the backlog is empty, since the
//! journal was written only after it was synced). A journal whose old key is no longer
//! the bundle's key belongs to a refresh that completed before a crash and is removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use gx_core::AuditVerifyingKey;
use serde::{Deserialize, Serialize};

use crate::atomic::{self, PRIVATE_MODE};

/// What a journal records: the refresh of which bundle, from which key, and the seq the
/// new key will sign from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pending {
    pub(crate) bundle_id: String,
    /// The replaced audit public key, 64 hex characters.
    pub(crate) old_key: String,
    pub(crate) from_seq: u64,
}

impl Pending {
    pub(crate) fn new(bundle_id: &str, old: &AuditVerifyingKey, from_seq: u64) -> Self {
        Self {
            bundle_id: bundle_id.to_owned(),
            old_key: key_hex(old),
            from_seq,
        }
    }

    /// Whether `current` is still the key this refresh replaces.
    pub(crate) fn replaces(&self, current: &AuditVerifyingKey) -> bool {
        self.old_key == key_hex(current)
    }
}

/// The journal file of one bundle file.
#[derive(Clone, Debug)]
pub(crate) struct RefreshJournal {
    path: PathBuf,
}

/// A journal operation that failed.
#[derive(Debug)]
pub(crate) struct JournalError {
    pub(crate) op: &'static str,
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl RefreshJournal {
    pub(crate) fn beside(bundle_path: &Path) -> Self {
        let mut name = bundle_path.as_os_str().to_owned();
        name.push(".refresh");
        Self {
            path: PathBuf::from(name),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, op: &'static str) -> impl FnOnce(io::Error) -> JournalError + '_ {
        move |source| JournalError {
            op,
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the journal durably (atomic replace, fsync of file and directory).
    pub(crate) fn begin(&self, pending: &Pending) -> Result<(), JournalError> {
        let text =
            serde_json::to_vec(pending).map_err(|e| self.err("encode")(io::Error::other(e)))?;
        atomic::write_atomic(&self.path, &text, PRIVATE_MODE).map_err(|e| JournalError {
            op: e.op,
            path: self.path.clone(),
            source: e.source,
        })
    }

    /// The pending refresh, if any. A journal that cannot be parsed still counts as
    /// pending (fail closed): its content is then `None` inside `Some`.
    pub(crate) fn load(&self) -> Result<Option<Option<Pending>>, JournalError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).ok())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("read")(e)),
        }
    }

    /// Whether a journal exists (cheap: one `stat`).
    pub(crate) fn exists(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok()
    }

    /// Removes the journal durably; removing an absent journal is fine.
    pub(crate) fn finish(&self) -> Result<(), JournalError> {
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.err("remove")(e)),
        }
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        atomic::sync_dir(&dir).map_err(self.err("fsync directory"))
    }
}

fn key_hex(key: &AuditVerifyingKey) -> String {
    key.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gx_core::AuditSigningKey;

    #[test]
    fn begin_load_finish() {
        let dir = tempfile::tempdir().unwrap();
        let j = RefreshJournal::beside(&dir.path().join("b.gx"));
        assert_eq!(j.load().unwrap(), None);
        let old = AuditSigningKey::from_bytes(&[1; 32]).verifying_key();
        let p = Pending::new("bundle_1", &old, 7);
        j.begin(&p).unwrap();
        assert!(j.exists());
        assert_eq!(j.load().unwrap(), Some(Some(p.clone())));
        assert!(p.replaces(&old));
        assert!(!p.replaces(&AuditSigningKey::from_bytes(&[2; 32]).verifying_key()));
        fs::write(j.path(), b"garbage").unwrap();
        assert_eq!(j.load().unwrap(), Some(None));
        j.finish().unwrap();
        j.finish().unwrap();
        assert!(!j.exists());
    }
}
