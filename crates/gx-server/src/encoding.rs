//! Text encodings the wire protocol uses: base64url for JWS parts, PEM for keys, ISO-8601 instants.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use gx_core::UnixTime;

/// Unpadded base64url, as JWS and JWK use it.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A PEM block with 64-character lines and a trailing newline, as Node's `crypto` writes it.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut out = String::with_capacity(b64.len() + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// `Date.prototype.toISOString` text of an instant in Unix milliseconds.
pub(crate) fn iso(millis: u64) -> String {
    match UnixTime::from_millis(millis).to_iso_bytes() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        // Past year 9999: cannot happen for server-chosen times (TTL is capped at 7 days).
        Err(_) => String::from("9999-12-31T23:59:59.999Z"),
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of `bytes` as lowercase hex (how API keys are stored).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_wraps_at_64() {
        let p = pem("PUBLIC KEY", &[0u8; 60]);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 16);
        assert_eq!(lines[3], "-----END PUBLIC KEY-----");
        assert!(p.ends_with('\n'));
    }

    #[test]
    fn iso_and_hex() {
        assert_eq!(iso(1_796_010_906_000), "2026-11-30T03:55:06.000Z");
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
