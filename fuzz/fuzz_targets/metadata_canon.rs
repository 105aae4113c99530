//! Fuzz target (differential): metadata canonicalisation, gx-core's
//! `JSON.stringify(JSON.parse(text))`.
//!
//! Input: metadata JSON text (lossy UTF-8).
//! Checks: no panic; what validates canonicalises; the canonical text validates again
//! (parse → stringify → parse is stable) and canonicalises to itself (stringify is
//! idempotent); the buffer and the owned-string writers agree and a short buffer gives
//! `Full`; and, against serde_json as an independent JSON reader (exact float parsing,
//! last duplicate wins, as in JavaScript), input and canonical text hold the same value.
#![no_main]

use gx_core::{Metadata, WriteError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Equality of values as JavaScript sees them: every number is a double.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(m) = Metadata::parse(&text) else {
        return;
    };
    let canonical = match m.to_canonical_string() {
        Ok(c) => c,
        Err(e) => panic!("validated metadata does not canonicalise: {e:?}"),
    };

    let mut buf = vec![0u8; canonical.len()];
    match m.write_canonical(&mut buf) {
        Ok(n) => assert_eq!(&buf[..n], canonical.as_bytes(), "writers disagree"),
        Err(WriteError::Metadata(_)) => {} // beyond the stack slots without alloc: fine
        Err(e) => panic!("exact-size buffer refused: {e:?}"),
    }
    if !canonical.is_empty() {
        let short = m.write_canonical(&mut buf[..canonical.len() - 1]);
        assert!(
            matches!(short, Err(WriteError::Full | WriteError::Metadata(_))),
            "short buffer accepted: {short:?}"
        );
    }

    let again = Metadata::parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical text does not validate ({e:?}): {canonical}"));
    let twice = again
        .to_canonical_string()
        .expect("canonical text canonicalises");
    assert_eq!(twice, canonical, "canonicalisation is not idempotent");
    assert!(
        again.slots_needed() <= m.slots_needed(),
        "canonical text needs more slots than its input"
    );

    if let Ok(before) = serde_json::from_str::<Value>(&text) {
        let after: Value = serde_json::from_str(&canonical)
            .unwrap_or_else(|e| panic!("serde_json refuses the canonical text ({e}): {canonical}"));
        assert!(
            same(&before, &after),
            "value changed:\n  in:  {text}\n  out: {canonical}"
        );
    }
});
