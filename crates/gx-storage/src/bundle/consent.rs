//! The consent bundle as the protocol sends it, with the audit private key kept secret.
//!
//! [`ConsentBundle`] is the body of `POST /v1/consent-bundles` (and of a refresh): the
//! wire JSON of `protocol.md`, camelCase. It owns its strings; the audit private key sits
//! in an [`AuditPrivateKey`], which zeroizes its memory on drop and never shows itself in
//! `Debug`. Reading is tolerant as the protocol asks: each field is read at the top level
//! and, when absent there, under `data`; unknown fields are ignored. A missing or
//! mistyped field is an [`BundleJsonError`] that names it.
//!
//! The JWKS snapshot stays raw JSON text here (checked for shape, never interpreted):
//! gx-core's [`JwksSnapshot`](gx_core::JwksSnapshot) parses it once, where it is used
//! ([`DeviceSession`](crate::DeviceSession)). The one field gx adds to what the server
//! sends is `gxAuditKeyHistory` ([`AuditKeyHistory`]): stored inside the encrypted file,
//! so it is as tamper-proof as the bundle itself.

use core::fmt;

use gx_core::UnixTime;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use zeroize::Zeroizing;

use super::json::{self, BundleJsonError, Fields};
use crate::device::AuditKeyHistory;

/// A consent bundle: everything a device needs to act for a user while offline.
///
/// Field names follow the wire JSON (`bundleId` → [`bundle_id`](Self::bundle_id), ...).
/// The type is deliberately not `Clone`: the audit private key should exist once.
#[derive(PartialEq, Eq)]
pub struct ConsentBundle {
    bundle_id: String,
    grant_token: String,
    /// The `jwksSnapshot` object as compact JSON text, parsed only by gx-core.
    jwks_snapshot: String,
    offline_audit_key: OfflineAuditKey,
    checkpoint_at: UnixTime,
    sync_endpoint: String,
    offline_expires_at: UnixTime,
    key_history: AuditKeyHistory,
}

/// The Ed25519 key pair a device signs its audit entries with (`offlineAuditKey`).
#[derive(Debug, PartialEq, Eq)]
pub struct OfflineAuditKey {
    /// The public key, SPKI PEM.
    pub public_key: String,
    /// The private key, PKCS#8 PEM; secret.
    pub private_key: AuditPrivateKey,
    /// The signature algorithm; `Ed25519` is the only one the service issues.
    pub algorithm: String,
}

/// The audit private key (PKCS#8 PEM): zeroized on drop, redacted in `Debug`.
#[derive(Eq)]
pub struct AuditPrivateKey(Zeroizing<String>);

impl AuditPrivateKey {
    /// Wraps a PKCS#8 PEM text.
    pub fn new(pem: String) -> Self {
        Self(Zeroizing::new(pem))
    }

    /// The PEM text. Named so that every place that handles the secret shows it.
    pub fn expose_pem(&self) -> &str {
        &self.0
    }
}

impl PartialEq for AuditPrivateKey {
    /// Compares without an early exit, so the time taken does not tell where keys differ.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for AuditPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditPrivateKey(<redacted>)")
    }
}

impl fmt::Debug for ConsentBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The grant token is a bearer credential too; show only which one it is.
        f.debug_struct("ConsentBundle")
            .field("bundle_id", &self.bundle_id)
            .field(
                "grant_token",
                &format_args!("<{} bytes>", self.grant_token.len()),
            )
            .field("jwks_snapshot", &self.jwks_snapshot)
            .field("offline_audit_key", &self.offline_audit_key)
            .field("checkpoint_at", &self.checkpoint_at)
            .field("sync_endpoint", &self.sync_endpoint)
            .field("offline_expires_at", &self.offline_expires_at)
            .finish()
    }
}

impl ConsentBundle {
    /// Assembles a bundle from its parts (the server side, and tests). `jwks_snapshot`
    /// is the `jwksSnapshot` object's JSON text.
    pub fn new(
        bundle_id: String,
        grant_token: String,
        jwks_snapshot: String,
        offline_audit_key: OfflineAuditKey,
        checkpoint_at: UnixTime,
        sync_endpoint: String,
        offline_expires_at: UnixTime,
    ) -> Self {
        Self {
            bundle_id,
            grant_token,
            jwks_snapshot,
            offline_audit_key,
            checkpoint_at,
            sync_endpoint,
            offline_expires_at,
            key_history: AuditKeyHistory::default(),
        }
    }

