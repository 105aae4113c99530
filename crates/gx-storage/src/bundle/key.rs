//! The key a bundle file is encrypted with: a raw 32-byte key (64 hex characters) or a
//! passphrase, kept in zeroizing memory and never shown.
//!
//! The same key text opens every client's file: the Python client uses 64 hex characters
//! as the raw AES key, the TypeScript clients treat whatever string they are given as a
//! passphrase (SHA-256 or scrypt of it). So a [`BundleKey`] keeps the text it was made
//! from as well as the raw bytes, and each format takes what it needs.

use core::fmt;
use core::str::FromStr;

use zeroize::Zeroizing;

/// Why key text or key-derivation parameters were refused. Never contains the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// A raw key must be exactly 64 hex characters; this many were given.
    WrongLength {
        /// Characters given (after trimming surrounding whitespace).
        len: usize,
    },
    /// A raw key holds a character that is not a hex digit at this 0-based position.
    NotHex {
        /// Position of the first offending character.
        position: usize,
    },
    /// A passphrase must not be empty.
    EmptyPassphrase,
    /// Argon2id parameters outside what gx accepts (see [`Argon2Params::new`]).
    Argon2ParamsOutOfRange,
    /// The file needs a raw 64-hex-character key (a gx file written with a raw key, or a
    /// Python-client file), but a passphrase was given.
    RawKeyRequired,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { len } => write!(
                f,
                "bundle key must be 64 hex characters (32 bytes), got {len} characters"
            ),
            Self::NotHex { position } => write!(
                f,
                "bundle key must be 64 hex characters; character {position} is not a hex digit"
            ),
            Self::EmptyPassphrase => f.write_str("bundle passphrase is empty"),
            Self::Argon2ParamsOutOfRange => write!(
                f,
                "Argon2id parameters out of range (memory {}..={} KiB and at least 8 KiB per lane, \
                 passes 1..={}, memory times passes at most {} KiB, lanes 1..={})",
                Argon2Params::MIN_M_KIB,
                Argon2Params::MAX_M_KIB,
                Argon2Params::MAX_T,
                Argon2Params::MAX_WORK_KIB,
                Argon2Params::MAX_P
            ),
            Self::RawKeyRequired => f.write_str(
                "this bundle file was written with a raw key: give it as 64 hex characters, not a passphrase",
            ),
        }
    }
}

impl core::error::Error for KeyError {}

/// Argon2id cost parameters for passphrase keys; stored in the file's header.
///
/// The default (19 MiB, 2 passes, 1 lane, OWASP's recommendation) takes about 40 ms on
/// an x86-64 core and a few hundred ms on a Raspberry Pi 4; see `docs/bundle-file.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl Argon2Params {
    /// The default: m = 19 MiB, t = 2, p = 1.
    pub const DEFAULT: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
    /// Smallest memory cost Argon2 allows (8 KiB per lane).
    pub const MIN_M_KIB: u32 = 8;
    /// Largest memory cost gx accepts, written or read: 64 MiB. A header asking for more
    /// is treated as modified before any derivation runs, so a tampered file cannot make a
    /// device allocate more than this.
    pub const MAX_M_KIB: u32 = 64 * 1024;
    /// Largest number of passes gx accepts.
    pub const MAX_T: u32 = 16;
    /// Largest total work gx accepts: memory cost times passes, in KiB-passes (128 MiB
    /// over all passes, 3.4 times the default). Argon2's time grows with this product, so
    /// a tampered header costs at most a few times a normal load before it is refused.
    pub const MAX_WORK_KIB: u64 = 128 * 1024;
    /// Largest number of lanes gx accepts.
    pub const MAX_P: u32 = 16;

    /// Parameters with `m_kib` KiB of memory, `t` passes and `p` lanes.
    ///
    /// # Errors
    /// [`KeyError::Argon2ParamsOutOfRange`] outside the bounds of the constants above,
    /// or with less than 8 KiB per lane.
    pub const fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, KeyError> {
        if p == 0
            || p > Self::MAX_P
            || t == 0
            || t > Self::MAX_T
            || m_kib > Self::MAX_M_KIB
            || m_kib < 8 * p
            || (m_kib as u64) * (t as u64) > Self::MAX_WORK_KIB
        {
            return Err(KeyError::Argon2ParamsOutOfRange);
        }
        Ok(Self { m_kib, t, p })
    }

    /// Memory cost in KiB.
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Number of passes.
    pub const fn t(&self) -> u32 {
        self.t
    }

    /// Number of lanes.
    pub const fn p(&self) -> u32 {
        self.p
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Whether a key was given as raw bytes or as a passphrase; decides how gx writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Raw,
    Passphrase(Argon2Params),
}

