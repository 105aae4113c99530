//! The audit key history: every audit key a device's log was signed with, and the seq
//! from which each one signs.
//!
//! A refresh brings a new Ed25519 audit key; entries before it stay signed with the old
//! one. To verify a log that lived through any number of refreshes, a verifier needs each
//! key and where it starts. The history is a list of [`KeyRecord`]s, oldest first: the
//! first key signs from seq 1, each later record says "from seq `n`, key `k`" and carries
//! an *endorsement*: an Ed25519 signature, by the key it replaces, over the bundle id,
//! `n`, the old key and the new key. The history is stored inside the encrypted bundle
//! file (`gxAuditKeyHistory`), written in the same atomic replacement as the new key, and
//! its last key must be the bundle's current key.
//!
//! What that proves: the bundle file is authenticated with the bundle key (AES-256-GCM),
//! so someone who can write the log's directory but does not hold the bundle key can
//! neither add a key of their own nor move a boundary; the endorsements chain every key
//! to the first one, so the history also shows that each switch was made by the holder
//! of the previous key. See `docs/audit-log.md`.
//!
//! Memory: 104 bytes per record, one record per refresh.

use gx_core::{AuditSigningKey, AuditVerifyingKey, EntryHash, EntrySignature};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::KeySpan;

/// The most records a history may hold: one per refresh, so years of daily refreshes.
pub const MAX_KEY_RECORDS: usize = 4096;

/// Domain separation for endorsements: no entry hash can collide with one.
const ENDORSEMENT_DOMAIN: &[u8] = b"gx-audit-key-rotation-v1\0";

/// One audit key of the history and the seq from which it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    public_key: AuditVerifyingKey,
    from_seq: u64,
    endorsement: Option<EntrySignature>,
}

impl KeyRecord {
    /// The audit public key.
    pub fn public_key(&self) -> &AuditVerifyingKey {
        &self.public_key
    }

    /// The first seq this key signs.
    pub fn from_seq(&self) -> u64 {
        self.from_seq
    }

    /// The signature of the replaced key over this record (`None` for the first key).
    pub fn endorsement(&self) -> Option<&EntrySignature> {
        self.endorsement.as_ref()
    }
}

/// Why a key history does not hold together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyHistoryError {
    /// The first record does not start at seq 1, or carries an endorsement.
    BadFirstRecord,
    /// A record starts before the one it replaces.
    SeqOrder {
        /// The record's index.
        index: usize,
    },
    /// A record's endorsement is missing or does not verify under the previous key.
    Endorsement {
        /// The record's index.
        index: usize,
    },
    /// The last key is not the bundle's current audit key.
    NotCurrent,
    /// More than [`MAX_KEY_RECORDS`] records.
    TooLong,
}

impl core::fmt::Display for KeyHistoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadFirstRecord => f.write_str("its first key does not start at seq 1"),
            Self::SeqOrder { index } => write!(f, "key {index} starts before the key it replaces"),
            Self::Endorsement { index } => {
                write!(f, "key {index} is not endorsed by the key it replaces")
            }
            Self::NotCurrent => f.write_str("its last key is not the bundle's audit key"),
            Self::TooLong => write!(f, "it holds more than {MAX_KEY_RECORDS} keys"),
        }
    }
}

impl core::error::Error for KeyHistoryError {}

/// Every audit key a log was signed with, oldest first (see the module docs).
///
/// Empty for a bundle fresh from the server: its own key signs from seq 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditKeyHistory {
    records: Vec<KeyRecord>,
}

impl AuditKeyHistory {
    /// The records, oldest first.
    pub fn records(&self) -> &[KeyRecord] {
        &self.records
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no refresh was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The history after a refresh from `old` to `new`, which signs from `from_seq` on;
    /// the record is endorsed by `old`. The first refresh also records `old` as the key
    /// that signed from seq 1.
    #[must_use]
    pub fn rotated(
        &self,
        bundle_id: &str,
        old: &AuditSigningKey,
        new: AuditVerifyingKey,
        from_seq: u64,
    ) -> Self {
        let mut records = self.records.clone();
        let old_public = old.verifying_key();
        if records.is_empty() {
            records.push(KeyRecord {
                public_key: old_public,
                from_seq: 1,
                endorsement: None,
            });
        }
        let digest = endorsement_digest(bundle_id, from_seq, &old_public, &new);
        records.push(KeyRecord {
            public_key: new,
            from_seq: from_seq.max(1),
            endorsement: Some(old.sign_hash(&digest)),
        });
        Self { records }
    }

    /// Checks that the history holds together and ends in `current`, the bundle's key.
    ///
    /// # Errors
    /// The first [`KeyHistoryError`] found.
    pub fn check(
        &self,
        bundle_id: &str,
        current: &AuditVerifyingKey,
    ) -> Result<(), KeyHistoryError> {
        if self.records.len() > MAX_KEY_RECORDS {
            return Err(KeyHistoryError::TooLong);
        }
        let Some((first, rest)) = self.records.split_first() else {
            return Ok(());
        };
        if first.from_seq != 1 || first.endorsement.is_some() {
            return Err(KeyHistoryError::BadFirstRecord);
        }
        let mut prev = first;
        for (i, rec) in rest.iter().enumerate() {
            let index = i + 1;
            if rec.from_seq < prev.from_seq {
                return Err(KeyHistoryError::SeqOrder { index });
            }
            let digest =
                endorsement_digest(bundle_id, rec.from_seq, &prev.public_key, &rec.public_key);
            let endorsed = rec
                .endorsement
                .is_some_and(|sig| prev.public_key.verify_hash(&digest, &sig).is_ok());
            if !endorsed {
                return Err(KeyHistoryError::Endorsement { index });
            }
            prev = rec;
        }
        if prev.public_key != *current {
            return Err(KeyHistoryError::NotCurrent);
        }
        Ok(())
    }

    /// The keys to verify a log with, each with the seq it starts at; `current` alone
    /// from seq 1 when the history is empty.
    pub fn spans(&self, current: &AuditVerifyingKey) -> Vec<KeySpan> {
        if self.records.is_empty() {
            return vec![KeySpan::from_seq(*current, 1)];
        }
        self.records
            .iter()
            .map(|r| KeySpan::from_seq(r.public_key, r.from_seq))
            .collect()
    }

    /// Reads the `gxAuditKeyHistory` array; `None` when it is malformed.
    pub(crate) fn from_json_value(value: &Value) -> Option<Self> {
        let items = value.as_array()?;
        if items.len() > MAX_KEY_RECORDS {
            return None;
        }
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let obj = item.as_object()?;
            let key_bytes = hex32(obj.get("publicKey")?.as_str()?)?;
            let public_key = AuditVerifyingKey::from_bytes(&key_bytes).ok()?;
            let from_seq = obj.get("fromSeq")?.as_u64()?;
            let endorsement = match obj.get("endorsement") {
                None | Some(Value::Null) => None,
                Some(v) => Some(EntrySignature::from_hex(v.as_str()?).ok()?),
            };
            records.push(KeyRecord {
                public_key,
                from_seq,
                endorsement,
            });
        }
        Some(Self { records })
    }
}

