//! Faster signature checks for long chains: batched Ed25519 verification (feature
//! `batch`) and chunked verification on several threads (feature `std`).
//!
//! Both report exactly what [`ChainVerifier`] reports: the first failing entry in chain
//! order, with the same code. A failed batch is re-checked entry by entry to find it.
//!
//! Batched verification checks one random linear combination of the signature
//! equations (the cofactorless batch equation of `ed25519_dalek::verify_batch`), with
//! one saving: every entry of a chain is signed by the same key `A`, so the terms
//! `z_i·k_i·A` fold into a single `(Σ z_i·k_i)·A` and the multiscalar multiplication
//! has `n + 2` points instead of `2n + 1`. The weights `z_i` (128 bits) are derived
//! from SHA-512 of every input of the batch, as dalek derives them from a transcript:
//! whoever makes the signatures cannot predict them. Like any batch check it can accept
//! a crafted signature that single verification rejects (mixed small-order
//! components). That only matters for signatures an attacker made with the key holder's
//! cooperation; use [`ChainVerifier`] when single-signature semantics must hold exactly.

use super::alloc::vec::Vec;
#[cfg(feature = "batch")]
use super::chain::ChainVerifier;
use super::chain::{ChainAnchor, ChainHead};
#[cfg(feature = "std")]
use super::chain::{Links, check_entry_hash};
use super::entry::{EntryHash, EntrySignature, SignedAuditEntry};
use super::error::{BreakCode, ChainBreak};
use super::keys::AuditVerifyingKey;

/// How many signatures one batch checks. Past 190 points curve25519-dalek switches
/// from Straus to Pippenger's method, which costs less per point.
#[cfg(feature = "batch")]
pub const SIGNATURE_BATCH: usize = 256;

/// Whether every signature of `items` (all under `key`) is valid, checked as one
/// same-key batch (see the module docs). `false` says some signature is bad, not which.
#[cfg(feature = "batch")]
fn same_key_batch(key: &AuditVerifyingKey, items: &[(EntryHash, EntrySignature)]) -> bool {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
    use sha2::{Digest, Sha512};

    let a_bytes = key.dalek().as_bytes();
    // k_i = SHA-512(R_i || A || M_i), M_i the hash's 64 hex characters; the seed of the
    // weights covers A, every k_i (so every R_i and M_i) and every s_i.
    let mut seed = Sha512::new();
    seed.update(b"gx audit same-key batch v1");
    seed.update(a_bytes);
    let mut hrams = Vec::with_capacity(items.len());
    for (hash, sig) in items {
        let (r, s) = sig.as_bytes().split_at(32);
        let hram: [u8; 64] = Sha512::new()
            .chain_update(r)
            .chain_update(a_bytes)
            .chain_update(hash.to_hex().as_bytes())
            .finalize()
            .into();
        seed.update(hram);
        seed.update(s);
        hrams.push(hram);
    }
    let seed: [u8; 64] = seed.finalize().into();

    let mut scalars = Vec::with_capacity(items.len() + 2);
    let mut points = Vec::with_capacity(items.len() + 2);
    let (mut b_coeff, mut a_coeff) = (Scalar::ZERO, Scalar::ZERO);
    for (i, ((_, sig), hram)) in items.iter().zip(&hrams).enumerate() {
        let (r, s) = sig.as_bytes().split_at(32);
        let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
            return false;
        };
        let Some(r) = CompressedEdwardsY(r).decompress() else {
            return false;
        };
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
            return false;
        };
        let z_bytes: [u8; 64] = Sha512::new()
            .chain_update(seed)
            .chain_update((i as u64).to_le_bytes())
            .finalize()
            .into();
        let mut z16 = [0u8; 16];
        z16.copy_from_slice(z_bytes.get(..16).unwrap_or(&[0; 16]));
        let z = Scalar::from(u128::from_le_bytes(z16));
        b_coeff += z * s;
        a_coeff += z * Scalar::from_bytes_mod_order_wide(hram);
        scalars.push(z);
        points.push(r);
    }
    // Σ z_i·R_i − (Σ z_i·s_i)·B + (Σ z_i·k_i)·A = 0
    scalars.push(-b_coeff);
    points.push(ED25519_BASEPOINT_POINT);
    scalars.push(a_coeff);
    points.push(key.dalek().to_edwards());
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

#[cfg(feature = "batch")]
impl AuditVerifyingKey {
    /// Whether every signature of `items` (hashes signed under this key) is valid,
    /// checked in same-key batches of [`SIGNATURE_BATCH`] (see the module docs for the
    /// one case where a batch accepts what single verification refuses). `false` says
    /// some signature is bad, not which: check them one by one with
    /// [`verify_hash`](Self::verify_hash) to find it. An empty slice is valid.
    pub fn verify_batch(&self, items: &[(EntryHash, EntrySignature)]) -> bool {
        items
            .chunks(SIGNATURE_BATCH)
            .all(|chunk| same_key_batch(self, chunk))
    }
}

