//! The JWKS snapshot: the issuer's public keys, parsed and checked once, up front.
//!
//! Reads a plain JWKS (`{"keys":[...]}`) or a consent bundle's `jwksSnapshot` (`keys`,
//! `fetchedAt`, `validUntil`). Keeps the RSA keys fit for RS256 and records why each other
//! key was skipped; a snapshot with no usable key still parses (verification then fails
//! with `NO_USABLE_KEYS`).
//!
//! Memory: at most [`MAX_KEYS`] keys, held inline; the kid of each at most
//! [`MAX_KID_LEN`] bytes. Each usable key is whatever the provider prepares (for
//! [`RustCrypto`](crate::provider::RustCrypto), big numbers on the heap).

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use heapless::{String, Vec};
use sha2::{Digest, Sha256};

use super::error::VerifyError;
use super::json::{self, JsonError, Span, Value};
use crate::UnixTime;
use crate::provider::CryptoProvider;

/// The most keys a JWKS may list (usable and skipped together).
pub const MAX_KEYS: usize = 16;
/// The longest `kid` kept, in bytes.
pub const MAX_KID_LEN: usize = 64;
/// The smallest modulus accepted, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;
/// The largest modulus accepted, in bits.
pub const MAX_MODULUS_BITS: usize = 8192;
/// The largest modulus (and so signature) in bytes.
pub(crate) const MAX_MODULUS_BYTES: usize = MAX_MODULUS_BITS / 8;
/// The largest public exponent accepted (as `rsa` and AWS-LC bound it).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// Why a JWKS document could not be read at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// Not JSON, or JSON nested too deep (byte offset when known).
    Malformed(usize),
    /// The document is not a JSON object.
    NotAnObject,
    /// A member name appears twice in the document.
    DuplicateMember,
    /// No `keys` array.
    MissingKeys,
    /// More than [`MAX_KEYS`] keys.
    TooManyKeys,
    /// `fetchedAt` or `validUntil` is not an ISO-8601 date-time string.
    BadTimestamp(&'static str),
}

impl JwksError {
    /// A stable code for this error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::NotAnObject | Self::DuplicateMember => "MALFORMED_JWKS",
            Self::MissingKeys => "MISSING_KEYS",
            Self::TooManyKeys => "TOO_MANY_KEYS",
            Self::BadTimestamp(_) => "BAD_TIMESTAMP",
        }
    }
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(at) => write!(f, "JWKS is not JSON (at byte {at}) or nested too deep"),
            Self::NotAnObject => f.write_str("JWKS is not a JSON object"),
            Self::DuplicateMember => f.write_str("JWKS has a duplicated member"),
            Self::MissingKeys => f.write_str("JWKS has no keys array"),
            Self::TooManyKeys => write!(f, "JWKS has more than {MAX_KEYS} keys"),
            Self::BadTimestamp(field) => write!(f, "JWKS {field} is not an ISO-8601 date-time"),
        }
    }
}

impl core::error::Error for JwksError {}

/// Why a key of the JWKS was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The entry is not a JSON object, or has a duplicated member.
    NotAnObject,
    /// `kty` is not `RSA` (an `OKP` or `EC` key, say).
    NotRsa,
    /// `alg` is present and not `RS256`.
    WrongAlg,
    /// `use` is present and not `sig`.
    WrongUse,
    /// `kid` is not a string or longer than [`MAX_KID_LEN`].
    BadKid,
    /// `n` or `e` is missing or not base64url.
    BadEncoding,
    /// The modulus has fewer than [`MIN_MODULUS_BITS`] bits.
    ModulusTooSmall(usize),
    /// The modulus has more than [`MAX_MODULUS_BITS`] bits.
    ModulusTooLarge(usize),
    /// The modulus is even.
    EvenModulus,
    /// The exponent is even, below 3 or above 2^33 - 1.
    BadExponent,
    /// An earlier usable key has the same `kid` (or neither has one).
    DuplicateKid,
    /// The crypto provider refused the key.
    Rejected,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("not a JSON object"),
            Self::NotRsa => f.write_str("kty is not RSA"),
            Self::WrongAlg => f.write_str("alg is not RS256"),
            Self::WrongUse => f.write_str("use is not sig"),
            Self::BadKid => write!(f, "kid is not a string of at most {MAX_KID_LEN} bytes"),
            Self::BadEncoding => f.write_str("n or e missing or not base64url"),
            Self::ModulusTooSmall(b) => {
                write!(f, "modulus of {b} bits is under {MIN_MODULUS_BITS}")
            }
            Self::ModulusTooLarge(b) => write!(f, "modulus of {b} bits is over {MAX_MODULUS_BITS}"),
            Self::EvenModulus => f.write_str("modulus is even"),
            Self::BadExponent => f.write_str("exponent is even, under 3 or over 2^33-1"),
            Self::DuplicateKid => f.write_str("kid repeats an earlier key's"),
            Self::Rejected => f.write_str("refused by the crypto provider"),
        }
    }
}

