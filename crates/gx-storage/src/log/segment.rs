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
use gx_core::PrevHash;

use super::codec::{self, LineInfo};
use super::record::MAX_ENTRY_BYTES;

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

/// How a bounded line read ended: as [`Line`], or a line longer than the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bounded {
    /// See [`Line`].
    Line(Line),
    /// [`MAX_LINE_BYTES`] bytes were read without a newline; `buf` holds them and the
    /// reader sits inside the line.
    TooLong,
}

/// The longest line a log may hold: one entry of [`MAX_ENTRY_BYTES`] and its newline.
/// Reading stops there, so a huge line costs this much memory, not its size.
pub(crate) const MAX_LINE_BYTES: usize = MAX_ENTRY_BYTES + 1;

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

    /// Reads the next line into `buf` (cleared first). A line longer than
    /// [`MAX_LINE_BYTES`] is an `InvalidData` error: no entry is that long.
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Line> {
        match self.next_bounded(buf)? {
            Bounded::Line(line) => Ok(line),
            Bounded::TooLong => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {MAX_LINE_BYTES} bytes, the most an entry can take",
                    self.line_no
                ),
            )),
        }
    }

    /// Reads the next line into `buf` (cleared first), at most [`MAX_LINE_BYTES`] of it.
    pub(crate) fn next_bounded(&mut self, buf: &mut Vec<u8>) -> io::Result<Bounded> {
        buf.clear();
        self.line_start = self.offset;
        loop {
            let available = fill(&mut self.reader)?;
            if available.is_empty() {
                if buf.is_empty() {
                    return Ok(Bounded::Line(Line::End));
                }
                self.line_no += 1;
                return Ok(Bounded::Line(Line::Torn));
            }
            let room = MAX_LINE_BYTES - buf.len();
            let window = available
                .get(..available.len().min(room))
                .unwrap_or_default();
            if let Some(i) = window.iter().position(|b| *b == b'\n') {
                buf.extend_from_slice(window.get(..i).unwrap_or_default());
                self.reader.consume(i + 1);
                self.offset += (i + 1) as u64;
                self.line_no += 1;
                return Ok(Bounded::Line(Line::Complete));
            }
            let n = window.len();
            buf.extend_from_slice(window);
            self.reader.consume(n);
            self.offset += n as u64;
            if buf.len() >= MAX_LINE_BYTES {
                self.line_no += 1;
                return Ok(Bounded::TooLong);
            }
        }
    }

    /// Reads the rest of the file without keeping it; returns how many bytes there were
    /// and whether every one of them is NUL.
    pub(crate) fn skip_rest(&mut self) -> io::Result<(u64, bool)> {
        let mut bytes = 0u64;
        let mut all_nul = true;
        loop {
            let available = fill(&mut self.reader)?;
            if available.is_empty() {
                return Ok((bytes, all_nul));
            }
            all_nul &= available.iter().all(|b| *b == 0);
            let n = available.len();
            self.reader.consume(n);
            bytes += n as u64;
            self.offset += n as u64;
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

/// The reader's buffered bytes, refilled if empty (empty at the end of the file); an
/// interrupted read is retried.
fn fill<R: Read>(reader: &mut BufReader<R>) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            Ok(_) => return Ok(reader.buffer()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What a scan of one segment found.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scan {
    pub(crate) first: Option<LineInfo>,
    pub(crate) last: Option<LineInfo>,
    /// Bytes up to and including the last complete line.
    pub(crate) valid_len: u64,
    /// Bytes after it: what a crash left (see `tail`).
    pub(crate) torn_bytes: u64,
    /// What those bytes are, when there are any.
    pub(crate) tail: Option<TailKind>,
}

/// What follows the last complete line of a file after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TailKind {
    /// The start of an entry whose write was cut short (at most one entry long).
    TornEntry,
    /// NUL bytes only: a file system that had grown the file but not yet written the data
    /// when the power went.
    NulRun,
}

/// How every line gx writes starts; a torn write is a prefix of a line, so it starts so too.
const ENTRY_START: &[u8] = b"{\"seq\":";

/// Reads every line of `file`, checking that each parses and continues the one before.
///
/// Bytes after the last newline are reported in `torn_bytes` and `tail`, not as an error,
/// when they are what a crash can leave: gx acknowledges an entry only after its newline
/// is written, so a crash leaves at most a prefix of one entry, or NUL bytes where a file
/// system extended the file before writing it. Anything else there is
/// [`LogError::CorruptLine`] (`TAIL_NOT_TORN_WRITE`, `LINE_TOO_LONG`).
pub(crate) fn scan(path: &Path, file: &File) -> Result<Scan, LogError> {
    let mut lines = Lines::new(file);
    let mut buf = Vec::new();
    let mut out = Scan::default();
    loop {
        let kind = lines
            .next_bounded(&mut buf)
            .map_err(|e| LogError::io("read", path, e))?;
        let line_no = lines.line_no();
        let corrupt = |code| LogError::CorruptLine {
            path: path.to_path_buf(),
            line: line_no,
            code,
        };
        match kind {
            Bounded::Line(Line::End) => return Ok(out),
            Bounded::Line(Line::Torn) => {
                let tail = if buf.iter().all(|b| *b == 0) {
                    TailKind::NulRun
                } else if buf.starts_with(ENTRY_START) || ENTRY_START.starts_with(&buf) {
                    TailKind::TornEntry
                } else {
                    return Err(corrupt("TAIL_NOT_TORN_WRITE"));
                };
                out.torn_bytes = buf.len() as u64;
                out.tail = Some(tail);
                return Ok(out);
            }
            Bounded::TooLong => {
                if !buf.iter().all(|b| *b == 0) {
                    return Err(corrupt("LINE_TOO_LONG"));
                }
                let (rest, rest_nul) = lines
                    .skip_rest()
                    .map_err(|e| LogError::io("read", path, e))?;
                if !rest_nul {
                    return Err(corrupt("LINE_TOO_LONG"));
                }
                out.torn_bytes = buf.len() as u64 + rest;
                out.tail = Some(TailKind::NulRun);
                return Ok(out);
            }
            Bounded::Line(Line::Complete) => {}
        }
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
