//! Faster chain checks: signatures batched (feature `batch`) and chunks checked on several
//! threads (feature `std`).
//!
//! Both report exactly what [`ChainVerifier`] reports: the first failing entry in chain
//! order, with the same code. The batched signature checks come from
//! [`verify_signatures`](super::verify_signatures), which gives the single check's verdict
//! on every entry.

use super::alloc::vec::Vec;
#[cfg(feature = "batch")]
use super::chain::ChainVerifier;
use super::chain::{ChainAnchor, ChainHead};
#[cfg(feature = "std")]
use super::chain::{Links, check_entry_hash};
use super::entry::{EntryHash, EntrySignature, SignedAuditEntry};
use super::error::{BreakCode, ChainBreak};
use super::keys::AuditVerifyingKey;
#[cfg(feature = "batch")]
use super::signatures::{SIGNATURE_BATCH, SignatureCheck};

/// Checks signatures over hashes, all under `key`; on failure, the position of the first
/// bad one.
#[cfg(feature = "std")]
fn verify_signatures(
    key: &AuditVerifyingKey,
    items: &[(EntryHash, EntrySignature)],
) -> Result<(), usize> {
    #[cfg(feature = "batch")]
    {
        let checks: Vec<_> = items
            .iter()
            .map(|&(hash, signature)| SignatureCheck {
                key,
                hash,
                signature,
            })
            .collect();
        super::signatures::verify_signatures(&checks)
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

#[cfg(feature = "batch")]
impl AuditVerifyingKey {
    /// Whether every signature of `items` (hashes signed under this key) is valid, checked
    /// in batches with the single check's verdict (see
    /// [`verify_signatures`](super::verify_signatures)). `false` says some signature is
    /// bad, not which: [`verify_signatures`](super::verify_signatures) gives its index. An
    /// empty slice is valid.
    pub fn verify_batch(&self, items: &[(EntryHash, EntrySignature)]) -> bool {
        let checks: Vec<_> = items
            .iter()
            .map(|&(hash, signature)| SignatureCheck {
                key: self,
                hash,
                signature,
            })
            .collect();
        super::signatures::verify_signatures(&checks).is_ok()
    }
}

/// A [`ChainVerifier`] that checks signatures in batches of [`SIGNATURE_BATCH`]
/// (feature `batch`), with the verdicts of the single check. Memory: one batch of pending
/// hashes and signatures (about 576 KiB), and while a batch is checked what
/// [`verify_signatures`](super::verify_signatures) allocates for one chunk.
///
/// Call order: `new` → `push`/`push_line` for each entry in order (`set_key` between
/// entries when the audit key changes) → `finish`.
///
/// [`push`](Self::push) may accept an entry whose signature is still pending; only
/// [`finish`](Self::finish) says the whole chain is good. Breaks are still reported
/// in chain order: a signature failure found late is reported before a later link break.
#[cfg(feature = "batch")]
#[derive(Debug)]
pub struct BatchChainVerifier<'k> {
    links: ChainVerifier<'static>,
    key: &'k AuditVerifyingKey,
    pending: Vec<Pending<'k>>,
    broken: Option<ChainBreak>,
}

/// An entry whose links verified and whose signature waits for its batch.
#[cfg(feature = "batch")]
#[derive(Clone, Copy, Debug)]
struct Pending<'k> {
    index: u64,
    seq: u64,
    check: SignatureCheck<'k>,
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

    /// Checks the entries pushed from now on under `key` (the chain continues across a
    /// bundle refresh, which brings a new audit key).
    pub fn set_key(&mut self, key: &'k AuditVerifyingKey) {
        self.key = key;
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
                self.pending.push(Pending {
                    index,
                    seq: e.entry.seq,
                    check: SignatureCheck {
                        key: self.key,
                        hash: e.hash,
                        signature: e.signature,
                    },
                });
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

    /// Parses one line and checks it; a line that does not parse is `INVALID_ENTRY`.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`] found so far.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        match SignedAuditEntry::parse_line(line) {
            Ok(e) => self.push(&e),
            Err(_) => {
                // Earlier entries' signatures come first; then the links-only verifier
                // reports this line as INVALID_ENTRY at its index.
                self.flush()?;
                let b = self.links.push_line(line).err().unwrap_or(ChainBreak {
                    index: self.links.entries(),
                    seq: None,
                    code: BreakCode::InvalidEntry,
                });
                self.broken = Some(b);
                Err(b)
            }
        }
    }

    /// How many entries were pushed.
    pub fn entries(&self) -> u64 {
        self.links.entries()
    }

    fn flush(&mut self) -> Result<(), ChainBreak> {
        let checks: Vec<_> = self.pending.iter().map(|p| p.check).collect();
        let failed = super::signatures::verify_signatures(&checks)
            .err()
            .and_then(|k| self.pending.get(k).copied());
        self.pending.clear();
        match failed {
            Some(p) => {
                let b = ChainBreak {
                    index: p.index,
                    seq: Some(p.seq),
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
    use crate::audit::{AuditSigningKey, EntryHash, EntrySignature, SIGNATURE_BATCH};

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

    #[test]
    fn verify_batch_checks_every_chunk() {
        let key = AuditSigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let items = signed(&key, SIGNATURE_BATCH + 5);
        assert!(vk.verify_batch(&[]));
        assert!(vk.verify_batch(&items));
        // A bad signature in the second chunk only.
        let mut bad = items.clone();
        let mut s = *bad[SIGNATURE_BATCH + 2].1.as_bytes();
        s[40] ^= 1;
        bad[SIGNATURE_BATCH + 2].1 = EntrySignature::from_bytes(s);
        assert!(!vk.verify_batch(&bad));
        let other = AuditSigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(!other.verify_batch(&items[..3]));
    }
}