/// A key of the JWKS that was not kept, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in the `keys` array.
    pub index: usize,
    /// Its `kid`, when it has a readable one.
    pub kid: Option<String<MAX_KID_LEN>>,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// A usable RS256 key.
pub(crate) struct UsableKey<K> {
    kid: Option<String<MAX_KID_LEN>>,
    modulus_len: usize,
    key: K,
}

impl<K> UsableKey<K> {
    pub(crate) fn modulus_len(&self) -> usize {
        self.modulus_len
    }
    pub(crate) fn public_key(&self) -> &K {
        &self.key
    }
}

/// The issuer's public keys, parsed once; the key set a [`Verifier`](crate::Verifier)
/// checks signatures against.
pub struct JwksSnapshot<P: CryptoProvider> {
    provider: P,
    keys: Vec<UsableKey<P::PublicKey>, MAX_KEYS>,
    skipped: Vec<SkippedKey, MAX_KEYS>,
    fetched_at: Option<UnixTime>,
    valid_until: Option<UnixTime>,
    fingerprint: [u8; 32],
}

impl<P: CryptoProvider> fmt::Debug for JwksSnapshot<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSnapshot")
            .field(
                "kids",
                &self
                    .keys
                    .iter()
                    .map(|k| k.kid.as_deref())
                    .collect::<Vec<_, MAX_KEYS>>(),
            )
            .field("skipped", &self.skipped)
            .field("fetched_at", &self.fetched_at)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl<P: CryptoProvider + Default> JwksSnapshot<P> {
    /// Parses a JWKS or a bundle's `jwksSnapshot` with the provider's default instance.
    ///
    /// # Errors
    /// [`JwksError`] when the document itself is unreadable; unusable keys are skipped,
    /// not errors.
    pub fn parse(json: &[u8]) -> Result<Self, JwksError> {
        Self::parse_with(P::default(), json)
    }
}

impl<P: CryptoProvider> JwksSnapshot<P> {
    /// Parses a JWKS or a bundle's `jwksSnapshot`, preparing each usable key with
    /// `provider`.
    ///
    /// # Errors
    /// [`JwksError`] when the document itself is unreadable; unusable keys are skipped,
    /// not errors.
    pub fn parse_with(provider: P, json: &[u8]) -> Result<Self, JwksError> {
        let mut snap = Self::empty(provider);
        snap.parse_in_place(json)?;
        Ok(snap)
    }

    /// A snapshot without keys: storage for [`parse_in_place`](Self::parse_in_place).
    /// `const`, so a microcontroller can keep its key set in a `static`.
    pub const fn empty(provider: P) -> Self {
        Self {
            provider,
            keys: Vec::new(),
            skipped: Vec::new(),
            fetched_at: None,
            valid_until: None,
            fingerprint: [0; 32],
        }
    }

    /// Parses a JWKS or a bundle's `jwksSnapshot` into this snapshot, replacing what it
    /// held; keys are prepared with its provider. Nothing the size of a snapshot goes on
    /// the stack (it is ~3 KiB on a 32-bit target, where the stack is small).
    ///
    /// # Errors
    /// [`JwksError`] when the document itself is unreadable; the snapshot is then left
    /// without keys. Unusable keys are skipped, not errors.
    pub fn parse_in_place(&mut self, json: &[u8]) -> Result<(), JwksError> {
        self.keys.clear();
        self.skipped.clear();
        self.fetched_at = None;
        self.valid_until = None;
        self.fingerprint = [0; 32];
        let result = self.add_keys(json);
        if result.is_err() {
            self.keys.clear();
            self.skipped.clear();
            self.fetched_at = None;
            self.valid_until = None;
        }
        result
    }