/// Checks signatures over hashes; on failure, the position of the first bad one.
fn verify_signatures(
    key: &AuditVerifyingKey,
    items: &[(EntryHash, EntrySignature)],
) -> Result<(), usize> {
    #[cfg(feature = "batch")]
    {
        for (c, chunk) in items.chunks(SIGNATURE_BATCH).enumerate() {
            if !same_key_batch(key, chunk) {
                let bad = chunk
                    .iter()
                    .position(|(h, s)| key.verify_hash(h, s).is_err());
                // A batch that fails while every single check passes takes a crafted
                // signature (see the module docs); blame the chunk's first entry rather
                // than pass it.
                return Err(c * SIGNATURE_BATCH + bad.unwrap_or(0));
            }
        }
        Ok(())
    }
    #[cfg(not(feature = "batch"))]
    {
        match items
            .iter()
            .position(|(h, s)| key.verify_hash(h, s).is_err())
        {
            Some(i) => Err(i),
            None => Ok(()),
        }
    }
}

/// A [`ChainVerifier`] that checks signatures in batches of [`SIGNATURE_BATCH`]
/// (feature `batch`). Memory: one batch of pending hashes and signatures (about 28 KiB),
/// and while a batch is checked roughly 150 KiB more on the heap (decompressed points,
/// scalars, hashes and Pippenger's tables).
///
/// [`push`](Self::push) may accept an entry whose signature is still pending; only
/// [`finish`](Self::finish) says the whole chain is good. Breaks are still reported
/// in chain order: a signature failure found late is reported before a later link break.
#[cfg(feature = "batch")]
#[derive(Debug)]
pub struct BatchChainVerifier<'k> {
    links: ChainVerifier<'static>,
    key: &'k AuditVerifyingKey,
    pending: Vec<(u64, u64, EntryHash, EntrySignature)>,
    broken: Option<ChainBreak>,
}

#[cfg(feature = "batch")]
impl<'k> BatchChainVerifier<'k> {
    /// A verifier from `anchor` under `key`.
    pub fn new(anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        Self {
            links: ChainVerifier::dangerous_links_only(anchor),
            key,
            pending: Vec::with_capacity(SIGNATURE_BATCH),
            broken: None,
        }
    }

