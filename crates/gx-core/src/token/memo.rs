//! A bounded memo of tokens whose signature already verified, so that an agent checking
//! the same grant before every action pays for the RSA operation once.
//!
//! Memory: the caller owns the slots (`[MemoSlot; N]`, on the stack, in a static, or in
//! a `Vec` on std) and lends them to a [`VerificationMemo`]. Each slot holds the SHA-256
//! of a token and the fingerprint of the key set it verified against (65 bytes). When
//! every slot is taken, the oldest entry is overwritten (round robin).
//!
//! What a hit skips: only the signature check. The token must be byte-for-byte the one
//! seen (same SHA-256) and the snapshot must hold the same keys (same fingerprint); the
//! header, the snapshot's `validUntil`, every claim, the time, scopes and delegation
//! depth are checked again on every call.

/// One remembered verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoSlot {
    token: [u8; 32],
    keys: [u8; 32],
    used: bool,
}

impl MemoSlot {
    /// An empty slot, for initialising storage: `[MemoSlot::EMPTY; 8]`.
    pub const EMPTY: Self = Self {
        token: [0; 32],
        keys: [0; 32],
        used: false,
    };
}

impl Default for MemoSlot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// A memo of verified signatures over caller-owned slots; pass it to
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

    pub(crate) fn contains(&self, token: &[u8; 32], keys: &[u8; 32]) -> bool {
        self.slots
            .iter()
            .any(|s| s.used && s.token == *token && s.keys == *keys)
    }

    pub(crate) fn insert(&mut self, token: [u8; 32], keys: [u8; 32]) {
        if self.contains(&token, &keys) {
            return;
        }
        let len = self.slots.len();
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = MemoSlot {
                token,
                keys,
                used: true,
            };
            self.next = (self.next + 1) % len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_bounded_and_round_robin() {
        let mut slots = [MemoSlot::EMPTY; 2];
        let mut memo = VerificationMemo::new(&mut slots);
        let k = [9; 32];
        memo.insert([1; 32], k);
        memo.insert([2; 32], k);
        memo.insert([2; 32], k);
        assert_eq!(memo.len(), 2);
        memo.insert([3; 32], k);
        assert_eq!(memo.len(), 2);
        assert!(!memo.contains(&[1; 32], &k), "oldest entry evicted");
        assert!(memo.contains(&[2; 32], &k) && memo.contains(&[3; 32], &k));
        assert!(!memo.contains(&[3; 32], &[8; 32]), "other key set");
        memo.clear();
        assert!(memo.is_empty());

        let mut none: [MemoSlot; 0] = [];
        let mut memo = VerificationMemo::new(&mut none);
        memo.insert([1; 32], k);
        assert!(memo.is_empty());
    }
}
