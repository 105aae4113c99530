//! The strict line parser: every shape rule of protocol.md, one code per failure.

use gx_core::{
    AuditEntry, AuditStr, EntryError, Field, Metadata, MetadataError, PrevHash, Scopes,
    SignedAuditEntry, WriteError,
};

const H: &str = "346bfb02bc9d11c30aaf505c8771d8975a1bb636d004d340041c07c34c436a97";

fn line(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

fn base() -> Vec<(&'static str, String)> {
    vec![
        ("seq", "1".into()),
        ("timestamp", "\"2026-11-27T10:00:00.000Z\"".into()),
        ("action", "\"read\"".into()),
        ("agentDID", "\"did:grantex:ag_1\"".into()),
        ("grantId", "\"grnt_1\"".into()),
        ("scopes", "[\"read:contacts\"]".into()),
        ("result", "\"success\"".into()),
        ("metadata", "{\"count\":42}".into()),
        ("prevHash", "\"0000000000000000\"".into()),
        ("hash", format!("\"{H}\"")),
        ("signature", format!("\"{}\"", "ab".repeat(64))),
    ]
}

fn with(key: &str, value: &str) -> String {
    let mut f = base();
    f.iter_mut().find(|(k, _)| *k == key).unwrap().1 = value.to_owned();
    line(&f)
}

fn without(key: &str) -> String {
    let f: Vec<_> = base().into_iter().filter(|(k, _)| *k != key).collect();
    line(&f)
}

fn err(text: &str) -> EntryError {
    SignedAuditEntry::parse_line(text.as_bytes()).unwrap_err()
}

#[test]
fn the_base_line_parses_and_optional_metadata_may_be_absent() {
    let text = line(&base());
    let e = SignedAuditEntry::parse_line(text.as_bytes()).unwrap();
    assert_eq!(e.entry.seq, 1);
    assert_eq!(e.entry.prev_hash, PrevHash::Genesis);
    assert!(e.entry.scopes.contains("read:contacts"));
    let text = without("metadata");
    let e = SignedAuditEntry::parse_line(text.as_bytes()).unwrap();
    assert!(e.entry.metadata.is_none());
    // Line endings and surrounding whitespace are fine.
    assert!(SignedAuditEntry::parse_line(format!(" {}\r\n", line(&base())).as_bytes()).is_ok());
}

#[test]
fn every_field_is_required_except_metadata() {
    for (k, field) in [
        ("seq", Field::Seq),
        ("timestamp", Field::Timestamp),
        ("action", Field::Action),
        ("agentDID", Field::AgentDid),
        ("grantId", Field::GrantId),
        ("scopes", Field::Scopes),
        ("result", Field::Result),
        ("prevHash", Field::PrevHash),
        ("hash", Field::Hash),
        ("signature", Field::Signature),
    ] {
        assert_eq!(err(&without(k)), EntryError::MissingField(field), "{k}");
    }
}

#[test]
fn unknown_repeated_and_misspelt_fields_are_refused() {
    let mut f = base();
    f.push(("extra", "1".into()));
    assert!(matches!(err(&line(&f)), EntryError::UnknownField { .. }));
    let mut f = base();
    f.push(("seq", "1".into()));
    assert_eq!(err(&line(&f)), EntryError::DuplicateField(Field::Seq));
    let snake = line(&base()).replace("agentDID", "agent_did");
    assert!(matches!(err(&snake), EntryError::UnknownField { .. }));
    // Member names are compared decoded, as JSON.parse does.
    let escaped = line(&base()).replace("agentDID", "agentD\\u0049D");
    assert!(SignedAuditEntry::parse_line(escaped.as_bytes()).is_ok());
}

#[test]
fn seq_must_be_a_positive_safe_integer() {
    for ok in ["1", "1.0", "1e0", "9007199254740991"] {
        assert!(
            SignedAuditEntry::parse_line(with("seq", ok).as_bytes()).is_ok(),
            "{ok}"
        );
    }
    for bad in ["0", "-1", "1.5", "9007199254740992", "1e300"] {
        assert_eq!(err(&with("seq", bad)), EntryError::BadSeq, "{bad}");
    }
    assert_eq!(
        err(&with("seq", "\"1\"")),
        EntryError::WrongType(Field::Seq)
    );
}

#[test]
fn strings_are_bounded_in_utf16_units() {
    let ok_256 = format!("\"{}\"", "a".repeat(256));
    let bad_257 = format!("\"{}\"", "a".repeat(257));
    assert!(SignedAuditEntry::parse_line(with("action", &ok_256).as_bytes()).is_ok());
    assert_eq!(
        err(&with("action", &bad_257)),
        EntryError::BadLength(Field::Action)
    );
    // 128 emoji are 256 UTF-16 units (512 UTF-8 bytes): allowed; 129 are not.
    let emoji_128 = format!("\"{}\"", "😀".repeat(128));
    let emoji_129 = format!("\"{}\"", "😀".repeat(129));
    assert!(SignedAuditEntry::parse_line(with("action", &emoji_128).as_bytes()).is_ok());
    assert_eq!(
        err(&with("action", &emoji_129)),
        EntryError::BadLength(Field::Action)
    );
    for (k, field, max) in [
        ("agentDID", Field::AgentDid, 512),
        ("grantId", Field::GrantId, 128),
        ("result", Field::Result, 64),
    ] {
        let long = format!("\"{}\"", "x".repeat(max + 1));
        assert_eq!(err(&with(k, &long)), EntryError::BadLength(field), "{k}");
        assert_eq!(err(&with(k, "\"\"")), EntryError::BadLength(field), "{k}");
        assert_eq!(err(&with(k, "1")), EntryError::WrongType(field), "{k}");
    }
}

#[test]
fn scopes_are_1_to_100_strings_of_1_to_256() {
    let list = |n: usize| format!("[{}]", vec!["\"s\""; n].join(","));
    assert!(SignedAuditEntry::parse_line(with("scopes", &list(100)).as_bytes()).is_ok());
    assert_eq!(
        err(&with("scopes", &list(101))),
        EntryError::BadLength(Field::Scopes)
    );
    assert_eq!(
        err(&with("scopes", "[]")),
        EntryError::BadLength(Field::Scopes)
    );
    assert_eq!(
        err(&with("scopes", "[\"\"]")),
        EntryError::BadLength(Field::Scopes)
    );
    assert_eq!(
        err(&with("scopes", "[1]")),
        EntryError::WrongType(Field::Scopes)
    );
    assert_eq!(
        err(&with("scopes", "\"a\"")),
        EntryError::WrongType(Field::Scopes)
    );
}

#[test]
fn timestamps_hashes_and_signatures_have_their_shapes() {
    assert_eq!(
        err(&with("timestamp", "\"yesterday\"")),
        EntryError::BadTimestamp
    );
    assert_eq!(
        err(&with("timestamp", "\"2026-02-30T00:00:00Z\"")),
        EntryError::BadTimestamp
    );
    let zeros64 = format!("\"{}\"", "0".repeat(64));
    let text = with("prevHash", &zeros64);
    let e = SignedAuditEntry::parse_line(text.as_bytes()).unwrap();
    assert!(
        matches!(e.entry.prev_hash, PrevHash::Entry(_)),
        "64 zeros is a hash, not genesis"
    );
    for bad in [
        "\"000000000000000\"",
        "\"00000000000000000\"",
        &format!("\"{}\"", H.to_uppercase()),
    ] {
        assert_eq!(
            err(&with("prevHash", bad)),
            EntryError::BadHex(Field::PrevHash),
            "{bad}"
        );
    }
    assert_eq!(
        err(&with("hash", &format!("\"{}\"", &H[1..]))),
        EntryError::BadHex(Field::Hash)
    );
    assert_eq!(
        err(&with("hash", &format!("\"{}g\"", &H[1..]))),
        EntryError::BadHex(Field::Hash)
    );
    let sig127 = format!("\"{}\"", "a".repeat(127));
    assert_eq!(
        err(&with("signature", &sig127)),
        EntryError::BadHex(Field::Signature)
    );
}

#[test]
fn metadata_must_be_an_object_the_service_accepts() {
    for bad in ["null", "[]", "\"x\"", "1", "true"] {
        assert_eq!(
            err(&with("metadata", bad)),
            EntryError::WrongType(Field::Metadata),
            "{bad}"
        );
    }
    let proto = err(&with("metadata", "{\"a\":{\"__proto__\":{}}}"));
    assert_eq!(proto, EntryError::Metadata(MetadataError::ForbiddenKey));
    assert_eq!(proto.wire_code(), "BAD_REQUEST");
    let ctor = err(&with("metadata", "{\"constructor\":{\"prototype\":1}}"));
    assert_eq!(ctor, EntryError::Metadata(MetadataError::ForbiddenKey));
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    assert_eq!(
        err(&with("metadata", &deep)),
        EntryError::Metadata(MetadataError::TooDeep)
    );
}

#[test]
fn broken_json_and_trailing_data_are_refused() {
    let good = line(&base());
    assert_eq!(
        SignedAuditEntry::parse_line(&[0xff, b'{']).unwrap_err(),
        EntryError::NotUtf8
    );
    assert_eq!(err("[1]"), EntryError::NotAnObject);
    assert_eq!(err(&format!("{good} x")), EntryError::TrailingData);
    assert_eq!(err(&format!("{good}{good}")), EntryError::TrailingData);
    for cut in [1, 10, good.len() / 2, good.len() - 1] {
        assert!(
            matches!(err(&good[..cut]), EntryError::Syntax { .. }),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        err(&good.replace(":", " ")),
        EntryError::Syntax { .. }
    ));
    for e in [
        EntryError::NotUtf8,
        EntryError::BadSeq,
        EntryError::TrailingData,
    ] {
        assert_eq!(e.wire_code(), "INVALID_ENTRY");
    }
}

#[test]
fn writing_reports_a_full_buffer_and_sizes_it_exactly() {
    let text = line(&base());
    let e = SignedAuditEntry::parse_line(text.as_bytes()).unwrap();
    let n = e.json_len().unwrap();
    let mut buf = vec![0u8; n + 1];
    assert_eq!(e.write_line(&mut buf).unwrap(), n + 1);
    assert_eq!(buf[n], b'\n');
    assert_eq!(
        e.write_json(&mut buf[..n - 1]).unwrap_err(),
        WriteError::Full
    );
    assert_eq!(e.write_line(&mut buf[..n]).unwrap_err(), WriteError::Full);
    // Any embedded_io::Write: here a byte slice, which fails when it runs out.
    let mut out = vec![0u8; n + 1];
    let mut w: &mut [u8] = &mut out;
    e.write_line_to(&mut w).unwrap();
    assert_eq!(out, buf);
    let mut short = vec![0u8; 10];
    let mut w: &mut [u8] = &mut short;
    assert!(matches!(
        e.write_line_to(&mut w).unwrap_err(),
        WriteError::Io(_)
    ));
}

#[test]
fn entries_built_in_code_obey_the_same_rules() {
    let scopes = ["read:contacts"];
    let mut e = AuditEntry {
        seq: 1,
        timestamp: AuditStr::new("2026-11-27T10:00:00.000Z"),
        action: AuditStr::new("read"),
        agent_did: AuditStr::new("did:grantex:ag_1"),
        grant_id: AuditStr::new("grnt_1"),
        scopes: Scopes::new(&scopes),
        result: AuditStr::new("success"),
        metadata: Some(Metadata::parse("{\"count\":42}").unwrap()),
        prev_hash: PrevHash::Genesis,
    };
    assert!(e.check_shape().is_ok());
    e.seq = 0;
    assert_eq!(e.check_shape().unwrap_err(), EntryError::BadSeq);
    e.seq = 1;
    e.timestamp = AuditStr::new("now");
    assert_eq!(e.check_shape().unwrap_err(), EntryError::BadTimestamp);
    e.timestamp = AuditStr::new("2026-11-27T10:00:00.000Z");
    e.scopes = Scopes::new(&[]);
    assert_eq!(
        e.check_shape().unwrap_err(),
        EntryError::BadLength(Field::Scopes)
    );
}
