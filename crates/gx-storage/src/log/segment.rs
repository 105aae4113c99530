//! The files of a log: naming, listing, reading lines, and the scan that finds a torn tail.
//!
//! Layout, for a log at `<log>`:
//! - `<log>`: the active segment, appended to;
//! - `<log>.<first seq, 20 digits>`: rotated segments, oldest first by name;
//! - `<log>.lock`, `<log>.synced` (sync cursor), `<log>.floor` (time floor);
//! - `<log>.head`: read only, written by the TypeScript client before a rotation.
//!
//! Lines are read through a `BufReader` one at a time; memory is one line plus the
//! buffer, whatever the size of the file.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::LogError;
use gx_core::audit::PrevHash;

use super::codec::{self, LineInfo};

/// Width of the seq in a rotated segment's name, so names sort like numbers.
const SEQ_DIGITS: usize = 20;

/// The paths of one log and its side files.
#[derive(Clone, Debug)]
pub(crate) struct LogPaths {
    base: PathBuf,
}

impl LogPaths {
    pub(crate) fn new(base: &Path) -> Self {
        Self {
            base: base.to_path_buf(),
        }
    }

    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    fn with_suffix(&self, suffix: &str) -> PathBuf {
        let mut s: OsString = self.base.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    }

    pub(crate) fn lock(&self) -> PathBuf {
        self.with_suffix(".lock")
    }

    pub(crate) fn cursor(&self) -> PathBuf {
        self.with_suffix(".synced")
    }

    pub(crate) fn ts_head(&self) -> PathBuf {
        self.with_suffix(".head")
    }

    pub(crate) fn segment(&self, first_seq: u64) -> PathBuf {
        self.with_suffix(&format!(".{first_seq:0SEQ_DIGITS$}"))
    }

    /// The directory holding the log (`.` for a bare file name).
    pub(crate) fn dir(&self) -> PathBuf {
        match self.base.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The rotated segments, as `(first seq, path)`, ascending.
    pub(crate) fn list_segments(&self) -> Result<Vec<(u64, PathBuf)>, LogError> {
        let dir = self.dir();
        let Some(name) = self.base.file_name().and_then(|n| n.to_str()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(LogError::io("list", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| LogError::io("list", &dir, e))?;
            let file_name = entry.file_name();
            let Some(rest) = file_name
                .to_str()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|r| r.strip_prefix('.'))
            else {
                continue;
            };
            if rest.len() == SEQ_DIGITS
                && rest.bytes().all(|b| b.is_ascii_digit())
                && let Ok(first) = rest.parse::<u64>()
            {
                out.push((first, entry.path()));
            }
        }
        out.sort_unstable_by_key(|(first, _)| *first);
        Ok(out)
    }
}

/// How a line read ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, newline removed.
    Complete,
    /// Bytes at the end of the file with no newline after them.
    Torn,
    /// Nothing left.
    End,
}

/// Reads a file one line at a time, tracking offsets and line numbers.
pub(crate) struct Lines<R> {
    reader: BufReader<R>,
    offset: u64,
    line_start: u64,
    line_no: u64,
}

impl<R: Read> Lines<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, inner),
            offset: 0,
            line_start: 0,
            line_no: 0,
        }
    }

    /// Reads the next line into `buf` (cleared first).
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Line> {
        buf.clear();
        let n = self.reader.read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(Line::End);
        }
        self.line_start = self.offset;
        self.offset += n as u64;
        self.line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            Ok(Line::Complete)
        } else {
            Ok(Line::Torn)
        }
    }

    /// Byte offset where the line last returned starts.
    pub(crate) fn line_start(&self) -> u64 {
        self.line_start
    }

    /// 1-based number of the line last returned.
    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }
}

/// What a scan of one segment found.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scan {
    pub(crate) first: Option<LineInfo>,
    pub(crate) last: Option<LineInfo>,
    /// Bytes up to and including the last complete line.
    pub(crate) valid_len: u64,
    /// Bytes after it (a torn write).
    pub(crate) torn_bytes: u64,
}

/// Reads every line of `file`, checking that each parses and continues the one before.
///
/// A torn last line is reported in `torn_bytes`, not as an error: it is the only damage
/// a crash can cause, since gx acknowledges an entry only after its newline is written.
pub(crate) fn scan(path: &Path, file: &File) -> Result<Scan, LogError> {
    let mut lines = Lines::new(file);
    let mut buf = Vec::new();
    let mut out = Scan::default();
    loop {
        let kind = lines
            .next_line(&mut buf)
            .map_err(|e| LogError::io("read", path, e))?;
        match kind {
            Line::End => return Ok(out),
            Line::Torn => {
                out.torn_bytes = buf.len() as u64;
                return Ok(out);
            }
            Line::Complete => {}
        }
        let corrupt = |code| LogError::CorruptLine {
            path: path.to_path_buf(),
            line: lines.line_no(),
            code,
        };
        let info = codec::parse_line(&buf).map_err(corrupt)?;
        if let Some(prev) = &out.last {
            if Some(info.seq) != prev.seq.checked_add(1) {
                return Err(corrupt("SEQ_GAP"));
            }
            if info.prev != PrevHash::Entry(prev.hash) {
                return Err(corrupt("BROKEN_CHAIN"));
            }
        }
        out.first.get_or_insert(info);
        out.last = Some(info);
        out.valid_len = lines.line_start() + buf.len() as u64 + 1;
    }
}

/// Makes a rename, a new file or an unlink in the log's directory durable.
pub(crate) fn sync_dir(paths: &LogPaths) -> Result<(), LogError> {
    let dir = paths.dir();
    crate::fault::call(crate::fault::FaultPoint::LogDirSync, paths.base(), || {
        crate::atomic::sync_dir(&dir)
    })
    .map_err(|e| LogError::io("fsync directory", dir, e))
}