impl Serialize for AuditKeyHistory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.records.len()))?;
        for r in &self.records {
            seq.serialize_element(r)?;
        }
        seq.end()
    }
}

impl Serialize for KeyRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = if self.endorsement.is_some() { 3 } else { 2 };
        let mut st = s.serialize_struct("KeyRecord", n)?;
        st.serialize_field("publicKey", &hex(&self.public_key.to_bytes()))?;
        st.serialize_field("fromSeq", &self.from_seq)?;
        if let Some(sig) = &self.endorsement {
            st.serialize_field("endorsement", sig.to_hex().as_str())?;
        }
        st.end()
    }
}

/// What the replaced key signs: SHA-256 over the domain, the bundle id, the first seq
/// and both public keys, as an [`EntryHash`] so that gx-core's Ed25519 code signs it.
fn endorsement_digest(
    bundle_id: &str,
    from_seq: u64,
    old: &AuditVerifyingKey,
    new: &AuditVerifyingKey,
) -> EntryHash {
    let mut h = Sha256::new();
    h.update(ENDORSEMENT_DOMAIN);
    h.update((bundle_id.len() as u64).to_be_bytes());
    h.update(bundle_id.as_bytes());
    h.update(from_seq.to_be_bytes());
    h.update(old.to_bytes());
    h.update(new.to_bytes());
    EntryHash::from_bytes(h.finalize().into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let s = core::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> AuditSigningKey {
        AuditSigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_rotated_history_checks_and_round_trips_through_json() {
        let h = AuditKeyHistory::default();
        assert!(h.check("b", &key(1).verifying_key()).is_ok());
        let h = h.rotated("b", &key(1), key(2).verifying_key(), 4);
        let h = h.rotated("b", &key(2), key(3).verifying_key(), 9);
        assert_eq!(h.len(), 3);
        h.check("b", &key(3).verifying_key()).unwrap();
        let spans = h.spans(&key(3).verifying_key());
        assert_eq!(spans.len(), 3);
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(AuditKeyHistory::from_json_value(&json).unwrap(), h);
    }

    #[test]
    fn forged_and_inconsistent_histories_are_refused() {
        let h = AuditKeyHistory::default()
            .rotated("b", &key(1), key(2).verifying_key(), 4)
            .rotated("b", &key(2), key(3).verifying_key(), 9);
        // Not ending in the bundle's key.
        assert_eq!(
            h.check("b", &key(2).verifying_key()),
            Err(KeyHistoryError::NotCurrent)
        );
        // Another bundle's history does not carry over.
        assert_eq!(
            h.check("other", &key(3).verifying_key()),
            Err(KeyHistoryError::Endorsement { index: 1 })
        );
        // An attacker's key appended with a self-made endorsement.
        let forged = h.rotated("b", &key(66), key(66).verifying_key(), 12);
        assert_eq!(
            forged.check("b", &key(66).verifying_key()),
            Err(KeyHistoryError::Endorsement { index: 3 })
        );
        // Moving a boundary breaks its endorsement.
        let mut moved = h.clone();
        moved.records[2].from_seq = 5;
        assert_eq!(
            moved.check("b", &key(3).verifying_key()),
            Err(KeyHistoryError::Endorsement { index: 2 })
        );
        let mut swapped = h.clone();
        swapped.records[0].public_key = key(66).verifying_key();
        assert!(swapped.check("b", &key(3).verifying_key()).is_err());
        let mut order = h;
        order.records[2].from_seq = 2;
        assert_eq!(
            order.check("b", &key(3).verifying_key()),
            Err(KeyHistoryError::SeqOrder { index: 2 })
        );
        assert!(
            AuditKeyHistory::from_json_value(&serde_json::json!([{"publicKey": "zz"}])).is_none()
        );
    }
}