    /// Checks the next entry (its signature possibly later).
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`] found so far.
    pub fn push(&mut self, e: &SignedAuditEntry<'_>) -> Result<(), ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let index = self.links.entries();
        match self.links.push(e) {
            Ok(()) => {
                self.pending.push((index, e.entry.seq, e.hash, e.signature));
                if self.pending.len() >= SIGNATURE_BATCH {
                    self.flush()?;
                }
                Ok(())
            }
            Err(mut b) => {
                self.flush()?;
                // The serial order checks this entry's signature before its links.
                if matches!(
                    b.code,
                    BreakCode::SeqGap | BreakCode::BrokenChain | BreakCode::BadGenesis
                ) && self.key.verify_hash(&e.hash, &e.signature).is_err()
                {
                    b.code = BreakCode::InvalidSignature;
                }
                self.broken = Some(b);
                Err(b)
            }
        }
    }

    fn flush(&mut self) -> Result<(), ChainBreak> {
        let items: Vec<_> = self.pending.iter().map(|&(_, _, h, s)| (h, s)).collect();
        let failed = verify_signatures(self.key, &items)
            .err()
            .and_then(|k| self.pending.get(k).copied());
        self.pending.clear();
        match failed {
            Some((index, seq, _, _)) => {
                let b = ChainBreak {
                    index,
                    seq: Some(seq),
                    code: BreakCode::InvalidSignature,
                };
                self.broken = Some(b);
                Err(b)
            }
            None => Ok(()),
        }
    }

    /// Checks what is pending and ends verification.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn finish(mut self) -> Result<ChainHead, ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        self.flush()?;
        self.links.finish()
    }
}

/// Verifies a whole chain held in memory on `threads` threads (std::thread::scope):
/// shapes, hashes and signatures in parallel chunks (batched with feature `batch`),
/// `seq` and links in one cheap pass. Reports what [`ChainVerifier`](crate::ChainVerifier) would.
///
/// # Errors
/// The chain's first [`ChainBreak`].
#[cfg(feature = "std")]
pub fn verify_chain_parallel(
    anchor: ChainAnchor,
    key: &AuditVerifyingKey,
    entries: &[SignedAuditEntry<'_>],
    threads: usize,
) -> Result<ChainHead, ChainBreak> {
    let threads = threads.clamp(1, entries.len().max(1));
    let chunk = entries.len().div_ceil(threads).max(1);
    let (entry_fail, link_fail) = std::thread::scope(|s| {
        let workers: Vec<_> = entries
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || check_chunk(key, part).map(|(i, code)| (c * chunk + i, code)))
            })
            .collect();
        let mut links = Links::new(anchor);
        let mut link_fail = None;
        for (i, e) in entries.iter().enumerate() {
            if let Err(code) = links.check(e.entry.seq, e.entry.prev_hash) {
                link_fail = Some((i, code));
                break;
            }
            links.advance(e.entry.seq, e.hash);
        }
        let entry_fail = workers
            .into_iter()
            .filter_map(|w| w.join().ok().flatten())
            .min_by_key(|f| f.0);
        (entry_fail, link_fail)
    });
    // At the same index the per-entry checks come first, as in `ChainVerifier`.
    let first = match (entry_fail, link_fail) {
        (Some(e), Some(l)) => Some(if e.0 <= l.0 { e } else { l }),
        (e, l) => e.or(l),
    };
    if let Some((i, code)) = first {
        let seq = entries.get(i).map(|e| e.entry.seq);
        return Err(ChainBreak {
            index: i as u64,
            seq,
            code,
        });
    }
    let last = match entries.last() {
        Some(e) => Some((e.entry.seq, e.hash)),
        None => match anchor {
            ChainAnchor::Genesis => None,
            ChainAnchor::After { seq, hash } => Some((seq, hash)),
        },
    };
    Ok(ChainHead {
        entries: entries.len() as u64,
        last,
    })
}

/// First per-entry failure in a chunk (shape, hash, then signatures before it).
#[cfg(feature = "std")]
fn check_chunk(
    key: &AuditVerifyingKey,
    part: &[SignedAuditEntry<'_>],
) -> Option<(usize, BreakCode)> {
    let hash_fail = part
        .iter()
        .enumerate()
        .find_map(|(i, e)| check_entry_hash(e).err().map(|c| (i, c)));
    let upto = hash_fail.map_or(part.len(), |f| f.0);
    let items: Vec<_> = part
        .iter()
        .take(upto)
        .map(|e| (e.hash, e.signature))
        .collect();
    match verify_signatures(key, &items) {
        Err(i) => Some((i, BreakCode::InvalidSignature)),
        Ok(()) => hash_fail,
    }
}

#[cfg(all(test, feature = "batch"))]
mod tests {
    use super::super::alloc::vec::Vec;
    use super::{SIGNATURE_BATCH, same_key_batch, verify_signatures};
    use crate::audit::{AuditSigningKey, EntryHash, EntrySignature};

    /// `n` distinct hashes signed with `key`.
    fn signed(key: &AuditSigningKey, n: usize) -> Vec<(EntryHash, EntrySignature)> {
        (0..n)
            .map(|i| {
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&(i as u64).to_le_bytes());
                let hash = EntryHash::from_bytes(h);
                (hash, key.sign_hash(&hash))
            })
            .collect()
    }

    fn with_sig(
        items: &[(EntryHash, EntrySignature)],
        at: usize,
        f: impl Fn(&mut [u8; 64]),
    ) -> Vec<(EntryHash, EntrySignature)> {
        let mut out = items.to_vec();
        let mut s = *out[at].1.as_bytes();
        f(&mut s);
        out[at].1 = EntrySignature::from_bytes(s);
        out
    }

    #[test]
    fn accepts_valid_batches_of_every_size() {
        let key = AuditSigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let items = signed(&key, SIGNATURE_BATCH + 5);
        for n in [0, 1, 2, 63, SIGNATURE_BATCH, SIGNATURE_BATCH + 5] {
            assert!(same_key_batch(&vk, &items[..n]), "n = {n}");
        }
        assert_eq!(verify_signatures(&vk, &items), Ok(()));
    }

    #[test]
    fn rejects_each_kind_of_bad_signature_and_finds_it() {
        let key = AuditSigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let items = signed(&key, SIGNATURE_BATCH + 40);
        // The order of the group, little-endian: s + l is the same scalar, not canonical.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let add_l = |s: &mut [u8; 64]| {
            let mut carry = 0u16;
            for (b, l) in s[32..].iter_mut().zip(L) {
                let v = u16::from(*b) + u16::from(l) + carry;
                *b = v as u8;
                carry = v >> 8;
            }
        };
        for at in [
            0,
            1,
            100,
            SIGNATURE_BATCH - 1,
            SIGNATURE_BATCH,
            SIGNATURE_BATCH + 39,
        ] {
            let tampered: [Vec<_>; 5] = [
                with_sig(&items, at, |s| s[3] ^= 0x10),  // R changed
                with_sig(&items, at, |s| s[40] ^= 0x01), // s changed
                with_sig(&items, at, |s| s[31] ^= 0x80), // R's sign bit
                with_sig(&items, at, add_l),             // s not canonical
                with_sig(&items, at, |s| {
                    *s = *items[(at + 1) % items.len()].1.as_bytes()
                }),
            ];
            for (kind, t) in tampered.iter().enumerate() {
                let chunk = at / SIGNATURE_BATCH * SIGNATURE_BATCH;
                let end = (chunk + SIGNATURE_BATCH).min(t.len());
                assert!(!same_key_batch(&vk, &t[chunk..end]), "at {at}, kind {kind}");
                assert_eq!(verify_signatures(&vk, t), Err(at), "at {at}, kind {kind}");
            }
        }
        let other = AuditSigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(!same_key_batch(&other, &items[..10]));
    }
}
