//! The issuer's RS256 signing keys: generation, rotation, the published JWKS, and signing.
//!
//! One key signs at a time (the current key). A rotation retires it but keeps its public
//! half in the JWKS for [`MAX_TOKEN_LIFETIME_SECS`] (the longest a token can live), so that
//! every token issued before the rotation still verifies; after that the retired key is
//! deleted from the store, private half included. The `kid` follows the hosted service's
//! style, `grantex-YYYY-MM`; a second key in the same month gets `-2`, `-3`, ... Keys are
//! RSA-2048, generated on first start, persisted by the [`Store`] (sealed under the
//! operator's [`KeyEncryptionKey`] when one is given), and rotated when the month changes:
//! at start and by the server's maintenance timer ([`KeyRing::maintain`]).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::encoding::{b64url, iso};
use crate::error::ServerError;
use crate::sealing::{KeyEncryptionKey, is_sealed};
use crate::store::{SigningKeyRecord, Store};

/// The longest a grant token may live (`offlineTTL` ≤ 168 h): how long a retired key stays published.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 168 * 3600;

/// A public RSA key as a JWK, in the hosted service's field order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RsaJwk {
    kty: &'static str,
    pub(crate) kid: String,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    n: String,
    e: String,
}

struct IssuerKey {
    kid: String,
    created_at: u64,
    retired_at: Option<u64>,
    pair: RsaKeyPair,
    jwk: RsaJwk,
}

/// All signing keys, loaded from the store.
pub(crate) struct KeyRing {
    keys: Vec<IssuerKey>,
}

impl core::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.kid))
            .finish()
    }
}

fn load(
    record: &SigningKeyRecord,
    kek: Option<&KeyEncryptionKey>,
) -> Result<IssuerKey, ServerError> {
    let plain = if is_sealed(&record.private_key) {
        let kek = kek.ok_or_else(|| ServerError::KekMissing(record.kid.clone()))?;
        kek.open(&record.kid, &record.private_key)?
    } else {
        Zeroizing::new(record.private_key.to_vec())
    };
    let pair = RsaKeyPair::from_pkcs8(&plain)
        .map_err(|_| ServerError::CorruptSigningKey(record.kid.clone()))?;
    let public = pair.public_key();
    let jwk = RsaJwk {
        kty: "RSA",
        kid: record.kid.clone(),
        use_: "sig",
        alg: "RS256",
        n: b64url(public.modulus().big_endian_without_leading_zero()),
        e: b64url(public.exponent().big_endian_without_leading_zero()),
    };
    Ok(IssuerKey {
        kid: record.kid.clone(),
        created_at: record.created_at,
        retired_at: record.retired_at,
        pair,
        jwk,
    })
}

/// `grantex-YYYY-MM` for the month of `now_ms`.
fn month_kid(now_ms: u64) -> String {
    let text = iso(now_ms);
    format!("grantex-{}", text.get(..7).unwrap_or("0000-00"))
}

