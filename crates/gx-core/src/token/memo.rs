//! A bounded memo of tokens that already verified, so that an agent checking the same
//! grant before every action pays for the RSA operation and the parsing once.
//!
//! Memory: the caller owns the slots (`[MemoSlot; N]`, on the stack, in a static, or in
//! a `Vec` on std) and lends them to a [`VerificationMemo`]. Each slot holds the SHA-256
//! of a token, the fingerprint of the key set it verified against, an index of its
//! claims (where each string lies in the decoded claims, and the values of `exp`, `nbf`,
//! `iat` and `delegationDepth`) and a copy of the decoded claims when they fit in 512
//! bytes: about 700 bytes. When every slot is taken, the oldest entry is overwritten
//! (round robin).
//!
//! What a hit skips: the header, the signature and the claims' JSON. A hit needs the
//! token to be byte-for-byte the one seen (same SHA-256, a collision-resistant hash: a
//! weaker key would let a forged token borrow a verified one's entry) and the snapshot
//! to hold the same keys (same fingerprint). The header, signature and claim structure
//! are functions of those bytes and keys, so they would pass again; everything that
//! depends on the time or the options — the snapshot's `validUntil`, `exp`/`nbf`/`iat`
//! with the skew, issuer, audience, delegation depth and required scopes — is checked
//! again on every call. The decoded claims are copied from the slot (or, when too
//! large to keep, decoded from the token again) into the caller's buffer, since the
//! grant borrows its strings from there.
//!
//! A token whose strings hold JSON escapes gets a slot without an index: a hit then
//! skips only the signature and parses the claims as a first verification does.

use super::claims::Claims;
use super::grant::VerifiedGrant;
use super::json::Span;
use crate::UnixTime;

/// The largest decoded claim set a slot keeps a copy of (bytes); a hit on a token with
/// larger claims decodes them from the token instead.
const CLAIMS_COPY_LEN: usize = 512;

/// One remembered verification (about 700 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoSlot {
    token: [u8; 32],
    keys: [u8; 32],
    used: bool,
    replay: Option<Replay>,
    /// The decoded claims (`claims_len` bytes; 0 when not kept), exactly as decoded from
    /// the token, so that a hit copies them instead of decoding base64 again.
    claims_len: u16,
    claims: [u8; CLAIMS_COPY_LEN],
}

impl MemoSlot {
    /// An empty slot, for initialising storage: `[MemoSlot::EMPTY; 8]`.
    pub const EMPTY: Self = Self {
        token: [0; 32],
        keys: [0; 32],
        used: false,
        replay: None,
        claims_len: 0,
        claims: [0; CLAIMS_COPY_LEN],
    };

    /// The index that rebuilds the grant without parsing, if the token has one.
    pub(crate) fn replay(&self) -> Option<&Replay> {
        self.replay.as_ref()
    }

    /// The decoded claims, if the slot kept them.
    pub(crate) fn claims(&self) -> Option<&[u8]> {
        match self.claims_len {
            0 => None,
            n => self.claims.get(..usize::from(n)),
        }
    }
}

impl Default for MemoSlot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// A memo of verified tokens over caller-owned slots; pass it to
/// [`Verifier::verify_memoized`](crate::Verifier::verify_memoized).
#[derive(Debug)]
pub struct VerificationMemo<'s> {
    slots: &'s mut [MemoSlot],
    next: usize,
}

impl<'s> VerificationMemo<'s> {
    /// A memo over `slots`, which it clears. Zero slots give a memo that remembers
    /// nothing.
    pub fn new(slots: &'s mut [MemoSlot]) -> Self {
        slots.fill(MemoSlot::EMPTY);
        Self { slots, next: 0 }
    }

    /// How many verifications are remembered.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (after a key rotation, say; a new key set also never matches
    /// old entries).
    pub fn clear(&mut self) {
        self.slots.fill(MemoSlot::EMPTY);
        self.next = 0;
    }

    /// The slot of the token with SHA-256 `token` verified against the key set with
    /// fingerprint `keys`, if remembered.
    pub(crate) fn find(&self, token: &[u8; 32], keys: &[u8; 32]) -> Option<&MemoSlot> {
        self.slots
            .iter()
            .find(|s| s.used && s.token == *token && s.keys == *keys)
    }

