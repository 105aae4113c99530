//! The verifier: `verify(token, now)` in the order `docs/verification.md` describes.
//!
//! Memory: the caller passes a decode buffer; the decoded header and claims go there
//! (3/4 of the token's size at most, so [`DECODE_BUF_LEN`] always suffices) and the
//! [`VerifiedGrant`] borrows it. The signature is decoded on the stack (at most 1 KiB).
//! Nothing is allocated except inside the RSA arithmetic of the `rsa` crate.

use core::fmt;

use sha2::{Digest, Sha256};

use super::claims::parse_claims;
use super::error::{Limit, Malformed, Part, VerifyError};
use super::grant::VerifiedGrant;
use super::jwks::{JwksSnapshot, MAX_MODULUS_BYTES, UsableKey};
use super::jws::{GrantToken, MAX_TOKEN_LEN, decode_segment, decoded_len, parse_header};
use super::memo::{Replay, VerificationMemo};
use super::missing::MAX_REQUIRED_SCOPES;
use super::options::{OptionsError, VerifierOptions};
use crate::UnixTime;
use crate::provider::CryptoProvider;

/// A decode buffer of this many bytes holds the header and claims of any token up to
/// [`MAX_TOKEN_LEN`].
pub const DECODE_BUF_LEN: usize = MAX_TOKEN_LEN / 4 * 3;

/// Verifies grant tokens offline against one [`JwksSnapshot`].
///
/// Call [`verify`](Self::verify) (or [`verify_memoized`](Self::verify_memoized)) once per
/// token and action, with the current time.
///
/// ```
/// # #[cfg(feature = "rust-crypto")] {
/// use gx_core::{DECODE_BUF_LEN, JwksSnapshot, RustCrypto, UnixTime, Verifier, VerifierOptions};
///
/// // A consent bundle's `jwksSnapshot` and `grantToken` (the peer fixtures).
/// let jwks = r#"{"keys":[{"kty":"RSA","kid":"grantex-2026-11","use":"sig","alg":"RS256","n":"2oBUeH6uhrTz6Vpnp9LrlktIb1nRf9UxDTjnkbl42KVXS88FZzOwqkrLrL3Zo5XdBBWsW-soIc9grE_WHChKKClLusISft-_ZxT8FU5DOa3-s1GKKvRvNJriffUnj3qsafeLOgiR0ckc24xHXd_gYOBfsK2lIg6CiXDJEbhER4kPz_tffF0CDWsH5WoPtKuVeXT0ueKUVGu9utIP2Qds30Go5PxACWYpjs330WWzP5l2_eveqPTtDsq_WRynNiOewnMIr8AdXjjxMNBtr0wOBJp6F0UtG8HA4EYQNp1mHOGBcUMjq5SwyDN7rA9j--q7Tpkg4Dlq2_mEFrElsTzcqw","e":"AQAB"}],"fetchedAt":"2026-11-27T03:55:06.000Z","validUntil":"2026-11-30T03:55:06.000Z"}"#;
/// let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImdyYW50ZXgtMjAyNi0xMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2FwaS5ncmFudGV4LmRldiIsInN1YiI6InVzZXJfMSIsImFndCI6ImRpZDpncmFudGV4OmFnZW50XzEiLCJkZXYiOiJkZXZfMSIsInNjcCI6WyJyZWFkOmNvbnRhY3RzIiwid3JpdGU6Y2FsZW5kYXIiXSwianRpIjoidG9rXzEiLCJncm50IjoiZ3JudF8xIiwiaWF0IjoxNzk1NzUxNzA2LCJleHAiOjE3OTYwMTA5MDZ9.hXKpRw8gKWG86B7CrInsIdw6t0c3ddUKtmXDU8DBvDFSk1Y3HiTWhGCNcQYh5-MGh-5b24BRP1AcCakiG0ehjrHAAySw27h87bk9c6cvUNRmXfbwJnGgPXsLmt5m1vMfgz-cOqq7kl4bT4_ro-SA5309aYdKlXh1370PqFRw8nLQZxgWNtbZ9zBaXwUPGcf4HB-7jN1T-cCdhh0W2CYbsnCGDzToEFF6-k1pvPzGGDDTMN60NyW6D_M9guPECEIkhpesS7PbolFnQpi25b7NQTQdqNGANU86Ujf2PCRT_1pUeGgleAeE6M0_i5ujQ-12asioXMKA290K4mMTHvjPdQ";
///
/// let snapshot = JwksSnapshot::<RustCrypto>::parse(jwks.as_bytes()).unwrap();
/// let options = VerifierOptions::new().with_required_scopes(&["read:contacts"]);
/// let verifier = Verifier::new(&snapshot, options).unwrap();
/// let mut buf = [0u8; DECODE_BUF_LEN];
/// let now = UnixTime::from_secs(1_795_751_706);
/// // Errors borrow the token's header and the buffer: report them (`code()`, Display)
/// // before the buffer is reused.
/// let grant = verifier.verify(token, now, &mut buf).unwrap();
/// assert_eq!(grant.agent_did(), "did:grantex:agent_1");
/// assert_eq!(grant.grant_id(), "grnt_1");
///
/// // Four days later the key snapshot (and the token) have expired.
/// let err = verifier.verify(token, now.saturating_add_secs(4 * 86_400), &mut buf).unwrap_err();
/// assert_eq!(err.code(), "JWKS_SNAPSHOT_EXPIRED");
/// # }
/// ```
pub struct Verifier<'a, P: CryptoProvider> {
    snapshot: &'a JwksSnapshot<P>,
    options: VerifierOptions<'a>,
}

