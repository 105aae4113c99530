//! Atomic, private replacement of a small file: temp file, fsync, rename, fsync of the directory.
//!
//! Used for every file gx replaces whole (the consent bundle, the sync cursor, the time
//! floor). The sequence is the classic one:
//!
//! 1. create a new temp file *in the same directory* (so the rename cannot cross file
//!    systems), with `O_CREAT | O_EXCL` and the final permission bits from the start, so
//!    the secret never sits in a world-readable file, not even for a moment;
//! 2. write all bytes and `fsync` the temp file, so its contents are on disk before its
//!    name can point at them;
//! 3. `rename` it over the target: POSIX makes this atomic, a reader or a crash sees the
//!    old file or the new one, never a mix and never no file;
//! 4. `fsync` the directory, so the rename itself survives a power cut.
//!
//! A crash between 1 and 3 leaves a stray `.<name>.<pid>.<n>.tmp` beside the target; it is
//! never read, and the target is untouched. The whole content is handed in as one slice:
//! these files are small (a few KiB), and nothing is buffered beyond the caller's bytes.

use core::sync::atomic::{AtomicU64, Ordering};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Permission bits for files that hold secrets or private state: owner read/write only.
pub(crate) const PRIVATE_MODE: u32 = 0o600;

/// Distinguishes temp files of concurrent writers inside one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically and durably; a new file gets `mode` (e.g.
/// [`PRIVATE_MODE`]) from its creation on, before any byte is written.
///
/// When this returns `Ok`, the new content is on disk under `path`. When it returns
/// `Err` or the process dies inside it, `path` holds exactly its old content (or still
/// does not exist).
///
/// # Errors
/// Any I/O error of the steps above, unchanged; `InvalidInput` when `path` has no file
/// name. On an error before the rename the temp file is removed (best effort).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, tmp) = temp_path(path)?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    if let Err(e) = fill_and_rename(file, &tmp, path, bytes) {
        // The target is untouched; do not leave the half-written temp file behind.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is done; only its durability is left. A failure here is reported, but
    // the new content is already what readers see.
    sync_dir(&dir)
}

/// Steps 2 and 3: write and fsync the temp file, then rename it over the target.
fn fill_and_rename(mut file: File, tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)
}

/// Flushes a directory's entries (new names, renames) to disk.
///
/// # Errors
/// The I/O error of opening or syncing the directory.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `path` (`.` for a bare file name) and a fresh temp file name in it.
fn temp_path(path: &Path) -> io::Result<(PathBuf, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    Ok((dir, tmp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_with_private_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, b"one", PRIVATE_MODE).unwrap();
        write_atomic(&path, b"two", PRIVATE_MODE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [OsString::from("state")]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, b"old", PRIVATE_MODE).unwrap();
        // Renaming a file over a non-empty directory fails after the temp file was written.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"").unwrap();
        assert!(write_atomic(&blocked, b"new", PRIVATE_MODE).is_err());
        assert!(blocked.join("x").exists());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let strays = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(strays, 0);
    }

    #[test]
    fn a_bare_file_name_uses_the_current_directory() {
        let (dir, tmp) = temp_path(Path::new("cursor")).unwrap();
        assert_eq!(dir, Path::new("."));
        assert!(tmp.starts_with("."));
        assert!(tmp.to_string_lossy().contains(".cursor."));
        assert!(temp_path(Path::new("/")).is_err());
    }
}
