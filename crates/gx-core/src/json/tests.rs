//! Tests of the lexer: the grammar, both dialects, and where errors are reported.

extern crate alloc;

use alloc::vec::Vec;

use super::*;

/// A `FromSyntax` that keeps the whole error, for the walks.
#[derive(Debug, PartialEq, Eq)]
struct E(SyntaxError);

impl FromSyntax for E {
    fn from_syntax(e: SyntaxError) -> Self {
        Self(e)
    }
}

fn str_err(text: &[u8], d: Dialect) -> (usize, usize) {
    let e = string(text, 0, d).unwrap_err();
    (e.start, e.at)
}

#[test]
fn strings_report_the_escape_start_and_where_reading_stopped() {
    let s = string(br#""a\"b\u00e9" tail"#, 0, Dialect::STRICT).unwrap();
    assert_eq!(
        (s.body, s.escaped, s.start(), s.end()),
        (Span { start: 1, end: 11 }, true, 0, 12)
    );
    let plain = string(b"\"abc\"", 0, Dialect::STRICT).unwrap();
    assert!(!plain.escaped);
    for d in [Dialect::STRICT, Dialect::JS] {
        assert_eq!(str_err(b"x", d), (0, 0));
        assert_eq!(str_err(b"\"ab", d), (3, 3));
        assert_eq!(str_err(b"\"a\x01\"", d), (2, 2));
        assert_eq!(str_err(br#""a\x""#, d), (2, 3));
        assert_eq!(str_err(br#""a\"#, d), (2, 3));
        assert_eq!(str_err(br#""\u12g4""#, d), (1, 3));
    }
    // Strict: a surrogate must be half of an escaped pair.
    for (text, at) in [
        (&br#""\udc00""#[..], 7),
        (br#""\ud800""#, 7),
        (br#""\ud800x""#, 7),
        (br#""\ud800\u0041""#, 7),
        (br#""\ud800\ud800""#, 7),
        (br#""\ud800\u12""#, 7),
    ] {
        assert_eq!(str_err(text, Dialect::STRICT), (1, at), "{text:?}");
    }
    assert!(string(br#""\ud83d\ude00""#, 0, Dialect::STRICT).is_ok());
    // JS: each escape stands alone; a malformed second one is reported at its own start.
    for ok in [&br#""\udc00""#[..], br#""\ud800x""#, br#""\ud800\ud800""#] {
        assert!(string(ok, 0, Dialect::JS).is_ok());
    }
    assert_eq!(str_err(br#""\ud800\u12""#, Dialect::JS), (7, 9));
}

#[test]
fn numbers_follow_rfc_8259() {
    for (text, end) in [
        (&b"0"[..], 1),
        (b"-0", 2),
        (b"12.5e+3,", 7),
        (b"1E9]", 3),
        (b"01", 1),
        (b"-12.0", 5),
    ] {
        assert_eq!(number(text, 0), Ok(Span { start: 0, end }), "{text:?}");
    }
    for (text, at) in [
        (&b"-"[..], 1),
        (b"-x", 1),
        (b"1.", 2),
        (b"1.e3", 2),
        (b"1e", 2),
        (b"1e+", 3),
        (b"+1", 0),
    ] {
        assert_eq!(number(text, 0), Err(SyntaxError::at(at)), "{text:?}");
    }
}

#[test]
fn tokens_and_literals() {
    let d = Dialect::STRICT;
    assert_eq!(token(b"{", 0, d), Ok(Token::Object));
    assert_eq!(token(b"[", 0, d), Ok(Token::Array));
    assert_eq!(
        token(b"true", 0, d),
        Ok(Token::Lit(Literal::True, Span { start: 0, end: 4 }))
    );
    assert_eq!(
        token(b" false", 1, d),
        Ok(Token::Lit(Literal::False, Span { start: 1, end: 6 }))
    );
    assert_eq!(
        token(b"null", 0, d),
        Ok(Token::Lit(Literal::Null, Span { start: 0, end: 4 }))
    );
    assert_eq!(
        token(b"-1", 0, d),
        Ok(Token::Num(Span { start: 0, end: 2 }))
    );
    for bad in [&b"tru"[..], b"nul", b"x", b"", b"}", b"'a'"] {
        assert_eq!(token(bad, 0, d), Err(SyntaxError::at(0)), "{bad:?}");
    }
    assert_eq!(skip_ws(b" \t\r\n x", 0), 5);
    assert_eq!(skip_ws(b"\x0c", 0), 0);
    assert_eq!(hex4(b"00aF", 0), Some(0xaf));
    assert_eq!(hex4(b"00a", 0), None);
}

#[test]
fn skipping_matches_brackets_and_scans_strings() {
    let d = Dialect::JS;
    let text = br#"{"a":["]",{"b":"}"}],"c":1} rest"#;
    assert_eq!(skip_value(text, 0, d), Ok(27));
    assert_eq!(skip_value(b"[1,[2]", 0, d), Err(SyntaxError::at(6)));
    assert_eq!(
        skip_value(br#"["\q"]"#, 0, d),
        Err(SyntaxError { start: 2, at: 3 })
    );
    assert_eq!(skip_value(b"12 ", 0, d), Ok(2));
    assert_eq!(skip_value(br#""x" "#, 0, d), Ok(3));
}

#[test]
fn walks_visit_members_and_elements_in_order() {
    let text = br#"{ "a" : [1, 2 ] , "\u0062":{}}"#;
    let mut seen = Vec::new();
    let end = walk_object(text, 0, Dialect::STRICT, |key, at| {
        let end = skip_value(text, at, Dialect::STRICT).map_err(E)?;
        seen.push((key.body.of(text).to_vec(), key.escaped, at, end));
        Ok::<_, E>(end)
    });
    assert_eq!(end, Ok(text.len()));
    assert_eq!(
        seen,
        [
            (b"a".to_vec(), false, 8, 15),
            (br"\u0062".to_vec(), true, 27, 29),
        ]
    );
    let mut items = Vec::new();
    let end = walk_array(b"[ 1 ,true,[]]", 0, |at| {
        items.push(at);
        skip_value(b"[ 1 ,true,[]]", at, Dialect::JS).map_err(E)
    });
    assert_eq!((end, items), (Ok(13), Vec::from([2, 5, 10])));
    assert_eq!(
        walk_array(b"[ ]", 0, |_| Err(E(SyntaxError::at(99)))),
        Ok(3)
    );
    // Separators and the colon are checked; the callback's own error passes through.
    let skip = |t: &'static [u8]| move |at| skip_value(t, at, Dialect::JS).map_err(E);
    assert_eq!(
        walk_array(b"[1 2]", 0, skip(b"[1 2]")),
        Err(E(SyntaxError::at(3)))
    );
    assert_eq!(
        walk_array(b"[1,]", 0, skip(b"[1,]")),
        Err(E(SyntaxError::at(3)))
    );
    assert_eq!(
        walk_array(b"[1", 0, skip(b"[1")),
        Err(E(SyntaxError::at(2)))
    );
    let obj = |t: &'static [u8]| walk_object(t, 0, Dialect::JS, move |_, at| skip(t)(at));
    assert_eq!(obj(br#"{"a" 1}"#), Err(E(SyntaxError::at(5))));
    assert_eq!(obj(br#"{a:1}"#), Err(E(SyntaxError::at(1))));
    assert_eq!(obj(br#"{"a":1,}"#), Err(E(SyntaxError::at(7))));
    assert_eq!(obj(br#"{"a":1;"#), Err(E(SyntaxError::at(6))));
}
