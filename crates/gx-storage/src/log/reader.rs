//! [`LogEntries`]: streams a log's entries in seq order across its segments, one line in
//! memory at a time, safely beside a running writer.
//!
//! The reader stops at the last entry committed when it was created, so it never sees a
//! line the writer is still writing. It finds the file holding the next seq from the
//! segment names each time it moves on, so a rotation under its feet loses nothing.

use std::fs::File;
use std::path::PathBuf;

use super::codec;
use super::open;
use super::segment::{Bounded, Line, Lines, LogPaths};
use super::{LogError, LogRecord};

/// An iterator over the entries of a log after a given seq; made by
/// [`AuditLog::entries_after`](crate::AuditLog::entries_after).
///
/// Each item is one entry's [`LogRecord`], or an error after which the iterator ends.
pub struct LogEntries {
    paths: LogPaths,
    next: u64,
    upto: u64,
    current: Option<(PathBuf, Lines<File>)>,
    /// The file last read to its end without reaching `next`.
    exhausted: Option<PathBuf>,
    buf: Vec<u8>,
    done: bool,
}

impl LogEntries {
    pub(crate) fn new(paths: LogPaths, after: u64, upto: u64) -> Self {
        Self {
            paths,
            next: after.saturating_add(1),
            upto,
            current: None,
            exhausted: None,
            buf: Vec::new(),
            done: false,
        }
    }

    /// The file that should hold `self.next`.
    fn file_for_next(&self) -> Result<PathBuf, LogError> {
        let segments = self.paths.list_segments()?;
        if let Some((oldest, _)) = segments.first()
            && self.next < *oldest
        {
            return Err(LogError::EntriesPruned {
                requested: self.next,
                oldest: *oldest,
            });
        }
        let idx = segments.partition_point(|(first, _)| *first <= self.next);
        // Segment idx-1 starts at or before `next`. If we already read it to its end,
        // the entry is in the file after it.
        let mut pick = idx.checked_sub(1);
        if let (Some(i), Some(ex)) = (pick, &self.exhausted)
            && segments.get(i).is_some_and(|(_, p)| p == ex)
        {
            pick = Some(i + 1);
        }
        match pick.and_then(|i| segments.get(i)) {
            Some((_, path)) => Ok(path.clone()),
            None => Ok(self.paths.base().to_path_buf()),
        }
    }

    fn step(&mut self) -> Result<Option<LogRecord>, LogError> {
        let mut fruitless_opens = 0;
        while self.next <= self.upto {
            let Some((path, lines)) = &mut self.current else {
                let path = self.file_for_next()?;
                if self.exhausted.as_ref() == Some(&path) {
                    fruitless_opens += 1;
                    if fruitless_opens > 2 {
                        return Err(LogError::CorruptLine {
                            path,
                            line: 0,
                            code: "SEQ_GAP",
                        });
                    }
                }
                let file = open::open_read(&path).map_err(|e| e.into_log("open", &path))?;
                self.current = Some((path, Lines::new(file)));
                continue;
            };
            let kind = lines
                .next_bounded(&mut self.buf)
                .map_err(|e| LogError::io("read", path.as_path(), e))?;
            let corrupt = |code| LogError::CorruptLine {
                path: path.clone(),
                line: lines.line_no(),
                code,
            };
            match kind {
                Bounded::Line(Line::Complete) => {}
                Bounded::TooLong => return Err(corrupt("LINE_TOO_LONG")),
                Bounded::Line(_) => {
                    self.exhausted = self.current.take().map(|(p, _)| p);
                    continue;
                }
            }
            let info = codec::parse_line(&self.buf).map_err(corrupt)?;
            if info.seq < self.next {
                continue;
            }
            if info.seq != self.next {
                return Err(corrupt("SEQ_GAP"));
            }
            let line = String::from_utf8(core::mem::take(&mut self.buf))
                .map_err(|_| corrupt("INVALID_ENTRY"))?;
            self.next += 1;
            self.exhausted = None;
            return Ok(Some(LogRecord {
                seq: info.seq,
                hash: info.hash,
                line,
            }));
        }
        Ok(None)
    }
}

impl Iterator for LogEntries {
    type Item = Result<LogRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl core::fmt::Debug for LogEntries {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogEntries")
            .field("path", &self.paths.base())
            .field("next", &self.next)
            .field("upto", &self.upto)
            .finish_non_exhaustive()
    }
}