    fn add_keys(&mut self, json: &[u8]) -> Result<(), JwksError> {
        let (arr, fetched_at, valid_until) = top_level(json)?;
        self.fetched_at = fetched_at;
        self.valid_until = valid_until;
        let mut hasher = Sha256::new();
        let mut pos = arr.start;
        let mut index = 0;
        while let Some(v) =
            json::next_element(json, &mut pos).map_err(|_| JwksError::Malformed(pos))?
        {
            if index >= MAX_KEYS {
                return Err(JwksError::TooManyKeys);
            }
            let mut kid = None;
            let outcome = match v {
                Value::Object(span) => self.add_key(json, span, &mut kid, &mut hasher),
                _ => Err(SkipReason::NotAnObject),
            };
            if let Err(reason) = outcome {
                // Cannot overflow: at most MAX_KEYS entries in total.
                let _ = self.skipped.push(SkippedKey { index, kid, reason });
            }
            index += 1;
        }
        self.fingerprint = hasher.finalize().into();
        Ok(())
    }

    fn add_key(
        &mut self,
        json: &[u8],
        span: Span,
        kid_out: &mut Option<String<MAX_KID_LEN>>,
        hasher: &mut Sha256,
    ) -> Result<(), SkipReason> {
        let obj = json.get(span.start..span.end).unwrap_or_default();
        let (n_value, e_value) = key_members(obj, kid_out)?;
        let kid = kid_out.clone();
        let mut n_buf = [0u8; MAX_MODULUS_BYTES + 1];
        let n = b64_field(obj, n_value, &mut n_buf)?;
        let mut e_buf = [0u8; 16];
        let e = b64_field(obj, e_value, &mut e_buf)?;
        check_rsa(n, e)?;
        if self.keys.iter().any(|k| k.kid == kid) {
            return Err(SkipReason::DuplicateKid);
        }
        let key = self
            .provider
            .rs256_public_key(n, e)
            .map_err(|_| SkipReason::Rejected)?;
        for part in [kid.as_deref().unwrap_or("").as_bytes(), n, e] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        // Cannot overflow: at most MAX_KEYS entries in total.
        let _ = self.keys.push(UsableKey {
            kid,
            modulus_len: n.len(),
            key,
        });
        Ok(())
    }

    /// The provider that prepared the keys.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// How many usable RS256 keys the snapshot holds.
    pub fn usable_keys(&self) -> usize {
        self.keys.len()
    }

    /// The kids of the usable keys (`None` for a key without one), in JWKS order.
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref())
    }

    /// The keys that were skipped, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The snapshot's `fetchedAt`, when it has one.
    pub fn fetched_at(&self) -> Option<UnixTime> {
        self.fetched_at
    }

    /// The snapshot's `validUntil`, when it has one (a plain JWKS has none).
    pub fn valid_until(&self) -> Option<UnixTime> {
        self.valid_until
    }

    /// SHA-256 over the usable keys (kid, n, e): equal fingerprints mean the same key set.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The key for a token's `kid`. Without a kid, only a snapshot with exactly one
    /// usable key has an answer: gx never falls back to "the first key".
    pub(crate) fn select<'k>(
        &self,
        kid: Option<&'k str>,
    ) -> Result<&UsableKey<P::PublicKey>, VerifyError<'k>> {
        match (kid, self.keys.as_slice()) {
            (_, []) => Err(VerifyError::NoUsableKeys),
            (None, [only]) => Ok(only),
            (None, _) => Err(VerifyError::MissingKid),
            (Some(kid), keys) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or(VerifyError::KidNotFound { kid }),
        }
    }
}

/// The top-level members of a JWKS document: the `keys` array and the timestamps.
///
/// Its own frame (`inline(never)`): the member table is gone before any key is
/// prepared, so it never adds to the stack depth of the RSA arithmetic (firmware's stack budget).
#[inline(never)]
fn top_level(json: &[u8]) -> Result<(Span, Option<UnixTime>, Option<UnixTime>), JwksError> {
    let members = json::parse_object(json).map_err(|e| match e {
        JsonError::Syntax(at) => JwksError::Malformed(at),
        JsonError::NotAnObject => JwksError::NotAnObject,
        JsonError::Duplicate(_) => JwksError::DuplicateMember,
        JsonError::TooDeep | JsonError::TooManyMembers => JwksError::Malformed(0),
    })?;
    let mut keys_arr = None;
    let mut fetched_at = None;
    let mut valid_until = None;
    for m in &members {
        let is = |name| json::str_eq(json, m.key, m.key_escaped, name);
        if is("keys") {
            keys_arr = Some(m.value);
        } else if is("fetchedAt") {
            fetched_at = Some(timestamp(json, m.value, "fetchedAt")?);
        } else if is("validUntil") {
            valid_until = Some(timestamp(json, m.value, "validUntil")?);
        }
    }
    let Some(Value::Array(arr)) = keys_arr else {
        return Err(JwksError::MissingKeys);
    };
    Ok((arr, fetched_at, valid_until))
}