impl KeyRing {
    /// Loads the keys; generates the first key, or a new one when the current key belongs
    /// to an earlier month (monthly rotation, as the `kid` style implies). With a
    /// key-encryption key, plain keys found in the store are sealed under it.
    pub(crate) fn load_or_rotate(
        store: &dyn Store,
        now_ms: u64,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, ServerError> {
        if let Some(kek) = kek {
            for record in store.signing_keys()? {
                if !is_sealed(&record.private_key) {
                    let sealed = kek.seal(&record.kid, &record.private_key)?;
                    store.reseal_signing_key(&record.kid, &sealed)?;
                }
            }
        }
        Self::maintain(store, now_ms, kek)
    }

    /// What the maintenance timer runs: deletes keys retired longer ago than the longest
    /// token lifetime, rotates when the current key is from an earlier month (or there is
    /// none), and loads the result (picking up rotations by other processes too).
    pub(crate) fn maintain(
        store: &dyn Store,
        now_ms: u64,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, ServerError> {
        store.delete_retired_signing_keys(now_ms.saturating_sub(MAX_TOKEN_LIFETIME_SECS * 1000))?;
        let ring = Self::reload(store, kek)?;
        match ring.current_kid() {
            Some(cur) if cur.starts_with(&month_kid(now_ms)) => Ok(ring),
            _ => {
                ring.rotate(store, now_ms, kek)?;
                Self::reload(store, kek)
            }
        }
    }

    /// Loads every key the store holds.
    pub(crate) fn reload(
        store: &dyn Store,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, ServerError> {
        Self::from_records(&store.signing_keys()?, kek)
    }

    pub(crate) fn from_records(
        records: &[SigningKeyRecord],
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, ServerError> {
        let keys = records
            .iter()
            .map(|r| load(r, kek))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// Whether this ring holds exactly the keys of `records`, in the same states: when it
    /// does, nothing needs reloading.
    pub(crate) fn matches(&self, records: &[SigningKeyRecord]) -> bool {
        self.keys.len() == records.len()
            && self.keys.iter().zip(records).all(|(k, r)| {
                k.kid == r.kid && k.retired_at == r.retired_at && k.created_at == r.created_at
            })
    }

    fn current_kid(&self) -> Option<&str> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .map(|k| k.kid.as_str())
    }

    /// Generates and stores a new current key, retiring the old one, unless another
    /// process rotated since this ring was loaded (then nothing changes). Returns the
    /// `kid` that is current afterwards; reload to use it.
    pub(crate) fn rotate(
        &self,
        store: &dyn Store,
        now_ms: u64,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<String, ServerError> {
        let base = month_kid(now_ms);
        let mut kid = base.clone();
        let mut n = 2;
        while self.keys.iter().any(|k| k.kid == kid) {
            kid = format!("{base}-{n}");
            n += 1;
        }
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| ServerError::KeyGeneration)?;
        let der = pair.as_der().map_err(|_| ServerError::KeyGeneration)?;
        let private_key = match kek {
            Some(kek) => Zeroizing::new(kek.seal(&kid, der.as_ref())?),
            None => Zeroizing::new(der.as_ref().to_vec()),
        };
        let record = SigningKeyRecord {
            kid: kid.clone(),
            private_key,
            created_at: now_ms,
            retired_at: None,
        };
        if store.add_signing_key(&record, self.current_kid())? {
            Ok(kid)
        } else {
            // Another process rotated first: its key is the current one.
            let theirs = Self::reload(store, kek)?;
            Ok(theirs.current_kid().unwrap_or_default().to_owned())
        }
    }

    fn current(&self) -> Result<&IssuerKey, ServerError> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .ok_or(ServerError::CorruptSigningKey(String::from(
                "<no current key>",
            )))
    }

    /// The keys a verifier may need at `now_ms`: the current one and every key retired
    /// less than [`MAX_TOKEN_LIFETIME_SECS`] ago, newest first.
    pub(crate) fn published(&self, now_ms: u64) -> Vec<RsaJwk> {
        let horizon = MAX_TOKEN_LIFETIME_SECS * 1000;
        self.keys
            .iter()
            .rev()
            .filter(|k| {
                k.retired_at
                    .is_none_or(|r| r.saturating_add(horizon) > now_ms)
            })
            .map(|k| k.jwk.clone())
            .collect()
    }

    /// Signs `claims` (a JSON object) as a compact RS256 JWS with the current key.
    pub(crate) fn sign_jwt(&self, claims: &impl Serialize) -> Result<String, ServerError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            kid: &'a str,
            typ: &'static str,
        }
        let key = self.current()?;
        let header = serde_json::to_vec(&Header {
            alg: "RS256",
            kid: &key.kid,
            typ: "JWT",
        })
        .map_err(|_| ServerError::Signing)?;
        let claims = serde_json::to_vec(claims).map_err(|_| ServerError::Signing)?;
        let mut jws = b64url(&header);
        jws.push('.');
        jws.push_str(&b64url(&claims));
        let mut sig = vec![0u8; key.pair.public_modulus_len()];
        key.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                jws.as_bytes(),
                &mut sig,
            )
            .map_err(|_| ServerError::Signing)?;
        jws.push('.');
        jws.push_str(&b64url(&sig));
        Ok(jws)
    }
}

