//! Field-by-field reading of the bundle JSON, so that an error can name the field.
//!
//! serde's derived errors say "missing field" without a path and "invalid type" without
//! a field; a device operator needs `offlineAuditKey.privateKey: missing`. Values are
//! *moved* out of the parsed tree (never copied), so the private key's text exists once
//! and ends up in its zeroizing wrapper.

use core::fmt;

use gx_core::UnixTime;
use serde_json::{Map, Value};

/// Why bundle JSON could not be read; names the field (`jwksSnapshot.keys`), never
/// echoes its content.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleJsonError {
    /// The text is not JSON (a syntax error at this 1-based line and column).
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The JSON is not an object.
    NotAnObject,
    /// A required field is absent (at the top level and under `data`).
    Missing {
        /// The field's path, e.g. `offlineAuditKey.privateKey`.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    WrongType {
        /// The field's path.
        field: &'static str,
        /// What the field must be.
        expected: &'static str,
    },
    /// A time field does not name a representable instant.
    BadTime {
        /// The field's path.
        field: &'static str,
    },
}

impl BundleJsonError {
    /// The path of the field at fault, when one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Missing { field } | Self::WrongType { field, .. } | Self::BadTime { field } => {
                Some(field)
            }
            Self::Syntax { .. } | Self::NotAnObject => None,
        }
    }
}

impl fmt::Display for BundleJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { line, column } => {
                write!(f, "bundle is not valid JSON (line {line}, column {column})")
            }
            Self::NotAnObject => f.write_str("bundle JSON is not an object"),
            Self::Missing { field } => write!(f, "bundle field `{field}` is missing"),
            Self::WrongType { field, expected } => {
                write!(f, "bundle field `{field}` must be {expected}")
            }
            Self::BadTime { field } => write!(
                f,
                "bundle field `{field}` is not a valid instant (ISO-8601 date-time or Unix milliseconds)"
            ),
        }
    }
}

impl core::error::Error for BundleJsonError {}

/// Parses JSON text without letting serde_json's message (which may quote input) through.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, BundleJsonError> {
    serde_json::from_slice(bytes).map_err(|e| BundleJsonError::Syntax {
        line: e.line(),
        column: e.column(),
    })
}

/// The fields of one JSON object, taken out one by one; at the top level, with the
/// protocol's `data` copy as fallback.
pub(crate) struct Fields {
    map: Map<String, Value>,
    data: Option<Map<String, Value>>,
}

impl Fields {
    /// The top level of a response body: fields there win, `data` fills the gaps.
    pub(crate) fn top(value: Value) -> Result<Self, BundleJsonError> {
        let Value::Object(mut map) = value else {
            return Err(BundleJsonError::NotAnObject);
        };
        let data = match map.remove("data") {
            Some(Value::Object(d)) => Some(d),
            _ => None,
        };
        Ok(Self { map, data })
    }

    /// A nested object (`jwksSnapshot`, `offlineAuditKey`); `path` names it in errors.
    pub(crate) fn nested(value: Value, path: &'static str) -> Result<Self, BundleJsonError> {
        match value {
            Value::Object(map) => Ok(Self { map, data: None }),
            _ => Err(BundleJsonError::WrongType {
                field: path,
                expected: "an object",
            }),
        }
    }

    /// Takes a field out; `name` is also its path (used for top-level fields).
    pub(crate) fn take(&mut self, name: &'static str) -> Result<Value, BundleJsonError> {
        self.take_at(name, name)
    }

    fn take_at(&mut self, name: &str, path: &'static str) -> Result<Value, BundleJsonError> {
        let found = match self.map.remove(name) {
            Some(Value::Null) | None => self.data.as_mut().and_then(|d| d.remove(name)),
            some => some,
        };
        match found {
            Some(Value::Null) | None => Err(BundleJsonError::Missing { field: path }),
            Some(v) => Ok(v),
        }
    }

    /// Takes a field that may be absent (or `null`).
    pub(crate) fn take_optional(&mut self, name: &'static str) -> Option<Value> {
        self.take_at(name, name).ok()
    }

    pub(crate) fn take_string(
        &mut self,
        name: &str,
        path: &'static str,
    ) -> Result<String, BundleJsonError> {
        match self.take_at(name, path)? {
            Value::String(s) => Ok(s),
            _ => Err(BundleJsonError::WrongType {
                field: path,
                expected: "a string",
            }),
        }
    }

    pub(crate) fn take_array_of_objects(
        &mut self,
        name: &str,
        path: &'static str,
    ) -> Result<Vec<Map<String, Value>>, BundleJsonError> {
        let wrong = BundleJsonError::WrongType {
            field: path,
            expected: "an array of objects",
        };
        let Value::Array(items) = self.take_at(name, path)? else {
            return Err(wrong);
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(m) => Ok(m),
                _ => Err(wrong.clone()),
            })
            .collect()
    }

    /// An instant written as `toISOString` text (or any ISO-8601 form `Date.parse` reads).
    pub(crate) fn take_iso(
        &mut self,
        name: &str,
        path: &'static str,
    ) -> Result<UnixTime, BundleJsonError> {
        match self.take_at(name, path)? {
            Value::String(s) => {
                UnixTime::parse_iso(&s).map_err(|_| BundleJsonError::BadTime { field: path })
            }
            _ => Err(BundleJsonError::WrongType {
                field: path,
                expected: "an ISO-8601 date-time string",
            }),
        }
    }

    /// An instant written as Unix milliseconds (`checkpointAt`). A JavaScript number may
    /// come as `1.7952e12`, so an integral float is accepted; an ISO string is too.
    pub(crate) fn take_millis(
        &mut self,
        name: &str,
        path: &'static str,
    ) -> Result<UnixTime, BundleJsonError> {
        let bad = BundleJsonError::BadTime { field: path };
        match self.take_at(name, path)? {
            Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(ms), _) => Ok(UnixTime::from_millis(ms)),
                (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => {
                    // Integral and below 2^53: the conversion is exact.
                    Ok(UnixTime::from_millis(f as u64))
                }
                _ => Err(bad),
            },
            Value::String(s) => UnixTime::parse_iso(&s).map_err(|_| bad),
            _ => Err(BundleJsonError::WrongType {
                field: path,
                expected: "a number of milliseconds",
            }),
        }
    }
}