/// The members of one key object that matter: its `kid` (into `kid_out`, also for the
/// skip record) and, after checking `kty`, `alg` and `use`, the values of `n` and `e`.
///
/// Its own frame (`inline(never)`), as [`top_level`].
#[inline(never)]
fn key_members(
    obj: &[u8],
    kid_out: &mut Option<String<MAX_KID_LEN>>,
) -> Result<(Option<Value>, Option<Value>), SkipReason> {
    let members = json::parse_object(obj).map_err(|_| SkipReason::NotAnObject)?;
    let get = |name: &str| {
        members
            .iter()
            .find(|m| json::str_eq(obj, m.key, m.key_escaped, name))
            .map(|m| m.value)
    };
    let is_str = |v: Option<Value>, want: &str| match v {
        Some(Value::Str { span, escaped }) => json::str_eq(obj, span, escaped, want),
        _ => false,
    };
    *kid_out = match get("kid") {
        None => None,
        Some(v) => Some(kid_text(obj, v)?),
    };
    if !is_str(get("kty"), "RSA") {
        return Err(SkipReason::NotRsa);
    }
    if get("alg").is_some() && !is_str(get("alg"), "RS256") {
        return Err(SkipReason::WrongAlg);
    }
    if get("use").is_some() && !is_str(get("use"), "sig") {
        return Err(SkipReason::WrongUse);
    }
    Ok((get("n"), get("e")))
}

fn kid_text(obj: &[u8], v: Value) -> Result<String<MAX_KID_LEN>, SkipReason> {
    let Value::Str { span, .. } = v else {
        return Err(SkipReason::BadKid);
    };
    let mut kid = String::new();
    for c in json::chars(obj, span) {
        kid.push(c).map_err(|_| SkipReason::BadKid)?;
    }
    Ok(kid)
}

fn timestamp(json: &[u8], v: Value, field: &'static str) -> Result<UnixTime, JwksError> {
    let Value::Str {
        span,
        escaped: false,
    } = v
    else {
        return Err(JwksError::BadTimestamp(field));
    };
    json.get(span.start..span.end)
        .and_then(|t| core::str::from_utf8(t).ok())
        .and_then(|t| UnixTime::parse_iso(t).ok())
        .ok_or(JwksError::BadTimestamp(field))
}

/// Decodes a base64url member and strips leading zero bytes (RFC 7518 forbids them,
/// but some libraries add one; they change nothing).
fn b64_field<'o>(obj: &[u8], v: Option<Value>, out: &'o mut [u8]) -> Result<&'o [u8], SkipReason> {
    let Some(Value::Str {
        span,
        escaped: false,
    }) = v
    else {
        return Err(SkipReason::BadEncoding);
    };
    let src = obj.get(span.start..span.end).unwrap_or_default();
    if src.len() > out.len() / 3 * 4 + 2 {
        return Err(SkipReason::ModulusTooLarge(
            super::jws::decoded_len(src.len()) * 8,
        ));
    }
    let d = Base64UrlUnpadded::decode(src, out).map_err(|_| SkipReason::BadEncoding)?;
    let first = d.iter().position(|b| *b != 0).unwrap_or(d.len());
    Ok(d.get(first..).unwrap_or_default())
}

/// The RSA key checks gx makes itself, the same for every provider.
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), SkipReason> {
    let bits = match n.first() {
        Some(top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_MODULUS_BITS {
        return Err(SkipReason::ModulusTooSmall(bits));
    }
    if bits > MAX_MODULUS_BITS {
        return Err(SkipReason::ModulusTooLarge(bits));
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(SkipReason::EvenModulus);
    }
    if e.len() > 8 {
        return Err(SkipReason::BadExponent);
    }
    let ev = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if ev < 3 || ev & 1 == 0 || ev > MAX_EXPONENT {
        return Err(SkipReason::BadExponent);
    }
    Ok(())
}