    /// Reads the wire JSON of a bundle (a server response or a decrypted file).
    ///
    /// # Errors
    /// [`BundleJsonError`] naming the first field that is missing or has the wrong type,
    /// or the position of a syntax error. No part of the input is echoed.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleJsonError> {
        Self::from_value(json::parse(bytes)?)
    }

    /// Reads a bundle out of an already parsed JSON value; see [`from_json`](Self::from_json).
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json).
    pub fn from_value(value: Value) -> Result<Self, BundleJsonError> {
        let mut top = Fields::top(value)?;
        let jwks_value = top.take("jwksSnapshot")?;
        // Shape only; the keys are judged by gx-core when it parses the text.
        let mut jwks = Fields::nested(jwks_value.clone(), "jwksSnapshot")?;
        jwks.take_array_of_objects("keys", "jwksSnapshot.keys")?;
        jwks.take_iso("fetchedAt", "jwksSnapshot.fetchedAt")?;
        jwks.take_iso("validUntil", "jwksSnapshot.validUntil")?;
        // Serializing a parsed value cannot fail.
        let jwks_snapshot = serde_json::to_string(&jwks_value).unwrap_or_default();
        let key_history = match top.take_optional("gxAuditKeyHistory") {
            None => AuditKeyHistory::default(),
            Some(v) => AuditKeyHistory::from_json_value(&v).ok_or(BundleJsonError::WrongType {
                field: "gxAuditKeyHistory",
                expected: "an array of audit key records",
            })?,
        };
        let mut key = Fields::nested(top.take("offlineAuditKey")?, "offlineAuditKey")?;
        let offline_audit_key = OfflineAuditKey {
            public_key: key.take_string("publicKey", "offlineAuditKey.publicKey")?,
            private_key: AuditPrivateKey::new(
                key.take_string("privateKey", "offlineAuditKey.privateKey")?,
            ),
            algorithm: key.take_string("algorithm", "offlineAuditKey.algorithm")?,
        };
        Ok(Self {
            bundle_id: top.take_string("bundleId", "bundleId")?,
            grant_token: top.take_string("grantToken", "grantToken")?,
            jwks_snapshot,
            offline_audit_key,
            checkpoint_at: top.take_millis("checkpointAt", "checkpointAt")?,
            sync_endpoint: top.take_string("syncEndpoint", "syncEndpoint")?,
            offline_expires_at: top.take_iso("offlineExpiresAt", "offlineExpiresAt")?,
            key_history,
        })
    }

    /// The wire JSON (without the `data` copy), in a buffer that is zeroized on drop
    /// because it holds the audit private key.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.json_size_hint()));
        // Writing into a Vec cannot fail, and every field serializes.
        let _ = serde_json::to_writer(&mut *out, self);
        out
    }

    /// An upper estimate of [`to_json`](Self::to_json)'s length, so a buffer sized with it
    /// never reallocates (a reallocation would leave a copy of the secret behind).
    pub(crate) fn json_size_hint(&self) -> usize {
        let key = &self.offline_audit_key;
        let strings: usize = [
            &self.bundle_id,
            &self.grant_token,
            &self.sync_endpoint,
            &key.public_key,
            key.private_key.expose_pem(),
            &key.algorithm,
        ]
        .into_iter()
        .map(escaped_len)
        .sum();
        // The snapshot goes out as the raw text it is; each history record is at most
        // 300 bytes.
        let jwks = self.jwks_snapshot.len();
        let history = self.key_history.len() * 300 + 32;
        // 1 KiB covers the field names, the times, the numbers and the punctuation.
        strings + jwks + history + 1024
    }

    /// The bundle's id (`bundleId`, `bundle_<ULID>`).
    pub fn bundle_id(&self) -> &str {
        &self.bundle_id
    }

    /// The RS256 grant token (`grantToken`), a compact JWS.
    pub fn grant_token(&self) -> &str {
        &self.grant_token
    }

    /// The issuer's public keys (`jwksSnapshot`) as JSON text: hand it to gx-core's
    /// [`JwksSnapshot::parse`](gx_core::JwksSnapshot::parse).
    pub fn jwks_snapshot_json(&self) -> &str {
        &self.jwks_snapshot
    }

    /// Every audit key the device's log was signed with, and from which seq
    /// (`gxAuditKeyHistory`; empty for a bundle fresh from the server, whose key signs
    /// from seq 1).
    pub fn key_history(&self) -> &AuditKeyHistory {
        &self.key_history
    }

    /// The bundle with `history` as its audit key history (a refresh records the key it
    /// replaces).
    #[must_use]
    pub fn with_key_history(mut self, history: AuditKeyHistory) -> Self {
        self.key_history = history;
        self
    }

    /// The audit key pair (`offlineAuditKey`).
    pub fn offline_audit_key(&self) -> &OfflineAuditKey {
        &self.offline_audit_key
    }

    /// When the bundle was issued (`checkpointAt`, milliseconds on the wire).
    pub fn checkpoint_at(&self) -> UnixTime {
        self.checkpoint_at
    }

    /// Where the audit log is uploaded (`syncEndpoint`).
    pub fn sync_endpoint(&self) -> &str {
        &self.sync_endpoint
    }

    /// Until when the device may act offline (`offlineExpiresAt`); the grant token's
    /// `exp` and the snapshot's `validUntil` are the same instant.
    pub fn offline_expires_at(&self) -> UnixTime {
        self.offline_expires_at
    }

    /// Whether the offline window is over at `now` (at `offlineExpiresAt` exactly, too,
    /// as a JWT `exp` is).
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.offline_expires_at
    }

    /// Whether the bundle should be refreshed at `now`: less than 20 % of the offline
    /// window (`checkpointAt`..`offlineExpiresAt`) is left, as the TypeScript client
    /// decides. True once expired, and for an empty or inverted window.
    pub fn should_refresh(&self, now: UnixTime) -> bool {
        let end = self.offline_expires_at.as_millis();
        let window = end.saturating_sub(self.checkpoint_at.as_millis());
        let left = end.saturating_sub(now.as_millis());
        // left < window / 5, without losing the remainder of the division.
        u128::from(left) * 5 < u128::from(window)
    }
}

