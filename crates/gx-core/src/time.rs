//! Time as the caller gives it: Unix milliseconds, and the ISO-8601 text of the protocol.
//!
//! The core never reads a clock. Every check that depends on time takes a [`UnixTime`]
//! from the caller, which makes verification deterministic and testable, and lets a
//! device apply its own idea of trustworthy time (see gx-storage's time floor).
//!
//! The protocol writes instants as JavaScript's `Date.prototype.toISOString` does
//! (`2026-11-27T10:00:00.000Z`) and JWT claims as whole seconds. Both map onto one
//! millisecond count here. Nothing in this module allocates.

use core::fmt;

/// An instant, as milliseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// Instants before the epoch cannot be represented: no grant, snapshot or audit entry
/// of the protocol predates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(u64);

/// Why a time text could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is not an ISO-8601 date-time of the form the protocol uses.
    Malformed,
    /// A field is out of range (month 13, hour 24, February 30th, ...).
    OutOfRange,
    /// The instant lies before 1970-01-01T00:00:00Z or after year 9999.
    Unrepresentable,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not an ISO-8601 date-time",
            Self::OutOfRange => "date-time field out of range",
            Self::Unrepresentable => "date-time outside 1970..=9999",
        })
    }
}

impl core::error::Error for TimeError {}

/// The length of [`UnixTime::to_iso_bytes`]'s output: `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub(crate) const ISO_LEN: usize = 24;

const MS_PER_DAY: u64 = 86_400_000;
/// 9999-12-31T23:59:59.999Z, the last instant `toISOString` writes with a 4-digit year.
const MAX_MILLIS: u64 = 253_402_300_799_999;

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);

    /// An instant from whole seconds since the epoch (the unit of JWT `exp`/`iat`/`nbf`).
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// An instant from milliseconds since the epoch (the unit of `checkpointAt`).
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `secs` seconds, saturating instead of overflowing.
    pub const fn saturating_add_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// This instant minus `secs` seconds, saturating at the epoch.
    pub const fn saturating_sub_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs.saturating_mul(1000)))
    }

    /// Parses an ISO-8601 / RFC 3339 date-time as JavaScript's `Date.parse` reads the
    /// protocol's timestamps: `YYYY-MM-DDTHH:MM[:SS[.fff...]]` followed by `Z` or a
    /// `±HH:MM` offset. Fraction digits past milliseconds are truncated, as `Date` does.
    ///
    /// # Errors
    /// [`TimeError`] when the text does not have that form or names no real instant.
    pub fn parse_iso(text: &str) -> Result<Self, TimeError> {
        let b = text.as_bytes();
        let mut p = Cursor { b, i: 0 };
        let year = p.digits(4)?;
        p.expect(b'-')?;
        let month = p.digits(2)?;
        p.expect(b'-')?;
        let day = p.digits(2)?;
        if !matches!(p.next(), Some(b'T' | b't')) {
            return Err(TimeError::Malformed);
        }
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        let mut second = 0;
        let mut millis = 0;
        if p.peek() == Some(b':') {
            p.i += 1;
            second = p.digits(2)?;
            if p.peek() == Some(b'.') {
                p.i += 1;
                let start = p.i;
                while let Some(d @ b'0'..=b'9') = p.peek() {
                    if p.i - start < 3 {
                        millis = millis * 10 + u64::from(d - b'0');
                    }
                    p.i += 1;
                }
                let n = p.i - start;
                if n == 0 {
                    return Err(TimeError::Malformed);
                }
                for _ in n..3 {
                    millis *= 10;
                }
            }
        }
        let offset_minutes: i64 = match p.next() {
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = p.digits(2)?;
                p.expect(b':')?;
                let om = p.digits(2)?;
                if oh > 23 || om > 59 {
                    return Err(TimeError::OutOfRange);
                }
                let m = (oh * 60 + om) as i64;
                if sign == b'+' { m } else { -m }
            }
            _ => return Err(TimeError::Malformed),
        };
        if p.i != b.len() {
            return Err(TimeError::Malformed);
        }
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(TimeError::OutOfRange);
        }
        let days = days_from_civil(year, month, day);
        let local_ms = days * MS_PER_DAY as i64
            + ((hour * 3600 + minute * 60 + second) * 1000 + millis) as i64;
        let utc_ms = local_ms - offset_minutes * 60_000;
        if utc_ms < 0 || utc_ms as u64 > MAX_MILLIS {
            return Err(TimeError::Unrepresentable);
        }
        Ok(Self(utc_ms as u64))
    }

    /// Writes this instant as `Date.prototype.toISOString` does, e.g.
    /// `2026-11-27T10:00:00.000Z`, into a fixed-size buffer.
    ///
    /// # Errors
    /// [`TimeError::Unrepresentable`] after year 9999, where JavaScript switches to a
    /// six-digit year that the protocol never uses.
    pub fn to_iso_bytes(self) -> Result<[u8; ISO_LEN], TimeError> {
        if self.0 > MAX_MILLIS {
            return Err(TimeError::Unrepresentable);
        }
        let days = (self.0 / MS_PER_DAY) as i64;
        let rem = self.0 % MS_PER_DAY;
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss, ms) = (
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60,
            rem % 1000,
        );
        let mut out = *b"0000-00-00T00:00:00.000Z";
        put(&mut out[0..4], y);
        put(&mut out[5..7], m);
        put(&mut out[8..10], d);
        put(&mut out[11..13], hh);
        put(&mut out[14..16], mm);
        put(&mut out[17..19], ss);
        put(&mut out[20..23], ms);
        Ok(out)
    }
}