    /// Remembers a token that verified: its SHA-256, the key set's fingerprint, the
    /// index of its claims (if replayable) and, with an index, its decoded `claims`
    /// when they fit a slot.
    pub(crate) fn insert(
        &mut self,
        token: [u8; 32],
        keys: [u8; 32],
        replay: Option<Replay>,
        claims: &[u8],
    ) {
        if self.find(&token, &keys).is_some() {
            return;
        }
        let len = self.slots.len();
        if let Some(slot) = self.slots.get_mut(self.next) {
            slot.token = token;
            slot.keys = keys;
            slot.used = true;
            slot.replay = replay;
            slot.claims_len = 0;
            if replay.is_some()
                && let Some(copy) = slot.claims.get_mut(..claims.len())
                && let Ok(n) = u16::try_from(claims.len())
            {
                copy.copy_from_slice(claims);
                slot.claims_len = n;
            }
            self.next = (self.next + 1) % len;
        }
    }
}

/// A range of the decoded claims (which never exceed `DECODE_BUF_LEN` < 2^16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range16 {
    start: u16,
    end: u16,
}

impl Range16 {
    fn new(s: Span) -> Option<Self> {
        Some(Self {
            start: u16::try_from(s.start).ok()?,
            end: u16::try_from(s.end).ok()?,
        })
    }

    fn of(self, text: &str) -> Option<&str> {
        text.get(usize::from(self.start)..usize::from(self.end))
    }
}

/// What a hit needs to rebuild the grant from the token without parsing it: where the
/// claims segment lies in the token, the decode buffer the token needs, the key the
/// header named, and where each claim lies in the decoded claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Replay {
    /// The claims segment: `token[claims_start..claims_end]`.
    claims_start: u16,
    claims_end: u16,
    /// The decode buffer a verification of this token needs (header and claims).
    needed: u16,
    /// The index of the key whose kid the header named; `None` for a header without kid.
    key: Option<u8>,
    jti: Range16,
    sub: Range16,
    agt: Range16,
    grnt: Option<Range16>,
    iss: Option<Range16>,
    dev: Option<Range16>,
    /// The `scp` array, brackets included.
    scp: Range16,
    scope_count: u8,
    /// The `aud` value: a string's content, or an array with its brackets.
    aud: Option<Range16>,
    aud_is_array: bool,
    audience_count: u8,
    exp: UnixTime,
    nbf: Option<UnixTime>,
    iat: Option<UnixTime>,
    depth: u32,
}

impl Replay {
    /// The index of a token whose claims segment is `token[claims.0..claims.1]`, `None`
    /// when the claims cannot be replayed (a string held an escape).
    pub(crate) fn new(
        claims_at: (usize, usize),
        needed: usize,
        key: Option<usize>,
        c: &Claims,
    ) -> Option<Self> {
        if c.escaped {
            return None;
        }
        let r = Range16::new;
        let opt = |s: Option<Span>| s.map(r).map_or(Some(None), |x| x.map(Some));
        let (aud, aud_is_array) = match c.aud_value {
            Some((span, array)) => (Some(r(span)?), array),
            None => (None, false),
        };
        Some(Self {
            claims_start: u16::try_from(claims_at.0).ok()?,
            claims_end: u16::try_from(claims_at.1).ok()?,
            needed: u16::try_from(needed).ok()?,
            key: match key {
                Some(k) => Some(u8::try_from(k).ok()?),
                None => None,
            },
            jti: r(c.jti)?,
            sub: r(c.sub)?,
            agt: r(c.agt)?,
            grnt: opt(c.grnt)?,
            iss: opt(c.iss)?,
            dev: opt(c.dev)?,
            scp: r(c.scp_array)?,
            scope_count: u8::try_from(c.scp.len()).ok()?,
            aud,
            aud_is_array,
            audience_count: u8::try_from(c.aud.len()).ok()?,
            exp: c.exp,
            nbf: c.nbf,
            iat: c.iat,
            depth: c.depth,
        })
    }

    /// The decode buffer a verification of this token needs.
    pub(crate) fn needed(&self) -> usize {
        usize::from(self.needed)
    }