/// The length of a string as serde_json writes it, quotes included: control characters
/// take up to 6 bytes (`\u0001`), quote and backslash 2.
fn escaped_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// An instant as the wire writes it: `toISOString` text.
struct Iso(UnixTime);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// JSON text written as is.
struct Raw<'a>(&'a str);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.0.to_owned()) {
            Ok(raw) => raw.serialize(s),
            Err(_) => Err(serde::ser::Error::custom("jwksSnapshot is not JSON")),
        }
    }
}

impl Serialize for OfflineAuditKey {
    /// Writes the private key too: this is what goes into the encrypted file.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("OfflineAuditKey", 3)?;
        st.serialize_field("publicKey", &self.public_key)?;
        st.serialize_field("privateKey", self.private_key.expose_pem())?;
        st.serialize_field("algorithm", &self.algorithm)?;
        st.end()
    }
}

impl Serialize for ConsentBundle {
    /// The wire JSON, private key included: serialize only into protected places.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = if self.key_history.is_empty() { 7 } else { 8 };
        let mut st = s.serialize_struct("ConsentBundle", fields)?;
        st.serialize_field("bundleId", &self.bundle_id)?;
        st.serialize_field("grantToken", &self.grant_token)?;
        st.serialize_field("jwksSnapshot", &Raw(&self.jwks_snapshot))?;
        st.serialize_field("offlineAuditKey", &self.offline_audit_key)?;
        st.serialize_field("checkpointAt", &self.checkpoint_at.as_millis())?;
        st.serialize_field("syncEndpoint", &self.sync_endpoint)?;
        st.serialize_field("offlineExpiresAt", &Iso(self.offline_expires_at))?;
        if !self.key_history.is_empty() {
            st.serialize_field("gxAuditKeyHistory", &self.key_history)?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for ConsentBundle {
    /// Reads the wire JSON with the `data` fallback of [`ConsentBundle::from_value`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_hint_covers_the_json_so_the_secret_buffer_never_reallocates() {
        let json = include_bytes!("../../../../fixtures/peer/bundle.json");
        let b = ConsentBundle::from_json(json).unwrap();
        let out = b.to_json();
        assert!(out.len() <= b.json_size_hint());
        assert_eq!(out.capacity(), b.json_size_hint());
        // Escape-heavy content (every character escaped) still fits.
        let nasty = "\u{1}\"\\\n".repeat(3000);
        let mut v: Value = serde_json::from_slice(json).unwrap();
        v["offlineAuditKey"]["privateKey"] = nasty.into();
        v["jwksSnapshot"]["keys"][0]["n"] = "\u{2}".repeat(3000).into();
        v["gxAuditKeyHistory"] = serde_json::json!([]);
        let b = ConsentBundle::from_value(v).unwrap();
        let out = b.to_json();
        assert!(out.len() <= b.json_size_hint());
        assert!(out.len() > 30_000, "the escapes were written");
    }
}
