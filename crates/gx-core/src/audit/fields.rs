//! The fields of an entry object, read from its members: one reader for every line
//! format, the wire format ([`super::line`]) and the Python client's legacy one
//! ([`super::legacy`]).
//!
//! A [`Format`] names the members and reads the three values whose encoding differs
//! (`seq`, `prevHash`, `signature`); everything else is read here the same way for
//! both: unknown and repeated members refused, strings kept escaped in place, `scopes`
//! and `metadata` validated spans of the line, a missing field reported in field order.

use super::entry::{AuditEntry, EntryHash, EntrySignature, PrevHash};
use super::error::{EntryError, Field, MetadataError};
use super::text::{AuditStr, Metadata, Scopes};
use crate::json::{Dialect, FromSyntax, skip_value, skip_ws, walk_array, walk_object};

/// The fields, in the order of [`Format::NAMES`] and of the missing-field checks.
const ORDER: [Field; 11] = [
    Field::Seq,
    Field::Timestamp,
    Field::Action,
    Field::AgentDid,
    Field::GrantId,
    Field::Scopes,
    Field::Result,
    Field::Metadata,
    Field::PrevHash,
    Field::Hash,
    Field::Signature,
];

/// What one line format says about its fields.
pub(crate) trait Format {
    /// The member names of the three fields whose names differ between the formats:
    /// the agent's DID, the grant id and the previous hash.
    const RENAMED: [&'static str; 3];
    /// The member name of each field of [`ORDER`].
    const NAMES: [&'static str; 11] = [
        "seq",
        "timestamp",
        "action",
        Self::RENAMED[0],
        Self::RENAMED[1],
        "scopes",
        "result",
        "metadata",
        Self::RENAMED[2],
        "hash",
        "signature",
    ];
    /// Whether `"metadata": null` stands for no metadata.
    const NULL_METADATA: bool;

    /// Reads the `seq` value at `i` of `text`; returns it and the offset after it.
    fn seq(text: &str, i: usize) -> Result<(u64, usize), EntryError>;

    /// Reads a `prevHash` given as unescaped text.
    fn prev_hash(text: &str) -> Result<PrevHash, EntryError>;

    /// Reads a `signature` given as unescaped text.
    fn signature(text: &str) -> Result<EntrySignature, EntryError>;
}

/// Every field of an entry object; its shape is not checked yet.
pub(crate) struct Fields<'a> {
    pub(crate) entry: AuditEntry<'a>,
    pub(crate) hash: EntryHash,
    pub(crate) signature: EntrySignature,
}

/// Reads the entry object that is the whole of `text` in format `F`.
pub(crate) fn read<'a, F: Format>(text: &'a str) -> Result<Fields<'a>, EntryError> {
    let mut seen = 0u16;
    let mut seq = None;
    let mut strs: [Option<AuditStr<'a>>; 5] = [None; 5];
    let mut scopes = None;
    let mut metadata = None;
    let mut prev = None;
    let mut hash = None;
    let mut sig = None;
    members(text, |key, esc, koff, i| {
        let (bit, field) = F::NAMES
            .iter()
            .zip(ORDER)
            .enumerate()
            .find(|(_, (name, _))| crate::json::body_eq(key, esc, name))
            .map(|(k, (_, f))| (1u16 << k, f))
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
                let (v, end) = F::seq(text, i)?;
                seq = Some(v);
                Ok(end)
            }
            Field::Scopes => {
                let (s, end) = scopes_at(text, i)?;
                scopes = Some(s);
                Ok(end)
            }
            Field::Metadata if F::NULL_METADATA && text.get(i..i + 4) == Some("null") => Ok(i + 4),
            Field::Metadata => {
                let (m, end) = metadata_at(text, i)?;
                metadata = Some(m);
                Ok(end)
            }
            Field::PrevHash => {
                let (h, end) = hex_at(text, i, field)?;
                prev = Some(F::prev_hash(h)?);
                Ok(end)
            }
            Field::Hash => {
                let (h, end) = hex_at(text, i, field)?;
                hash = Some(EntryHash::from_hex(h)?);
                Ok(end)
            }
            _ => {
                let (h, end) = hex_at(text, i, field)?;
                sig = Some(F::signature(h)?);
                Ok(end)
            }
        }
    })?;
    let [ts, action, agent, grant, result] = strs;
    let missing = EntryError::MissingField;
    let entry = AuditEntry {
        seq: seq.ok_or(missing(Field::Seq))?,
        timestamp: ts.ok_or(missing(Field::Timestamp))?,
        action: action.ok_or(missing(Field::Action))?,
        agent_did: agent.ok_or(missing(Field::AgentDid))?,
        grant_id: grant.ok_or(missing(Field::GrantId))?,
        scopes: scopes.ok_or(missing(Field::Scopes))?,
        result: result.ok_or(missing(Field::Result))?,
        metadata,
        prev_hash: prev.ok_or(missing(Field::PrevHash))?,
    };
    Ok(Fields {
        entry,
        hash: hash.ok_or(missing(Field::Hash))?,
        signature: sig.ok_or(missing(Field::Signature))?,
    })
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

