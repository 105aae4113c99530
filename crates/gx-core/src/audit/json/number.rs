//! Number printing: ECMAScript `Number::toString` and Python's `json.dumps`.
//!
//! With the `float-metadata` feature, a JSON number is read as an IEEE-754 double with
//! core's correctly rounded parser (the same value `JSON.parse` produces), then printed
//! with `ryu-js`, which implements ECMAScript's shortest round-trip formatting. Python
//! keeps integers exact and prints floats with `repr`; both are rebuilt from the same
//! shortest digits.
//!
//! Without it (microcontrollers: the parser's tables and `ryu-js` are ~27 KiB of flash),
//! only integers with |n| <= 2^53 are accepted. Both languages print those as the plain
//! decimal the text already is (`-0` as `0`), so no float arithmetic is needed; any
//! other number is `MetadataError::UnsupportedNumber`, never a different hash.

#[cfg(not(feature = "float-metadata"))]
use crate::audit::error::MetadataError;
use crate::audit::error::WriteError;
use crate::audit::sink::Sink;

/// 2^53: every integer up to it in magnitude is exact in a double, and both JavaScript
/// and Python print it as plain decimal.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Whether `text` (a validated JSON number) is an integer with |n| <= 2^53: an optional
/// `-` and at most 16 digits, with no fraction or exponent.
pub(crate) fn is_exact_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let value = digits
        .iter()
        .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
    value <= MAX_EXACT_INTEGER
}

/// Writes an exact integer (see [`is_exact_integer`]) as both languages print it.
fn write_exact_integer<S: Sink + ?Sized>(text: &[u8], out: &mut S) -> Result<(), WriteError> {
    if text == b"-0" {
        out.put(b"0")
    } else {
        out.put(text)
    }
}

/// Writes a validated JSON number text as `JSON.stringify(JSON.parse(text))` does;
/// `at` is its byte offset, for the error of a build without `float-metadata`.
pub(crate) fn write_js<S: Sink + ?Sized>(
    text: &[u8],
    at: usize,
    out: &mut S,
) -> Result<(), WriteError> {
    // An integer within 2^53 is exact in a double and prints as itself, except `-0`,
    // which prints as `0`: the whole story without `float-metadata`, a fast path with it.
    if is_exact_integer(text) {
        return write_exact_integer(text, out);
    }
    #[cfg(feature = "float-metadata")]
    {
        let _ = at;
        write_js_float(text, out)
    }
    #[cfg(not(feature = "float-metadata"))]
    Err(WriteError::Metadata(MetadataError::UnsupportedNumber {
        offset: at,
    }))
}

/// Writes a validated JSON number text as Python's `json.dumps(json.loads(text))` does:
/// integers exactly as written (`-0` as `0`), floats with `repr`; `at` is its byte
/// offset, for the error of a build without `float-metadata` (which has the exact
/// integers only, and prints them as JavaScript does).
pub(crate) fn write_py<S: Sink + ?Sized>(
    text: &[u8],
    at: usize,
    out: &mut S,
) -> Result<(), WriteError> {
    #[cfg(feature = "float-metadata")]
    {
        let _ = at;
        write_py_float(text, out)
    }
    #[cfg(not(feature = "float-metadata"))]
    write_js(text, at, out)
}

/// [`write_js`] of a number that is not an exact integer.
#[cfg(feature = "float-metadata")]
fn write_js_float<S: Sink + ?Sized>(text: &[u8], out: &mut S) -> Result<(), WriteError> {
    let v = parse(text);
    if !v.is_finite() {
        // `JSON.parse("1e400")` is Infinity, which `JSON.stringify` writes as null.
        return out.put(b"null");
    }
    if v == 0.0 {
        return out.put(b"0");
    }
    let mut buf = ryu_js::Buffer::new();
    out.put(buf.format_finite(v).as_bytes())
}

/// [`write_py`] with `float-metadata`.
#[cfg(feature = "float-metadata")]
fn write_py_float<S: Sink + ?Sized>(text: &[u8], out: &mut S) -> Result<(), WriteError> {
    if !text.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        // Python's integers are exact at any size: printed as written, `-0` as `0`.
        return write_exact_integer(text, out);
    }
    let v = parse(text);
    if v.is_nan() {
        return out.put(b"NaN");
    }
    if v.is_infinite() {
        return out.put(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
    }
    if v == 0.0 {
        return out.put(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
    }
    if v < 0.0 {
        out.put(b"-")?;
    }
    let mut buf = ryu_js::Buffer::new();
    let (digits, n, decpt) = shortest_digits(buf.format_finite(v.abs()).as_bytes());
    let digits = digits.get(..n).unwrap_or_default();
    // CPython's float_repr_style 'short': exponent form when decpt <= -4 or > 16.
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            out.put(b"0.")?;
            for _ in 0..-decpt {
                out.put(b"0")?;
            }
            out.put(digits)
        } else {
            let d = decpt as usize;
            if d >= n {
                out.put(digits)?;
                for _ in n..d {
                    out.put(b"0")?;
                }
                out.put(b".0")
            } else {
                out.put(digits.get(..d).unwrap_or_default())?;
                out.put(b".")?;
                out.put(digits.get(d..).unwrap_or_default())
            }
        }
    } else {
        out.put(digits.get(..1).unwrap_or_default())?;
        if n > 1 {
            out.put(b".")?;
            out.put(digits.get(1..).unwrap_or_default())?;
        }
        let e = decpt - 1;
        out.put(if e < 0 { b"e-" } else { b"e+" })?;
        let e = e.unsigned_abs();
        let mut tmp = [b'0'; 3];
        tmp[0] = b'0' + (e / 100) as u8;
        tmp[1] = b'0' + (e / 10 % 10) as u8;
        tmp[2] = b'0' + (e % 10) as u8;
        out.put(if e >= 100 { &tmp[..] } else { &tmp[1..] })
    }
}