/// The claims of a grant token, in the hosted service's order.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct GrantClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) agt: &'a str,
    pub(crate) dev: &'a str,
    pub(crate) scp: &'a [String],
    pub(crate) jti: &'a str,
    pub(crate) grnt: &'a str,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use base64ct::Encoding as _;

    #[test]
    fn first_key_rotation_and_publication() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let t0 = 1_796_010_906_000; // 2026-11-30
        let ring = KeyRing::load_or_rotate(&store, t0, None).unwrap();
        assert_eq!(ring.published(t0).len(), 1);
        assert_eq!(ring.published(t0)[0].kid, "grantex-2026-11");
        // Same month: the key is kept.
        let again = KeyRing::load_or_rotate(&store, t0 + 1000, None).unwrap();
        assert_eq!(again.published(t0)[0].kid, "grantex-2026-11");
        // Explicit rotation in the same month gets a suffix; the old key stays published.
        again.rotate(&store, t0 + 2000, None).unwrap();
        let ring = KeyRing::reload(&store, None).unwrap();
        let kids: Vec<String> = ring
            .published(t0 + 2000)
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["grantex-2026-11-2", "grantex-2026-11"]);
        // Past the token lifetime the retired key is dropped.
        let later = t0 + 2000 + MAX_TOKEN_LIFETIME_SECS * 1000;
        assert_eq!(ring.published(later).len(), 1);
        // A new month rotates on load.
        let dec = KeyRing::load_or_rotate(&store, t0 + 86_400_000, None).unwrap();
        assert_eq!(dec.published(t0 + 86_400_000)[0].kid, "grantex-2026-12");
        // A stale ring's rotation does not add a second key: the store's current key wins.
        assert_eq!(
            again.rotate(&store, t0 + 86_400_000, None).unwrap(),
            "grantex-2026-12"
        );
        assert_eq!(store.signing_keys().unwrap().len(), 3);
    }

    #[test]
    fn retired_keys_are_deleted_once_no_token_they_signed_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let t0 = 1_796_010_906_000; // 2026-11-30
        let ring = KeyRing::load_or_rotate(&store, t0, None).unwrap();
        let dec = t0 + 86_400_000;
        let ring2 = KeyRing::maintain(&store, dec, None).unwrap();
        assert_eq!(ring2.published(dec).len(), 2);
        assert!(!ring.matches(&store.signing_keys().unwrap()));
        assert!(ring2.matches(&store.signing_keys().unwrap()));
        // Just inside the horizon both rows stay; past it the retired row is gone.
        let edge = dec + MAX_TOKEN_LIFETIME_SECS * 1000 - 1;
        KeyRing::maintain(&store, edge, None).unwrap();
        assert_eq!(store.signing_keys().unwrap().len(), 2);
        let past = dec + MAX_TOKEN_LIFETIME_SECS * 1000 + 1;
        let ring3 = KeyRing::maintain(&store, past, None).unwrap();
        let kids: Vec<String> = store
            .signing_keys()
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["grantex-2026-12"]);
        assert_eq!(ring3.published(past).len(), 1);
    }

    #[test]
    fn keys_are_sealed_at_rest_under_the_kek_and_need_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let t0 = 1_796_010_906_000;
        // A key written before a KEK was configured is sealed when one is.
        KeyRing::load_or_rotate(&store, t0, None).unwrap();
        let plain = store.signing_keys().unwrap()[0].private_key.clone();
        assert!(RsaKeyPair::from_pkcs8(&plain).is_ok());
        let kek = KeyEncryptionKey::from_hex(&"42".repeat(32)).unwrap();
        let ring = KeyRing::load_or_rotate(&store, t0, Some(&kek)).unwrap();
        let stored = store.signing_keys().unwrap()[0].private_key.clone();
        assert!(is_sealed(&stored));
        let probe = &plain[100..132];
        assert!(!stored.windows(32).any(|w| w == probe));
        assert!(ring.sign_jwt(&serde_json::json!({"a": 1})).is_ok());
        // New keys are sealed; without the KEK, or with another, nothing loads.
        ring.rotate(&store, t0 + 1, Some(&kek)).unwrap();
        assert!(
            store
                .signing_keys()
                .unwrap()
                .iter()
                .all(|k| is_sealed(&k.private_key))
        );
        assert_eq!(
            KeyRing::reload(&store, None).unwrap_err().code(),
            "KEK_MISSING"
        );
        let other = KeyEncryptionKey::from_hex(&"43".repeat(32)).unwrap();
        assert_eq!(
            KeyRing::reload(&store, Some(&other)).unwrap_err().code(),
            "KEY_DECRYPTION"
        );
        assert_eq!(KeyRing::reload(&store, Some(&kek)).unwrap().keys.len(), 2);
    }

    #[test]
    fn jwt_has_protocol_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let ring = KeyRing::load_or_rotate(&store, 1_796_010_906_000, None).unwrap();
        let scp = vec![String::from("a")];
        let claims = GrantClaims {
            iss: "i",
            sub: "s",
            agt: "a",
            dev: "d",
            scp: &scp,
            jti: "j",
            grnt: "g",
            iat: 1,
            exp: 2,
        };
        let jwt = ring.sign_jwt(&claims).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = base64ct::Base64UrlUnpadded::decode_vec(parts[0]).unwrap();
        assert_eq!(
            header,
            br#"{"alg":"RS256","kid":"grantex-2026-11","typ":"JWT"}"#
        );
        assert_eq!(
            base64ct::Base64UrlUnpadded::decode_vec(parts[2])
                .unwrap()
                .len(),
            256
        );
    }
}
