//! The wire line: strict parsing of one entry object, and writing it back byte-exact.
//!
//! Parsing borrows the line: string fields stay escaped in place ([`AuditStr`](super::AuditStr)),
//! `scopes` and `metadata` are validated spans of it. Every shape rule of the protocol
//! is enforced and unknown or repeated fields are refused, each with its own
//! [`EntryError`] code (read by [`super::fields`], shared with the legacy format). Writing emits the TypeScript client's field order
//! (`seq,timestamp,action,agentDID,grantId,scopes,result,metadata?,prevHash,hash,signature`)
//! with `JSON.stringify`'s escaping and canonical metadata, into a caller's buffer
//! ([`WriteError::Full`] when it is too small) or any `embedded_io::Write`.

use super::entry::{EntrySignature, PrevHash, SignedAuditEntry, decimal};
use super::error::{EntryError, Field, WriteError};
use super::fields::{self, Fields, Format, parse_seq};
use super::sink::{CountSink, IoSink, Sink, SliceSink};
use crate::json::FromSyntax;

/// The wire format's member names and encodings.
struct Wire;

impl Format for Wire {
    const RENAMED: [&'static str; 3] = ["agentDID", "grantId", "prevHash"];
    const NULL_METADATA: bool = false;

    fn seq(text: &str, i: usize) -> Result<(u64, usize), EntryError> {
        if !matches!(text.as_bytes().get(i), Some(b'-' | b'0'..=b'9')) {
            return Err(EntryError::WrongType(Field::Seq));
        }
        let span = crate::json::number(text.as_bytes(), i).map_err(EntryError::from_syntax)?;
        let v = parse_seq(text.get(span.start..span.end).unwrap_or_default())?;
        Ok((v, span.end))
    }

    fn prev_hash(text: &str) -> Result<PrevHash, EntryError> {
        PrevHash::from_wire(text)
    }

    fn signature(text: &str) -> Result<EntrySignature, EntryError> {
        EntrySignature::from_hex(text)
    }
}

impl<'a> SignedAuditEntry<'a> {
    /// Parses one entry object in the wire format: a JSONL line (a trailing newline is
    /// fine) or one element of a sync request's `entries`, given as its raw JSON text.
    /// Enforces the protocol's shape rules (see [`AuditEntry::check_shape`]), refuses
    /// unknown and repeated fields, and requires lowercase hex. The hash and signature
    /// are not checked here (see [`ChainVerifier`](crate::audit::ChainVerifier)).
    ///
    /// [`AuditEntry::check_shape`]: super::AuditEntry::check_shape
    ///
    /// # Errors
    /// The first problem found, as an [`EntryError`] with its own code.
    pub fn parse_line(line: &'a [u8]) -> Result<Self, EntryError> {
        let text = core::str::from_utf8(line).map_err(|_| EntryError::NotUtf8)?;
        let Fields {
            entry,
            hash,
            signature,
        } = fields::read::<Wire>(text)?;
        entry.check_shape()?;
        Ok(Self {
            entry,
            hash,
            signature,
        })
    }

    fn put_json<S: Sink + ?Sized>(&self, out: &mut S) -> Result<(), WriteError> {
        let e = &self.entry;
        let mut n = [0u8; 20];
        out.put(b"{\"seq\":")?;
        out.put(decimal(e.seq, &mut n))?;
        for (name, s) in [
            (&b",\"timestamp\":"[..], &e.timestamp),
            (b",\"action\":", &e.action),
            (b",\"agentDID\":", &e.agent_did),
            (b",\"grantId\":", &e.grant_id),
        ] {
            out.put(name)?;
            s.put_json(out)?;
        }
        out.put(b",\"scopes\":[")?;
        for (i, s) in e.scopes.iter().enumerate() {
            if i > 0 {
                out.put(b",")?;
            }
            s.put_json(out)?;
        }
        out.put(b"],\"result\":")?;
        e.result.put_json(out)?;
        if let Some(m) = &e.metadata {
            out.put(b",\"metadata\":")?;
            m.put_canonical(out)?;
        }
        out.put(b",\"prevHash\":\"")?;
        out.put(e.prev_hash.to_wire().as_bytes())?;
        out.put(b"\",\"hash\":\"")?;
        out.put(self.hash.to_hex().as_bytes())?;
        out.put(b"\",\"signature\":\"")?;
        out.put(self.signature.to_hex().as_bytes())?;
        out.put(b"\"}")
    }

    /// Writes the entry object exactly as the TypeScript client's `JSON.stringify`
    /// does (no newline) into `buf`; returns the length.
    ///
    /// # Errors
    /// [`WriteError::Full`] when `buf` is too small (see [`Self::json_len`]);
    /// [`WriteError::Metadata`] when the metadata exceeds working memory.
    pub fn write_json(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut sink = SliceSink::new(buf);
        self.put_json(&mut sink)?;
        Ok(sink.len())
    }

    /// Writes the JSONL line (the object and `\n`) into `buf`; returns the length.
    ///
    /// # Errors
    /// As [`Self::write_json`].
    pub fn write_line(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut sink = SliceSink::new(buf);
        self.put_json(&mut sink)?;
        sink.put(b"\n")?;
        Ok(sink.len())
    }

    /// Writes the JSONL line (the object and `\n`) to an `embedded_io::Write`.
    ///
    /// # Errors
    /// [`WriteError::Io`] when the writer fails (part of the line may have been
    /// written); [`WriteError::Metadata`] when the metadata exceeds working memory.
    pub fn write_line_to<W: embedded_io::Write + ?Sized>(
        &self,
        w: &mut W,
    ) -> Result<(), WriteError> {
        let mut sink = IoSink(w);
        self.put_json(&mut sink)?;
        sink.put(b"\n")
    }

    /// The length of [`Self::write_json`]'s output (add 1 for the line's `\n`).
    ///
    /// # Errors
    /// [`WriteError::Metadata`] when the metadata exceeds working memory.
    pub fn json_len(&self) -> Result<usize, WriteError> {
        let mut c = CountSink::default();
        self.put_json(&mut c)?;
        Ok(c.0)
    }

    /// The entry object as an owned string (no newline).
    ///
    /// # Errors
    /// [`WriteError::Metadata`] when the metadata exceeds working memory.
    #[cfg(feature = "alloc")]
    pub fn to_json(&self) -> Result<super::alloc::string::String, WriteError> {
        let mut v = super::alloc::vec::Vec::with_capacity(512);
        self.put_json(&mut v)?;
        super::alloc::string::String::from_utf8(v).map_err(|_| WriteError::Full)
    }
}