/// A string value at `i` of `text`: its body, whether it holds escapes, and its end.
pub(crate) fn string_at(
    text: &str,
    i: usize,
    field: Field,
) -> Result<(&str, bool, usize), EntryError> {
    if text.as_bytes().get(i) != Some(&b'"') {
        return Err(EntryError::WrongType(field));
    }
    let s =
        crate::json::string(text.as_bytes(), i, Dialect::JS).map_err(EntryError::from_syntax)?;
    let body = text
        .get(s.body.start..s.body.end)
        .ok_or(EntryError::Syntax { offset: i })?;
    Ok((body, s.escaped, s.end()))
}

/// A hex string value at `i`: no escapes allowed.
fn hex_at(text: &str, i: usize, field: Field) -> Result<(&str, usize), EntryError> {
    let (body, esc, end) = string_at(text, i, field)?;
    if esc {
        return Err(EntryError::BadHex(field));
    }
    Ok((body, end))
}

/// A JSON array of strings at `i`: its text, length and end.
fn scopes_at(text: &str, i: usize) -> Result<(Scopes<'_>, usize), EntryError> {
    if text.as_bytes().get(i) != Some(&b'[') {
        return Err(EntryError::WrongType(Field::Scopes));
    }
    let mut n = 0usize;
    let end = walk_array(text.as_bytes(), i, |at| {
        n += 1;
        string_at(text, at, Field::Scopes).map(|(_, _, end)| end)
    })?;
    let array = text.get(i..end).ok_or(EntryError::Syntax { offset: i })?;
    Ok((Scopes::from_json(array, n), end))
}

/// A metadata object at `i`.
fn metadata_at(text: &str, i: usize) -> Result<(Metadata<'_>, usize), EntryError> {
    if text.as_bytes().get(i) != Some(&b'{') {
        return Err(EntryError::WrongType(Field::Metadata));
    }
    let end = skip_value(text.as_bytes(), i, Dialect::JS).map_err(EntryError::from_syntax)?;
    let span = text.get(i..end).ok_or(EntryError::Syntax { offset: i })?;
    let m = Metadata::parse(span).map_err(|e| match e {
        MetadataError::Syntax { offset } => EntryError::Syntax { offset: i + offset },
        other => EntryError::Metadata(other),
    })?;
    Ok((m, end))
}

/// Walks the members of the object that is the whole of `text` (after checking it is
/// one), calling `member(key_body, key_escaped, key_offset, value_offset)`, which
/// returns the value's end.
pub(crate) fn members<'t>(
    text: &'t str,
    mut member: impl FnMut(&'t [u8], bool, usize, usize) -> Result<usize, EntryError>,
) -> Result<(), EntryError> {
    let b = text.as_bytes();
    let i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return match skip_value(b, i, Dialect::JS) {
            Ok(_) => Err(EntryError::NotAnObject),
            Err(e) => Err(EntryError::from_syntax(e)),
        };
    }
    let end = walk_object(b, i, Dialect::JS, |key, at| {
        member(key.body.of(b), key.escaped, key.start(), at)
    })?;
    if skip_ws(b, end) != b.len() {
        return Err(EntryError::TrailingData);
    }
    Ok(())
}
