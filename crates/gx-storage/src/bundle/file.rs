//! [`BundleFile`]: the consent bundle at a path, stored encrypted and replaced atomically.

use std::fs;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::codec;
use super::consent::ConsentBundle;
use super::error::BundleError;
use super::format::BundleFormat;
use super::key::BundleKey;
use crate::atomic::{self, PRIVATE_MODE};

/// The consent bundle file at one path.
///
/// [`store`](Self::store) always writes gx's format (see `docs/bundle-file.md`),
/// atomically and with mode 0600 from the file's creation: after a crash at any point
/// the path holds the old bundle or the new one. [`load`](Self::load) reads gx's format
/// and the files of the Python and TypeScript clients, telling them apart by their
/// first bytes.
///
/// ```
/// use gx_storage::{BundleFile, BundleKey, ConsentBundle};
/// # fn main() -> Result<(), Box<dyn core::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let json = include_bytes!("../../../../fixtures/peer/bundle.json");
/// let bundle = ConsentBundle::from_json(json)?;
/// let key: BundleKey = "7d6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f38".parse()?;
/// let file = BundleFile::new(dir.path().join("bundle.gx"));
/// file.store(&bundle, &key)?;
/// assert_eq!(file.load(&key)?, bundle);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleFile {
    path: PathBuf,
}

impl BundleFile {
    /// The bundle file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encrypts `bundle` with `key` and atomically replaces the file with it.
    ///
    /// A passphrase key runs Argon2id here (tens to hundreds of milliseconds); a raw key
    /// costs only the AES-GCM pass and the fsyncs. Afterwards, temp files that crashed
    /// writers left beside the file are removed.
    ///
    /// # Errors
    /// [`BundleError::InvalidKey`] should the key not suit (cannot happen for keys made
    /// by [`BundleKey`]'s constructors), [`BundleError::Crypto`] when the RNG or Argon2id
    /// fails, [`BundleError::Io`] when writing, syncing or renaming fails (the old file
    /// is then untouched).
    pub fn store(&self, bundle: &ConsentBundle, key: &BundleKey) -> Result<(), BundleError> {
        let bytes = codec::seal(bundle, key)?;
        // Not `BundleError::io`: a missing directory is an I/O error here, not "no bundle".
        atomic::write_atomic(&self.path, &bytes, PRIVATE_MODE).map_err(|e| BundleError::Io {
            op: e.op,
            path: self.path.clone(),
            source: e.source,
        })?;
        // Temp files of writers that crashed earlier are garbage now.
        atomic::remove_stale_temps(&self.path);
        Ok(())
    }

    /// Reads and decrypts the bundle, whichever client wrote it.
    ///
    /// # Errors
    /// See [`load_with_format`](Self::load_with_format).
    pub fn load(&self, key: &BundleKey) -> Result<ConsentBundle, BundleError> {
        self.load_with_format(key).map(|(bundle, _)| bundle)
    }

    /// Reads and decrypts the bundle and says which format the file was in (a caller
    /// can [`store`](Self::store) a bundle read from a peer's format to migrate it).
    ///
    /// # Errors
    /// - [`BundleError::NotFound`] when there is no file, [`BundleError::Io`] when it
    ///   cannot be read;
    /// - [`BundleError::Tampered`] when authentication fails (wrong key or modified
    ///   bytes: AES-GCM cannot tell which) or the file is truncated;
    /// - [`BundleError::UnsupportedFormat`] for a gx or GTXB file of another version;
    /// - [`BundleError::InvalidKey`] when the format needs a raw key and a passphrase
    ///   that is not 64 hex characters was given;
    /// - [`BundleError::InvalidBundleJson`] when the decrypted text is not a bundle.
    pub fn load_with_format(
        &self,
        key: &BundleKey,
    ) -> Result<(ConsentBundle, BundleFormat), BundleError> {
        // `fs::read` sizes its buffer from the file's length, so it does not reallocate
        // and the decrypted text exists only in this zeroized buffer.
        let mut bytes =
            Zeroizing::new(fs::read(&self.path).map_err(|e| BundleError::io(&self.path, e))?);
        codec::unseal(&mut bytes, key)
    }

    /// Encrypts `bundle` into the bytes [`store`](Self::store) would write, without
    /// touching the disk (for other storage, and for tests).
    ///
    /// # Errors
    /// As [`store`](Self::store), without the I/O errors.
    pub fn seal(bundle: &ConsentBundle, key: &BundleKey) -> Result<Vec<u8>, BundleError> {
        codec::seal(bundle, key)
    }

    /// Decrypts file bytes of any supported format, as [`load_with_format`](Self::load_with_format)
    /// does after reading. `bytes` is decrypted in place and holds plaintext afterwards:
    /// zeroize it when done.
    ///
    /// # Errors
    /// As [`load_with_format`](Self::load_with_format), without the I/O errors.
    pub fn unseal(
        bytes: &mut [u8],
        key: &BundleKey,
    ) -> Result<(ConsentBundle, BundleFormat), BundleError> {
        codec::unseal(bytes, key)
    }
}
