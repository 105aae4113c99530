//! The wire line: strict parsing of one entry object, and writing it back byte-exact.
//!
//! Parsing borrows the line: string fields stay escaped in place ([`AuditStr`]),
//! `scopes` and `metadata` are validated spans of it. Every shape rule of the protocol
//! is enforced and unknown or repeated fields are refused, each with its own
//! [`EntryError`] code. Writing emits the TypeScript client's field order
//! (`seq,timestamp,action,agentDID,grantId,scopes,result,metadata?,prevHash,hash,signature`)
//! with `JSON.stringify`'s escaping and canonical metadata, into a caller's buffer
//! ([`WriteError::Full`] when it is too small) or any `embedded_io::Write`.

use super::entry::{AuditEntry, EntryHash, EntrySignature, PrevHash, SignedAuditEntry, decimal};
use super::error::{EntryError, Field, WriteError};
use super::json::{SyntaxError, body_is, scan_number, scan_string, skip_value, skip_ws};
use super::sink::{CountSink, IoSink, Sink, SliceSink};
use super::text::{AuditStr, Metadata, Scopes};

const FIELDS: [(&str, Field); 11] = [
    ("seq", Field::Seq),
    ("timestamp", Field::Timestamp),
    ("action", Field::Action),
    ("agentDID", Field::AgentDid),
    ("grantId", Field::GrantId),
    ("scopes", Field::Scopes),
    ("result", Field::Result),
    ("metadata", Field::Metadata),
    ("prevHash", Field::PrevHash),
    ("hash", Field::Hash),
    ("signature", Field::Signature),
];

fn syntax(SyntaxError(offset): SyntaxError) -> EntryError {
    EntryError::Syntax { offset }
}

/// Reads a JSON number as a `seq`: any number whose value is an integer in
/// 1..=2^53-1 (`1.0` and `1e0` too, as the service reads them). Without the
/// `float-metadata` feature (no `f64` parser), only plain digits: other forms are
/// [`EntryError::BadSeq`].
pub(crate) fn parse_seq(text: &str) -> Result<u64, EntryError> {
    let b = text.as_bytes();
    let v = if !b.is_empty() && b.len() <= 16 && b.iter().all(u8::is_ascii_digit) {
        text.parse::<u64>().map_err(|_| EntryError::BadSeq)?
    } else if cfg!(not(feature = "float-metadata")) {
        return Err(EntryError::BadSeq);
    } else {
        let f: f64 = text.parse().map_err(|_| EntryError::BadSeq)?;
        if !(1.0..=super::entry::MAX_SEQ as f64).contains(&f) || (f as u64) as f64 != f {
            return Err(EntryError::BadSeq);
        }
        f as u64
    };
    if v == 0 || v > super::entry::MAX_SEQ {
        return Err(EntryError::BadSeq);
    }
    Ok(v)
}

/// A string value at `i` of `text`: its body and whether it holds escapes.
pub(crate) fn string_at(
    text: &str,
    i: usize,
    field: Field,
) -> Result<(&str, bool, usize), EntryError> {
    if text.as_bytes().get(i) != Some(&b'"') {
        return Err(EntryError::WrongType(field));
    }
    let (end, esc) = scan_string(text.as_bytes(), i).map_err(syntax)?;
    let body = text
        .get(i + 1..end - 1)
        .ok_or(EntryError::Syntax { offset: i })?;
    Ok((body, esc, end))
}

/// A hex string value at `i`.
fn hex_at(text: &str, i: usize, field: Field) -> Result<(&str, usize), EntryError> {
    let (body, esc, end) = string_at(text, i, field)?;
    if esc {
        return Err(EntryError::BadHex(field));
    }
    Ok((body, end))
}

/// A JSON array of strings at `i`: its text, length and end.
pub(crate) fn scopes_at(text: &str, i: usize) -> Result<(Scopes<'_>, usize), EntryError> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'[') {
        return Err(EntryError::WrongType(Field::Scopes));
    }
    let mut j = skip_ws(b, i + 1);
    let mut n = 0usize;
    if b.get(j) != Some(&b']') {
        loop {
            let (_, _, end) = string_at(text, j, Field::Scopes)?;
            n += 1;
            j = skip_ws(b, end);
            match b.get(j) {
                Some(b',') => j = skip_ws(b, j + 1),
                Some(b']') => break,
                _ => return Err(EntryError::Syntax { offset: j }),
            }
        }
    }
    let array = text.get(i..j + 1).ok_or(EntryError::Syntax { offset: i })?;
    Ok((Scopes::from_json(array, n), j + 1))
}

/// A metadata object at `i`.
pub(crate) fn metadata_at(text: &str, i: usize) -> Result<(Metadata<'_>, usize), EntryError> {
    if text.as_bytes().get(i) != Some(&b'{') {
        return Err(EntryError::WrongType(Field::Metadata));
    }
    let end = skip_value(text.as_bytes(), i).map_err(syntax)?;
    let span = text.get(i..end).ok_or(EntryError::Syntax { offset: i })?;
    let m = Metadata::parse(span).map_err(|e| match e {
        super::error::MetadataError::Syntax { offset } => EntryError::Syntax { offset: i + offset },
        other => EntryError::Metadata(other),
    })?;
    Ok((m, end))
}