/// The secret a bundle file is encrypted with. Zeroized on drop; `Debug` shows only
/// its kind.
///
/// Made with [`from_hex`](Self::from_hex) (or `str::parse`) for a raw key, or
/// [`from_passphrase`](Self::from_passphrase). A raw key encrypts directly; a passphrase
/// goes through Argon2id with a random salt per write.
pub struct BundleKey {
    kind: Kind,
    /// The text the key was made from (trimmed, for a hex key): the TypeScript formats'
    /// passphrase.
    text: Zeroizing<String>,
    /// The 32 raw bytes of a hex key.
    raw: Option<Zeroizing<[u8; 32]>>,
}

impl BundleKey {
    /// A raw AES-256 key given as 64 hex characters (either case); surrounding whitespace,
    /// such as the newline at the end of a key file, is ignored.
    ///
    /// # Errors
    /// [`KeyError::WrongLength`] or [`KeyError::NotHex`]; neither contains the text.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let text = text.trim_ascii();
        let raw = decode_hex32(text)?;
        Ok(Self {
            kind: Kind::Raw,
            text: Zeroizing::new(text.to_owned()),
            raw: Some(raw),
        })
    }

    /// A passphrase, used as is (no trimming), stretched with Argon2id at
    /// [`Argon2Params::DEFAULT`] when writing.
    ///
    /// # Errors
    /// [`KeyError::EmptyPassphrase`].
    pub fn from_passphrase(passphrase: &str) -> Result<Self, KeyError> {
        Self::from_passphrase_with(passphrase, Argon2Params::DEFAULT)
    }

    /// A passphrase stretched with the given Argon2id parameters when writing (reading
    /// always uses the parameters in the file's header).
    ///
    /// # Errors
    /// [`KeyError::EmptyPassphrase`].
    pub fn from_passphrase_with(passphrase: &str, params: Argon2Params) -> Result<Self, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        Ok(Self {
            kind: Kind::Passphrase(params),
            text: Zeroizing::new(passphrase.to_owned()),
            raw: None,
        })
    }

    /// Whether this is a raw key (as opposed to a passphrase).
    pub fn is_raw(&self) -> bool {
        self.kind == Kind::Raw
    }

    /// The Argon2id parameters this key writes with, for a passphrase.
    pub(crate) fn argon2_params(&self) -> Option<Argon2Params> {
        match self.kind {
            Kind::Raw => None,
            Kind::Passphrase(p) => Some(p),
        }
    }

    /// The key text as a passphrase (TypeScript formats, and gx files with Argon2id).
    pub(crate) fn passphrase(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The raw 32-byte key: a hex key's bytes, or a passphrase that happens to be 64 hex
    /// characters (the Python client takes whatever string it is given as hex).
    ///
    /// # Errors
    /// [`KeyError::RawKeyRequired`] for any other passphrase.
    pub(crate) fn raw(&self) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        match &self.raw {
            Some(raw) => Ok(raw.clone()),
            None => decode_hex32(&self.text).map_err(|_| KeyError::RawKeyRequired),
        }
    }
}

impl FromStr for BundleKey {
    type Err = KeyError;

    /// Same as [`BundleKey::from_hex`]: the key text of configuration files and flags is a
    /// raw key. Errors never contain the text.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_hex(s)
    }
}

impl fmt::Debug for BundleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Raw => f.write_str("BundleKey::Raw(<redacted>)"),
            Kind::Passphrase(p) => write!(f, "BundleKey::Passphrase(<redacted>, {p:?})"),
        }
    }
}