#[cfg(feature = "std")]
impl UnixTime {
    /// The current system time. Only for std callers: the core itself never calls it.
    ///
    /// A clock set before 1970 reads as the epoch.
    pub fn now() -> Self {
        Self::from(std::time::SystemTime::now())
    }
}

#[cfg(feature = "std")]
impl From<std::time::SystemTime> for UnixTime {
    fn from(t: std::time::SystemTime) -> Self {
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self(ms)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_iso_bytes() {
            // The buffer holds ASCII digits and separators only.
            Ok(b) => f.write_str(core::str::from_utf8(&b).map_err(|_| fmt::Error)?),
            Err(_) => write!(f, "@{}ms", self.0),
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn expect(&mut self, c: u8) -> Result<(), TimeError> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(TimeError::Malformed)
        }
    }
    fn digits(&mut self, n: usize) -> Result<u64, TimeError> {
        let mut v = 0u64;
        for _ in 0..n {
            match self.next() {
                Some(d @ b'0'..=b'9') => v = v * 10 + u64::from(d - b'0'),
                _ => return Err(TimeError::Malformed),
            }
        }
        Ok(v)
    }
}

fn put(dst: &mut [u8], mut v: u64) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> i64 {
    let y = y as i64 - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`] for non-negative day counts.
fn civil_from_days(z: i64) -> (u64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use super::*;

    fn iso(t: UnixTime) -> alloc::string::String {
        alloc::string::ToString::to_string(&t)
    }

    #[test]
    fn parses_the_protocol_forms() {
        let t = UnixTime::parse_iso("2026-11-30T03:55:06.000Z").unwrap();
        assert_eq!(t.as_secs(), 1_796_010_906);
        // The Python client writes microseconds and a numeric offset.
        let p = UnixTime::parse_iso("2026-11-27T04:22:57.113125+00:00").unwrap();
        assert_eq!(p.as_millis(), 1_795_753_377_113);
        assert_eq!(iso(p), "2026-11-27T04:22:57.113Z");
        let off = UnixTime::parse_iso("2026-11-27T06:22:57+02:00").unwrap();
        assert_eq!(iso(off), "2026-11-27T04:22:57.000Z");
        assert_eq!(
            UnixTime::parse_iso("1970-01-01T00:00Z").unwrap(),
            UnixTime::EPOCH
        );
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for bad in [
            "",
            "2026-11-27",
            "2026-11-27T04:22:57",
            "2026-11-27 04:22:57Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T00:00:00.Z",
            "2026-11-27T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "+2026-11-27T00:00:00Z",
        ] {
            assert!(UnixTime::parse_iso(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            UnixTime::parse_iso("2024-02-29T00:00:00Z")
                .map(iso)
                .unwrap(),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn round_trips_every_day_boundary_across_centuries() {
        let mut day = 0u64;
        while day < 2_932_896 {
            let t = UnixTime::from_millis(day * MS_PER_DAY + 45_296_789);
            let text = t.to_iso_bytes().unwrap();
            let back = UnixTime::parse_iso(core::str::from_utf8(&text).unwrap()).unwrap();
            assert_eq!(back, t);
            day += 97;
        }
        assert!(
            UnixTime::from_millis(MAX_MILLIS + 1)
                .to_iso_bytes()
                .is_err()
        );
    }
}