/// Walks the members of the object starting at `i` (after checking it is one), calling
/// `member(key_body, key_escaped, key_offset, value_offset)` which returns the value's
/// end. Returns the end of the object.
pub(crate) fn members<'t>(
    text: &'t str,
    mut member: impl FnMut(&'t [u8], bool, usize, usize) -> Result<usize, EntryError>,
) -> Result<(), EntryError> {
    let b = text.as_bytes();
    let i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return match skip_value(b, i) {
            Ok(_) => Err(EntryError::NotAnObject),
            Err(e) => Err(syntax(e)),
        };
    }
    let mut j = skip_ws(b, i + 1);
    let end = if b.get(j) == Some(&b'}') {
        j + 1
    } else {
        loop {
            let (kend, esc) = scan_string(b, j).map_err(syntax)?;
            let key = b.get(j + 1..kend - 1).unwrap_or_default();
            let colon = skip_ws(b, kend);
            if b.get(colon) != Some(&b':') {
                return Err(EntryError::Syntax { offset: colon });
            }
            let vend = member(key, esc, j, skip_ws(b, colon + 1))?;
            j = skip_ws(b, vend);
            match b.get(j) {
                Some(b',') => j = skip_ws(b, j + 1),
                Some(b'}') => break j + 1,
                _ => return Err(EntryError::Syntax { offset: j }),
            }
        }
    };
    if skip_ws(b, end) != b.len() {
        return Err(EntryError::TrailingData);
    }
    Ok(())
}

impl<'a> SignedAuditEntry<'a> {
    /// Parses one entry object in the wire format: a JSONL line (a trailing newline is
    /// fine) or one element of a sync request's `entries`, given as its raw JSON text.
    /// Enforces the protocol's shape rules (see [`AuditEntry::check_shape`]), refuses
    /// unknown and repeated fields, and requires lowercase hex. The hash and signature
    /// are not checked here (see [`ChainVerifier`](crate::audit::ChainVerifier)).
    ///
    /// # Errors
    /// The first problem found, as an [`EntryError`] with its own code.
    pub fn parse_line(line: &'a [u8]) -> Result<Self, EntryError> {
        let text = core::str::from_utf8(line).map_err(|_| EntryError::NotUtf8)?;
        let mut seen = 0u16;
        let mut seq = None;
        let mut strs: [Option<AuditStr<'a>>; 5] = [None; 5];
        let mut scopes = None;
        let mut metadata = None;
        let mut prev = None;
        let mut hash = None;
        let mut sig = None;
        members(text, |key, esc, koff, i| {
            let (bit, field) = FIELDS
                .iter()
                .enumerate()
                .find(|(_, (name, _))| body_is(key, esc, name))
                .map(|(k, (_, f))| (1u16 << k, *f))
                .ok_or(EntryError::UnknownField { offset: koff })?;
            if seen & bit != 0 {
                return Err(EntryError::DuplicateField(field));
            }
            seen |= bit;
            let slot = match field {
                Field::Timestamp => Some(0),
                Field::Action => Some(1),
                Field::AgentDid => Some(2),
                Field::GrantId => Some(3),
                Field::Result => Some(4),
                _ => None,
            };
            if let Some(k) = slot {
                let (body, esc, end) = string_at(text, i, field)?;
                if let Some(s) = strs.get_mut(k) {
                    *s = Some(AuditStr::from_body(body, esc));
                }
                return Ok(end);
            }
            match field {
                Field::Seq => {
                    if !matches!(text.as_bytes().get(i), Some(b'-' | b'0'..=b'9')) {
                        return Err(EntryError::WrongType(Field::Seq));
                    }
                    let end = scan_number(text.as_bytes(), i).map_err(syntax)?;
                    seq = Some(parse_seq(text.get(i..end).unwrap_or_default())?);
                    Ok(end)
                }
                Field::Scopes => {
                    let (s, end) = scopes_at(text, i)?;
                    scopes = Some(s);
                    Ok(end)
                }
                Field::Metadata => {
                    let (m, end) = metadata_at(text, i)?;
                    metadata = Some(m);
                    Ok(end)
                }
                Field::PrevHash => {
                    let (h, end) = hex_at(text, i, field)?;
                    prev = Some(PrevHash::from_wire(h)?);
                    Ok(end)
                }
                Field::Hash => {
                    let (h, end) = hex_at(text, i, field)?;
                    hash = Some(EntryHash::from_hex(h)?);
                    Ok(end)
                }
                _ => {
                    let (h, end) = hex_at(text, i, field)?;
                    sig = Some(EntrySignature::from_hex(h)?);
                    Ok(end)
                }
            }
        })?;
        let [ts, action, agent, grant, result] = strs;
        let entry = AuditEntry {
            seq: seq.ok_or(EntryError::MissingField(Field::Seq))?,
            timestamp: ts.ok_or(EntryError::MissingField(Field::Timestamp))?,
            action: action.ok_or(EntryError::MissingField(Field::Action))?,
            agent_did: agent.ok_or(EntryError::MissingField(Field::AgentDid))?,
            grant_id: grant.ok_or(EntryError::MissingField(Field::GrantId))?,
            scopes: scopes.ok_or(EntryError::MissingField(Field::Scopes))?,
            result: result.ok_or(EntryError::MissingField(Field::Result))?,
            metadata,
            prev_hash: prev.ok_or(EntryError::MissingField(Field::PrevHash))?,
        };
        let hash = hash.ok_or(EntryError::MissingField(Field::Hash))?;
        let signature = sig.ok_or(EntryError::MissingField(Field::Signature))?;
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
