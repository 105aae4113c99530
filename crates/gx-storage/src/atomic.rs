//! Atomic, private replacement of a small file: temp file, fsync, rename, fsync of the directory.
//!
//! The one helper for every small file gx replaces whole (the consent bundle, the sync
//! cursor, the time floor, the revocation marker, the refresh journal). The sequence is
//! the classic one:
//!
//! 1. create a new temp file *in the same directory* (so the rename cannot cross file
//!    systems) under a name with 64 random bits, with `O_CREAT | O_EXCL | O_NOFOLLOW` and
//!    the final permission bits from the start: a name planted in advance (a symlink to
//!    another file, say) makes the create fail instead of redirecting the write, and the
//!    secret never sits in a world-readable file, not even for a moment;
//! 2. write all bytes and `fsync` the temp file, so its contents are on disk before its
//!    name can point at them;
//! 3. `rename` it over the target: POSIX makes this atomic, a reader or a crash sees the
//!    old file or the new one, never a mix and never no file;
//! 4. `fsync` the directory, so the rename itself survives a power cut.
//!
//! A crash between 1 and 3 leaves a stray `.<name>.<pid>.<random>.tmp` beside the target; it is
//! never read, the target is untouched, and [`remove_stale_temps`] clears it later. The whole content is handed in as one slice:
//! these files are small (a few KiB), and nothing is buffered beyond the caller's bytes.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::fault::{self, FaultPoint};

/// Permission bits for files that hold secrets or private state: owner read/write only.
pub(crate) const PRIVATE_MODE: u32 = 0o600;

/// How many fresh temp names to try when a name is taken (by a crashed writer's temp or a
/// planted file); with 64 random bits a second try is already astronomically rare.
const CREATE_ATTEMPTS: u32 = 4;

/// Which step of [`write_atomic`] failed, and how.
#[derive(Debug)]
pub(crate) struct AtomicError {
    /// `"create temp file"`, `"write temp file"`, `"fsync temp file"`, `"rename"` or
    /// `"fsync directory"`.
    pub(crate) op: &'static str,
    /// The operating system's error.
    pub(crate) source: io::Error,
}

impl AtomicError {
    fn at(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self { op, source }
    }
}

/// Replaces `path` with `bytes` atomically and durably; a new file gets `mode` (e.g.
/// [`PRIVATE_MODE`]) from its creation on, before any byte is written.
///
/// When this returns `Ok`, the new content is on disk under `path`. When it returns
/// `Err` or the process dies inside it, `path` holds exactly its old content (or still
/// does not exist), with one exception: when only the final directory `fsync` fails
/// (`op` is `"fsync directory"`), the rename is done and readers see the new content,
/// but whether the rename survives a power cut is unknown. Either way the file is
/// whole, old or new, never a mix.
///
/// # Errors
/// The step that failed and its I/O error; `InvalidInput` when `path` has no file
/// name. On an error before the rename the temp file is removed (best effort).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AtomicError> {
    let (dir, tmp, file) = create_temp(path, mode)?;
    if let Err(e) = fill_and_rename(file, &tmp, path, bytes) {
        // The target is untouched; do not leave the half-written temp file behind.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is done; only its durability is left. A failure here is reported, but
    // the new content is already what readers see.
    fault::call(FaultPoint::DirSync, path, || sync_dir(&dir))
        .map_err(AtomicError::at("fsync directory"))
}

/// Step 1: a new temp file beside `path`, never following a symlink, never reusing a name.
fn create_temp(path: &Path, mode: u32) -> Result<(PathBuf, PathBuf, File), AtomicError> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..CREATE_ATTEMPTS {
        let (dir, tmp) = temp_path(path).map_err(AtomicError::at("create temp file"))?;
        let opened = fault::call(FaultPoint::TempCreate, path, || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .mode(mode)
                .open(&tmp)
        });
        match opened {
            Ok(file) => return Ok((dir, tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(AtomicError::at("create temp file")(e)),
        }
    }
    Err(AtomicError::at("create temp file")(last))
}

/// Steps 2 and 3: write and fsync the temp file, then rename it over the target.
fn fill_and_rename(file: File, tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), AtomicError> {
    fault::write_all(FaultPoint::TempWrite, path, &file, bytes)
        .map_err(AtomicError::at("write temp file"))?;
    fault::call(FaultPoint::TempSync, path, || file.sync_all())
        .map_err(AtomicError::at("fsync temp file"))?;
    drop(file);
    fault::rename(FaultPoint::Rename, path, tmp, path).map_err(AtomicError::at("rename"))
}

/// Flushes a directory's entries (new names, renames) to disk.
///
/// # Errors
/// The I/O error of opening or syncing the directory.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes the temp files that [`write_atomic`] left beside `path` when a process died
/// inside it: those whose writer process no longer exists. Liveness is read from
/// `/proc/<pid>`; without `/proc`, nothing is removed. Temp files of this process and of
/// live processes are left alone (they may be writes in flight). Best effort: errors
/// are ignored, since a stray temp file harms nothing but disk space.
pub(crate) fn remove_stale_temps(path: &Path) {
    let (Some(name), Ok((dir, _))) = (path.file_name(), temp_path(path)) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = temp_writer(file_name.as_bytes(), name.as_bytes()) else {
            continue;
        };
        if pid != own && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The writer's pid if `file_name` is `.<target>.<pid>.<n>.tmp` (`n` decimal, as older
/// versions wrote it, or hex).
fn temp_writer(file_name: &[u8], target: &[u8]) -> Option<u32> {
    let rest = file_name.strip_prefix(b".")?.strip_prefix(target)?;
    let middle = rest.strip_prefix(b".")?.strip_suffix(b".tmp")?;
    let (pid, n) = core::str::from_utf8(middle).ok()?.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok()
}

/// 64 bits from the system RNG for a temp name.
fn random_name_bits() -> io::Result<[u8; 8]> {
    crate::bundle::random_bytes::<8>().map_err(|_| io::Error::other("the system RNG failed"))
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
    let n = u64::from_le_bytes(random_name_bits()?);
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.{n:016x}.tmp", std::process::id()));
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
    fn stale_temps_of_dead_writers_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.gx");
        write_atomic(&path, b"live", PRIVATE_MODE).unwrap();
        // No process has pid 2^32 - 1; pid 1 always runs; this process runs.
        let dead = dir.path().join(format!(".bundle.gx.{}.7.tmp", u32::MAX));
        let init = dir.path().join(".bundle.gx.1.7.tmp");
        let own = dir
            .path()
            .join(format!(".bundle.gx.{}.7.tmp", std::process::id()));
        let other_target = dir.path().join(format!(".cursor.{}.7.tmp", u32::MAX));
        let not_ours = dir.path().join(format!(".bundle.gx.{}.tmp", u32::MAX));
        for p in [&dead, &init, &own, &other_target, &not_ours] {
            fs::write(p, b"").unwrap();
        }
        remove_stale_temps(&path);
        assert!(!dead.exists());
        for kept in [&init, &own, &other_target, &not_ours, &path] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        assert_eq!(temp_writer(b".a.12.3.tmp", b"a"), Some(12));
        assert_eq!(temp_writer(b".a.12.tmp", b"a"), None);
        assert_eq!(temp_writer(b".ab.12.3.tmp", b"a"), None);
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
