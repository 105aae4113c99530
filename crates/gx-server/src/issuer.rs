//! The issuer's RS256 signing keys: generation, rotation, the published JWKS, and signing.
//!
//! One key signs at a time (the current key). A rotation retires it but keeps its public
//! half in the JWKS for [`MAX_TOKEN_LIFETIME_SECS`] (the longest a token can live), so that
//! every token issued before the rotation still verifies. The `kid` follows the hosted
//! service's style, `grantex-YYYY-MM`; a second key in the same month gets `-2`, `-3`, ...
//! Keys are RSA-2048, generated on first start and persisted by the [`Store`].

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::encoding::{b64url, iso};
use crate::error::ServerError;
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
    record: SigningKeyRecord,
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
            .entries(self.keys.iter().map(|k| &k.record.kid))
            .finish()
    }
}

fn load(record: SigningKeyRecord) -> Result<IssuerKey, ServerError> {
    let pair = RsaKeyPair::from_pkcs8(&record.pkcs8)
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
    Ok(IssuerKey { record, pair, jwk })
}

/// `grantex-YYYY-MM` for the month of `now_ms`.
fn month_kid(now_ms: u64) -> String {
    let text = iso(now_ms);
    format!("grantex-{}", text.get(..7).unwrap_or("0000-00"))
}

impl KeyRing {
    /// Loads the keys; generates the first key, or a new one when the current key belongs
    /// to an earlier month (monthly rotation, as the `kid` style implies).
    pub(crate) fn load_or_rotate(store: &dyn Store, now_ms: u64) -> Result<Self, ServerError> {
        let ring = Self::load(store)?;
        match ring.current_record() {
            Some(cur) if cur.kid.starts_with(&month_kid(now_ms)) => Ok(ring),
            _ => {
                ring.rotate(store, now_ms)?;
                Self::load(store)
            }
        }
    }

    fn load(store: &dyn Store) -> Result<Self, ServerError> {
        Self::from_records(store.signing_keys()?)
    }

    /// A ring of the given stored keys (oldest first).
    pub(crate) fn from_records(records: Vec<SigningKeyRecord>) -> Result<Self, ServerError> {
        let keys = records.into_iter().map(load).collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// Whether the ring holds exactly these keys, in this state.
    pub(crate) fn holds(&self, records: &[SigningKeyRecord]) -> bool {
        self.keys.len() == records.len()
            && self
                .keys
                .iter()
                .zip(records)
                .all(|(k, r)| k.record.kid == r.kid && k.record.retired_at == r.retired_at)
    }

    fn current_record(&self) -> Option<&SigningKeyRecord> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.record.retired_at.is_none())
            .map(|k| &k.record)
    }

    /// Generates and stores a new current key, retiring the old one. Call
    /// [`KeyRing::load_or_rotate`] or reload afterwards to use it.
    pub(crate) fn rotate(&self, store: &dyn Store, now_ms: u64) -> Result<String, ServerError> {
        let base = month_kid(now_ms);
        let mut kid = base.clone();
        let mut n = 2;
        while self.keys.iter().any(|k| k.record.kid == kid) {
            kid = format!("{base}-{n}");
            n += 1;
        }
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| ServerError::KeyGeneration)?;
        let der = pair.as_der().map_err(|_| ServerError::KeyGeneration)?;
        let record = SigningKeyRecord {
            kid: kid.clone(),
            pkcs8: Zeroizing::new(der.as_ref().to_vec()),
            created_at: now_ms,
            retired_at: None,
        };
        store.add_signing_key(&record)?;
        Ok(kid)
    }

    /// Reloads after a rotation by another handle.
    pub(crate) fn reload(store: &dyn Store) -> Result<Self, ServerError> {
        Self::load(store)
    }

    fn current(&self) -> Result<&IssuerKey, ServerError> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.record.retired_at.is_none())
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
                k.record
                    .retired_at
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
            kid: &key.record.kid,
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
        let ring = KeyRing::load_or_rotate(&store, t0).unwrap();
        assert_eq!(ring.published(t0).len(), 1);
        assert_eq!(ring.published(t0)[0].kid, "grantex-2026-11");
        // Same month: the key is kept.
        let again = KeyRing::load_or_rotate(&store, t0 + 1000).unwrap();
        assert_eq!(again.published(t0)[0].kid, "grantex-2026-11");
        // Explicit rotation in the same month gets a suffix; the old key stays published.
        again.rotate(&store, t0 + 2000).unwrap();
        let ring = KeyRing::reload(&store).unwrap();
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
        let dec = KeyRing::load_or_rotate(&store, t0 + 86_400_000).unwrap();
        assert_eq!(dec.published(t0 + 86_400_000)[0].kid, "grantex-2026-12");
    }

    #[test]
    fn jwt_has_protocol_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let ring = KeyRing::load_or_rotate(&store, 1_796_010_906_000).unwrap();
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