/// Decodes exactly 64 hex characters into 32 bytes. A non-hex character is reported
/// (by position) before a wrong length, so that the length reported is a count of hex
/// digits.
fn decode_hex32(text: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    if let Some(position) = text.chars().position(|c| !c.is_ascii_hexdigit()) {
        return Err(KeyError::NotHex { position });
    }
    let b = text.as_bytes();
    if b.len() != 64 {
        return Err(KeyError::WrongLength { len: b.len() });
    }
    let mut out = Zeroizing::new([0u8; 32]);
    for (pair, slot) in b.chunks_exact(2).zip(out.iter_mut()) {
        if let [h, l] = pair {
            *slot = (nibble(*h) << 4) | nibble(*l);
        }
    }
    Ok(out)
}

/// The value of an ASCII hex digit (already checked to be one).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "7d6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f38";

    #[test]
    fn hex_keys_decode_and_trim_a_trailing_newline() {
        let k = BundleKey::from_hex(&format!("{HEX}\n")).unwrap();
        assert!(k.is_raw());
        assert_eq!(k.raw().unwrap()[..2], [0x7d, 0x6e]);
        assert_eq!(k.passphrase(), HEX.as_bytes());
        let upper: BundleKey = HEX.to_uppercase().parse().unwrap();
        assert_eq!(*upper.raw().unwrap(), *k.raw().unwrap());
    }

    #[test]
    fn bad_key_text_is_refused_without_echo() {
        let secretish = "zz6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f38";
        let e = BundleKey::from_hex(secretish).unwrap_err();
        assert_eq!(e, KeyError::NotHex { position: 0 });
        let e2 = BundleKey::from_hex(&HEX[..63]).unwrap_err();
        assert_eq!(e2, KeyError::WrongLength { len: 63 });
        let e3 = "7d6e4c963c72f2c439906014f99e9829438d436e1db41214486a2eaee0491f3g"
            .parse::<BundleKey>()
            .unwrap_err();
        assert_eq!(e3, KeyError::NotHex { position: 63 });
        // Multi-byte characters are counted as characters, and are not hex.
        let e4 = BundleKey::from_hex(&format!("{}é", &HEX[..63])).unwrap_err();
        assert_eq!(e4, KeyError::NotHex { position: 63 });
        for e in [e, e2, e3, e4] {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("4c963c72"), "{shown}");
        }
        assert_eq!(
            BundleKey::from_passphrase("").unwrap_err(),
            KeyError::EmptyPassphrase
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = BundleKey::from_hex(HEX).unwrap();
        let p = BundleKey::from_passphrase("correct horse battery staple").unwrap();
        let shown = format!("{k:?} {p:?}");
        assert!(!shown.contains("7d6e4c"), "{shown}");
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn a_passphrase_gives_raw_bytes_only_when_it_is_hex() {
        let p = BundleKey::from_passphrase(HEX).unwrap();
        assert!(!p.is_raw());
        assert_eq!(p.raw().unwrap()[0], 0x7d);
        let q = BundleKey::from_passphrase("not hex").unwrap();
        assert_eq!(q.raw().unwrap_err(), KeyError::RawKeyRequired);
    }

    #[test]
    fn argon2_bounds() {
        assert!(Argon2Params::new(8, 1, 1).is_ok());
        assert!(Argon2Params::new(7, 1, 1).is_err());
        assert!(Argon2Params::new(15, 1, 2).is_err());
        assert!(Argon2Params::new(Argon2Params::MAX_M_KIB + 1, 1, 1).is_err());
        assert!(Argon2Params::new(1024, 0, 1).is_err());
        assert!(Argon2Params::new(1024, 17, 1).is_err());
        // The work bound: 64 MiB twice is the most, 64 MiB three times is refused.
        assert!(Argon2Params::new(64 * 1024, 2, 1).is_ok());
        assert!(Argon2Params::new(64 * 1024, 3, 1).is_err());
        assert!(Argon2Params::new(8 * 1024, 16, 1).is_ok());
        assert!(Argon2Params::new(1024, 1, 0).is_err());
        assert_eq!(
            Argon2Params::default(),
            Argon2Params::new(19 * 1024, 2, 1).unwrap()
        );
    }
}