impl<P: CryptoProvider> fmt::Debug for Verifier<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, P: CryptoProvider> Verifier<'a, P> {
    /// A verifier of tokens signed by the keys of `snapshot`.
    ///
    /// # Errors
    /// [`OptionsError`] when the options cannot be honoured.
    pub fn new(
        snapshot: &'a JwksSnapshot<P>,
        options: VerifierOptions<'a>,
    ) -> Result<Self, OptionsError> {
        if options.required_scopes.len() > MAX_REQUIRED_SCOPES {
            return Err(OptionsError::TooManyRequiredScopes(
                options.required_scopes.len(),
            ));
        }
        Ok(Self { snapshot, options })
    }

    /// The options in force.
    pub fn options(&self) -> &VerifierOptions<'a> {
        &self.options
    }

    /// Verifies `token` at `now`, decoding its header and claims into `buf` (see
    /// [`DECODE_BUF_LEN`]).
    ///
    /// # Errors
    /// The first check that fails, as a [`VerifyError`]; see `docs/verification.md`.
    pub fn verify<'b>(
        &'b self,
        token: &str,
        now: UnixTime,
        buf: &'b mut [u8],
    ) -> Result<VerifiedGrant<'b>, VerifyError<'b>> {
        self.run(token, now, buf, None)
    }

    /// Like [`verify`](Self::verify), but for a token `memo` saw verify against this key
    /// set before, skips the RSA operation and the parsing: only the claims segment is
    /// decoded again (the grant borrows it). The snapshot's `validUntil`, the time
    /// claims, issuer, audience, delegation depth and required scopes are checked on
    /// every call.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_memoized<'b>(
        &'b self,
        token: &str,
        now: UnixTime,
        buf: &'b mut [u8],
        memo: &mut VerificationMemo<'_>,
    ) -> Result<VerifiedGrant<'b>, VerifyError<'b>> {
        self.run(token, now, buf, Some(memo))
    }

    fn run<'b>(
        &'b self,
        token: &str,
        now: UnixTime,
        buf: &'b mut [u8],
        memo: Option<&mut VerificationMemo<'_>>,
    ) -> Result<VerifiedGrant<'b>, VerifyError<'b>> {
        let Some(memo) = memo else {
            return self.full(token, now, buf, Seen::No);
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::TooLarge(Limit::TokenBytes(token.len())));
        }
        let digest = <[u8; 32]>::from(Sha256::digest(token.as_bytes()));
        match memo.find(&digest, self.snapshot.fingerprint()) {
            Some(slot) => match slot.replay() {
                Some(replay) => self.replay(token, replay, slot.claims(), now, buf),
                None => self.full(token, now, buf, Seen::Verified),
            },
            None => self.full(token, now, buf, Seen::Record(memo, digest)),
        }
    }

    /// Steps 1-13 of `docs/verification.md`; step 6 (the signature) is skipped for a
    /// token the memo saw verify.
    fn full<'b>(
        &'b self,
        token: &str,
        now: UnixTime,
        buf: &'b mut [u8],
        seen: Seen<'_, '_>,
    ) -> Result<VerifiedGrant<'b>, VerifyError<'b>> {
        // 1. Size and shape.
        let tok = GrantToken::parse(token)?;
        let hlen = decoded_len(tok.header_b64().len());
        let needed = hlen + decoded_len(tok.claims_b64().len());
        if needed > buf.len() {
            return Err(VerifyError::TooLarge(Limit::Buffer { needed }));
        }
        let (hbuf, pbuf) = buf.split_at_mut(hlen);

        // 2. Header: alg policy, crit, kid type.
        let n = decode_segment(tok.header_b64(), hbuf, Part::Header)?;
        let header = parse_header(hbuf.get_mut(..n).unwrap_or_default())?;

        // The claims segment must be strict base64url too; decoding is not trusting, the
        // JSON is read only after the signature check.
        let claims_len = decode_segment(tok.claims_b64(), pbuf, Part::Claims)?;

        // 3. The snapshot must still be valid.
        self.check_snapshot(now)?;

        // 4. Key selection by kid.
        let key = self.snapshot.select(header.kid)?;

        // 5. Signature, before any claim is read.
        if !matches!(seen, Seen::Verified) {
            self.check_signature(&tok, key)?;
        }

        // 6. Claims: structure, then time and policy.
        let pbuf = pbuf.get_mut(..claims_len).unwrap_or_default();
        let parsed = parse_claims(pbuf);
        if let Seen::Record(memo, digest) = seen {
            let replay = parsed.as_ref().ok().and_then(|c| {
                let key = match header.kid {
                    Some(kid) => Some(self.snapshot.kids().position(|k| k == Some(kid))?),
                    None => None,
                };
                Replay::new(tok.claims_range(), needed, key, c)
            });
            memo.insert(digest, *self.snapshot.fingerprint(), replay, pbuf);
        }
        let claims = match parsed {
            Ok(c) => c,
            Err(e) => return Err(e.into_verify(pbuf)),
        };
        let pbuf: &'b [u8] = pbuf;
        // Filled in place, as on a memo hit: saves copying the large grant around.
        let mut out = Ok(VerifiedGrant::EMPTY);
        if let Ok(grant) = &mut out {
            claims.fill(pbuf, header.kid, grant)?;
            grant.check(&self.options, now)?;
        }
        out
    }

    /// A memo hit: the token verified against these keys before, so only the claims are
    /// decoded (the grant borrows them) and the time and policy checks run again.
    fn replay<'b>(
        &'b self,
        token: &str,
        replay: &Replay,
        claims: Option<&[u8]>,
        now: UnixTime,
        buf: &'b mut [u8],
    ) -> Result<VerifiedGrant<'b>, VerifyError<'b>> {
        let needed = replay.needed();
        if needed > buf.len() {
            return Err(VerifyError::TooLarge(Limit::Buffer { needed }));
        }
        self.check_snapshot(now)?;
        let n = match claims.and_then(|c| Some((c, buf.get_mut(..c.len())?))) {
            Some((copy, out)) => {
                out.copy_from_slice(copy);
                copy.len()
            }
            None => decode_segment(replay.claims_b64(token), buf, Part::Claims)?,
        };
        let kid = match replay.key() {
            Some(i) => self.snapshot.kids().nth(i).flatten(),
            None => None,
        };
        let claims = buf.get(..n).and_then(|b| core::str::from_utf8(b).ok());
        // Filled in place: the grant is large (the scope list), and building it in the
        // value returned saves copying it.
        let mut out = Ok(VerifiedGrant::EMPTY);
        if let Ok(grant) = &mut out {
            let filled = claims
                .filter(|_| kid.is_some() == replay.key().is_some())
                .and_then(|claims| replay.fill(claims, kid, grant));
            // Unreachable for a token with the SHA-256 of one that verified; refused
            // rather than trusted if it ever happened.
            if filled.is_none() {
                return Err(VerifyError::Malformed(Malformed::Json(Part::Claims, 0)));
            }
            grant.check(&self.options, now)?;
        }
        out
    }

    /// Step 3: the snapshot's `validUntil`, unless the options waive it.
    fn check_snapshot(&self, now: UnixTime) -> Result<(), VerifyError<'static>> {
        if self.options.enforce_snapshot_expiry
            && let Some(valid_until) = self.snapshot.valid_until()
            && now.saturating_sub_secs(self.options.clock_skew_secs) > valid_until
        {
            return Err(VerifyError::SnapshotExpired { valid_until });
        }
        Ok(())
    }

    /// Step 5: the RS256 signature over `header.claims` under `key`.
    fn check_signature(
        &self,
        tok: &GrantToken<'_>,
        key: &UsableKey<P::PublicKey>,
    ) -> Result<(), VerifyError<'static>> {
        let sig_b64 = tok.signature_b64();
        // Encoding problems are structural (MALFORMED_TOKEN); a well-encoded signature of
        // the wrong length is simply a bad signature.
        if decoded_len(sig_b64.len()) != key.modulus_len() {
            if let Some(c) = sig_b64.iter().find(|c| !is_base64url(**c)) {
                let part = Part::Signature;
                return Err(VerifyError::Malformed(if *c == b'=' {
                    Malformed::Padding(part)
                } else {
                    Malformed::Base64(part)
                }));
            }
            return Err(VerifyError::BadSignature);
        }
        let mut sig = [0u8; MAX_MODULUS_BYTES];
        let sig_len = decode_segment(sig_b64, &mut sig, Part::Signature)?;
        let sig = sig.get(..sig_len).unwrap_or_default();
        self.snapshot
            .provider()
            .verify_rs256(key.public_key(), tok.signing_input(), sig)
            .map_err(|_| VerifyError::BadSignature)
    }
}

/// What the memo knows of the token being verified.
enum Seen<'m, 's> {
    /// No memo in use.
    No,
    /// The memo saw this token verify against these keys, but holds no index of its
    /// claims.
    Verified,
    /// The memo has not seen the token (its SHA-256 is here): remember it if it verifies.
    Record(&'m mut VerificationMemo<'s>, [u8; 32]),
}

const fn is_base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}