    /// The base64url claims segment of `token`.
    pub(crate) fn claims_b64<'t>(&self, token: &'t str) -> &'t [u8] {
        token
            .as_bytes()
            .get(usize::from(self.claims_start)..usize::from(self.claims_end))
            .unwrap_or_default()
    }

    /// The index of the key the header named by kid, if it named one.
    pub(crate) fn key(&self) -> Option<usize> {
        self.key.map(usize::from)
    }

    /// Fills `grant` (initially [`VerifiedGrant::EMPTY`]) from the index, its strings
    /// borrowed from `claims` (the decoded claims segment) and `kid`. `None` if the
    /// index does not fit `claims`, which a token with the same SHA-256 cannot cause.
    #[inline]
    pub(crate) fn fill<'a>(
        &self,
        claims: &'a str,
        kid: Option<&'a str>,
        grant: &mut VerifiedGrant<'a>,
    ) -> Option<()> {
        let opt = |r: Option<Range16>| match r {
            Some(r) => r.of(claims).map(Some),
            None => Some(None),
        };
        grant.agent_did = self.agt.of(claims)?;
        grant.principal = self.sub.of(claims)?;
        grant.jti = self.jti.of(claims)?;
        grant.grant_id = opt(self.grnt)?.unwrap_or(grant.jti);
        grant.issuer = opt(self.iss)?;
        grant.developer_id = opt(self.dev)?;
        grant.kid = kid;
        grant.expires_at = self.exp;
        grant.not_before = self.nbf;
        grant.issued_at = self.iat;
        grant.delegation_depth = self.depth;
        grant.scope_count = strings(self.scp.of(claims)?, &mut grant.scopes)?;
        grant.audience_count = match self.aud {
            None => 0,
            Some(r) if self.aud_is_array => strings(r.of(claims)?, &mut grant.audience)?,
            Some(r) => {
                *grant.audience.first_mut()? = r.of(claims)?;
                1
            }
        };
        (grant.scope_count == usize::from(self.scope_count)
            && grant.audience_count == usize::from(self.audience_count))
        .then_some(())
    }
}

/// The strings of a JSON array already validated to hold only non-empty strings without
/// escapes: between one quote and the next is an element. Fills `out` and returns the
/// count; `None` on more elements than `out` holds.
fn strings<'a>(array: &'a str, out: &mut [&'a str]) -> Option<usize> {
    let mut n = 0;
    let mut open = None;
    for (i, c) in array.bytes().enumerate() {
        if c != b'"' {
            continue;
        }
        match open.take() {
            None => open = Some(i + 1),
            Some(start) => {
                *out.get_mut(n)? = array.get(start..i)?;
                n += 1;
            }
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_bounded_and_round_robin() {
        let mut slots = [MemoSlot::EMPTY; 2];
        let mut memo = VerificationMemo::new(&mut slots);
        let k = [9; 32];
        memo.insert([1; 32], k, None, b"{}");
        memo.insert([2; 32], k, None, b"{}");
        memo.insert([2; 32], k, None, b"{}");
        assert_eq!(memo.len(), 2);
        memo.insert([3; 32], k, None, b"{}");
        assert_eq!(memo.len(), 2);
        assert!(memo.find(&[1; 32], &k).is_none(), "oldest entry evicted");
        assert!(memo.find(&[2; 32], &k).is_some() && memo.find(&[3; 32], &k).is_some());
        assert!(memo.find(&[3; 32], &[8; 32]).is_none(), "other key set");
        memo.clear();
        assert!(memo.is_empty());

        let mut none: [MemoSlot; 0] = [];
        let mut memo = VerificationMemo::new(&mut none);
        memo.insert([1; 32], k, None, b"{}");
        assert!(memo.is_empty());
    }

    #[test]
    fn splits_validated_string_arrays() {
        let mut out = [""; 3];
        assert_eq!(strings(r#"["a", "bc" ,"d"]"#, &mut out), Some(3));
        assert_eq!(out, ["a", "bc", "d"]);
        assert_eq!(strings(r#"["a","b","c","d"]"#, &mut out), None, "too many");
        assert_eq!(strings("[]", &mut out), Some(0));
    }
}