#[cfg(feature = "float-metadata")]
fn parse(text: &[u8]) -> f64 {
    core::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// Splits ECMAScript output for a positive finite number into its significant digits
/// (no leading/trailing zeros), their count, and the decimal point position `decpt`
/// (value = 0.d1d2... × 10^decpt).
#[cfg(feature = "float-metadata")]
fn shortest_digits(js: &[u8]) -> ([u8; 24], usize, i32) {
    let mut digits = [0u8; 24];
    let mut n = 0usize;
    let (mantissa, exp) = match js.iter().position(|&c| c == b'e') {
        Some(p) => {
            let (m, e) = js.split_at(p);
            let e = e.get(1..).unwrap_or_default();
            let (neg, e) = match e.split_first() {
                Some((b'-', rest)) => (true, rest),
                Some((b'+', rest)) => (false, rest),
                _ => (false, e),
            };
            let v = e.iter().fold(0i32, |a, &c| a * 10 + i32::from(c - b'0'));
            (m, if neg { -v } else { v })
        }
        None => (js, 0),
    };
    let mut int_digits = 0i32;
    let mut seen_point = false;
    let mut leading_zeros_after_point = 0i32;
    for &c in mantissa {
        if c == b'.' {
            seen_point = true;
            continue;
        }
        if n == 0 && c == b'0' {
            if seen_point {
                leading_zeros_after_point += 1;
            }
            continue;
        }
        if !seen_point {
            int_digits += 1;
        }
        if let Some(slot) = digits.get_mut(n) {
            *slot = c;
            n += 1;
        }
    }
    while n > 0 && digits.get(n - 1) == Some(&b'0') {
        n -= 1;
    }
    let decpt = if int_digits > 0 {
        int_digits
    } else {
        -leading_zeros_after_point
    };
    (digits, n, decpt + exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::alloc::string::String;
    use crate::audit::alloc::vec::Vec;

    fn js(t: &str) -> String {
        let mut v = Vec::new();
        write_js(t.as_bytes(), 0, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn py(t: &str) -> String {
        let mut v = Vec::new();
        write_py(t.as_bytes(), 0, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn exact_integers_are_those_within_2_pow_53() {
        for t in [
            "0",
            "-0",
            "7",
            "-12",
            "9007199254740992",
            "-9007199254740992",
            "1000000000000000",
        ] {
            assert!(is_exact_integer(t.as_bytes()), "{t}");
        }
        for t in [
            "9007199254740993",
            "-9007199254740993",
            "10000000000000000",
            "99999999999999999999",
            "1.0",
            "1e3",
            "-0.5",
            "-",
            "",
        ] {
            assert!(!is_exact_integer(t.as_bytes()), "{t}");
        }
    }

    #[test]
    fn exact_integers_print_as_written_in_both_styles() {
        for (i, o) in [
            ("-0", "0"),
            ("0", "0"),
            ("42", "42"),
            ("-9007199254740992", "-9007199254740992"),
        ] {
            assert_eq!(js(i), o, "{i}");
            assert_eq!(py(i), o, "{i}");
        }
    }

    /// Without `float-metadata`, anything but an exact integer is refused with its
    /// offset, in both styles: never hashed differently from JavaScript.
    #[cfg(not(feature = "float-metadata"))]
    #[test]
    fn other_numbers_are_refused_without_float_metadata() {
        for t in [
            "1.5",
            "1e21",
            "-0.0",
            "9007199254740993",
            "12345678901234567890",
        ] {
            let mut v = Vec::new();
            assert_eq!(
                write_js(t.as_bytes(), 17, &mut v),
                Err(WriteError::Metadata(MetadataError::UnsupportedNumber {
                    offset: 17
                })),
                "{t}"
            );
            assert_eq!(
                write_py(t.as_bytes(), 3, &mut v),
                Err(WriteError::Metadata(MetadataError::UnsupportedNumber {
                    offset: 3
                })),
                "{t}"
            );
            assert!(v.is_empty());
        }
        // Validation refuses them first, at the number's offset; exact integers pass.
        assert_eq!(
            crate::audit::json::validate_object(br#"{"a":[1,2.5]}"#).unwrap_err(),
            MetadataError::UnsupportedNumber { offset: 8 }
        );
        assert!(crate::audit::json::validate_object(br#"{"a":[1,-9007199254740992]}"#).is_ok());
    }

    #[cfg(feature = "float-metadata")]
    #[test]
    fn prints_like_ecmascript() {
        for (i, o) in [
            ("1e21", "1e+21"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("12345678901234567890", "12345678901234567000"),
            ("9007199254740993", "9007199254740992"),
            ("5e-324", "5e-324"),
            ("1E400", "null"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("100", "100"),
            ("1.50", "1.5"),
            ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ] {
            assert_eq!(js(i), o, "{i}");
        }
    }

    #[cfg(feature = "float-metadata")]
    #[test]
    fn prints_like_python_repr() {
        for (i, o) in [
            ("12345678901234567890", "12345678901234567890"),
            ("-0", "0"),
            ("-0.0", "-0.0"),
            ("1.0", "1.0"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5e-7", "1.5e-07"),
            ("1e400", "Infinity"),
            ("-1e400", "-Infinity"),
            ("123.456", "123.456"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(py(i), o, "{i}");
        }
    }
}
