//! Opening a log's own files: never through a symbolic link, only regular files, and new
//! files created owner-only (0600) whatever the process's umask.
//!
//! `O_NOFOLLOW` guards the last component of the path: a planted `audit.jsonl ->
//! /home/me/.bashrc` is refused (`ELOOP`) instead of being opened, repaired or appended to.
//! Directories above it may be symlinks (a device's `/var` often is); whoever controls
//! those directories controls the log anyway. `O_NONBLOCK` keeps a planted FIFO from
//! blocking the open; the `fstat` after it refuses anything but a regular file, and on
//! regular files the flag has no effect.

use std::fs::File;
use std::io;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::LogError;

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read only, never created.
    Read,
    /// Read and append; created if missing.
    Append,
    /// Read and write (no append); created if missing. For the lock file.
    Write,
}

/// Why a log file could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The operating system's error (`NotFound` included).
    Io(io::Error),
    /// The path is a symbolic link.
    Symlink,
    /// The path is something other than a regular file (a directory, a FIFO, a device).
    NotRegular(&'static str),
}

impl OpenError {
    /// The log error for this failure of `op` on `path`.
    pub(crate) fn into_log(self, op: &'static str, path: &Path) -> LogError {
        match self {
            Self::Io(e) => LogError::io(op, path, e),
            Self::Symlink => LogError::NotRegularFile {
                path: path.to_path_buf(),
                found: "a symbolic link",
            },
            Self::NotRegular(found) => LogError::NotRegularFile {
                path: path.to_path_buf(),
                found,
            },
        }
    }

    /// Whether the file does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// An opened log file, and whether this open created it.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) created: bool,
}

/// Opens `path` without following a symlink at its last component. `Append` and `Write`
/// create a missing file with mode 0600 (`O_CREAT | O_EXCL`, so `created` is exact).
pub(crate) fn open(path: &Path, access: Access) -> Result<Opened, OpenError> {
    let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let flags = match access {
        Access::Read => base | OFlags::RDONLY,
        Access::Append => base | OFlags::RDWR | OFlags::APPEND,
        Access::Write => base | OFlags::RDWR,
    };
    let mode = Mode::RUSR | Mode::WUSR;
    // A file that is deleted between the two opens is created on the next round; a few
    // rounds are plenty (each needs someone deleting the file just then).
    for _ in 0..4 {
        if access != Access::Read {
            match rustix::fs::open(path, flags | OFlags::CREATE | OFlags::EXCL, mode) {
                Ok(fd) => {
                    return Ok(Opened {
                        file: checked(File::from(fd))?,
                        created: true,
                    });
                }
                Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(OpenError::Io(e.into())),
            }
        }
        match rustix::fs::open(path, flags, mode) {
            Ok(fd) => {
                return Ok(Opened {
                    file: checked(File::from(fd))?,
                    created: false,
                });
            }
            Err(rustix::io::Errno::LOOP) => return Err(OpenError::Symlink),
            Err(rustix::io::Errno::NOENT) if access != Access::Read => {}
            Err(e) => return Err(OpenError::Io(e.into())),
        }
    }
    Err(OpenError::Io(io::Error::from(io::ErrorKind::NotFound)))
}

/// Refuses an opened file that is not a regular file.
fn checked(file: File) -> Result<File, OpenError> {
    let stat = rustix::fs::fstat(&file).map_err(|e| OpenError::Io(e.into()))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => Ok(file),
        FileType::Directory => Err(OpenError::NotRegular("a directory")),
        FileType::Fifo => Err(OpenError::NotRegular("a FIFO")),
        FileType::Symlink => Err(OpenError::Symlink),
        _ => Err(OpenError::NotRegular("not a regular file")),
    }
}

/// Opens a file for reading the way the log reads its segments: no symlinks, regular
/// files only. `NotFound` stays an `io::Error` so callers can tell a missing file.
pub(crate) fn open_read(path: &Path) -> Result<File, OpenError> {
    open(path, Access::Read).map(|o| o.file)
}

/// The `(device, inode)` pair that names a file whatever path reaches it.
pub(crate) type FileId = (u64, u64);

/// The identity and link count of an open file.
pub(crate) fn identity(file: &File) -> io::Result<(FileId, u64)> {
    let stat = rustix::fs::fstat(file)?;
    #[allow(clippy::useless_conversion)]
    let id = (u64::from(stat.st_dev), u64::from(stat.st_ino));
    #[allow(clippy::useless_conversion)]
    Ok((id, u64::from(stat.st_nlink)))
}

/// The identity of whatever `path` names now, without following a final symlink; `None`
/// when nothing does.
pub(crate) fn path_identity(path: &Path) -> io::Result<Option<FileId>> {
    match rustix::fs::lstat(path) {
        #[allow(clippy::useless_conversion)]
        Ok(stat) => Ok(Some((u64::from(stat.st_dev), u64::from(stat.st_ino)))),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
