//! Comparing an already-checked batch with the chain a store holds for the bundle.
//!
//! The batch reaching this point has passed every per-entry check and the in-batch
//! continuity checks. What is left is the protocol's step 2: entries the store already
//! has must match it byte for byte (same `hash`; a re-upload is idempotent), and the first
//! new entry must continue the stored tail. This is pure logic so that every backend
//! applies exactly the same rules inside its own transaction.

use core::fmt;

/// `prevHash` of the first entry of a chain: sixteen zeros, as the hosted service writes it.
pub(crate) const GENESIS_PREV_HASH: &str = "0000000000000000";

/// An entry of a sync batch, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// `seq`.
    pub seq: u64,
    /// `hash` (64 lowercase hex).
    pub hash: String,
    /// `prevHash`.
    pub prev_hash: String,
    /// The entry as a JSON object in the wire format.
    pub json: String,
}

/// Why a batch does not fit the stored chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// A stored `seq` arrives with a different hash.
    DuplicateSeq,
    /// The first new entry does not follow the last stored `seq`.
    SeqGap,
    /// The first new entry's `prevHash` is not the last stored hash (or genesis).
    BrokenChain,
}

impl ConflictKind {
    /// The protocol's per-entry error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::DuplicateSeq => "DUPLICATE_SEQ",
            Self::SeqGap => "SEQ_GAP",
            Self::BrokenChain => "BROKEN_CHAIN",
        }
    }
}

/// One entry of a batch that conflicts with the stored chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConflict {
    /// Position in the batch.
    pub index: usize,
    /// The entry's `seq`.
    pub seq: u64,
    /// What is wrong.
    pub kind: ConflictKind,
}

impl fmt::Display for ChainConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ConflictKind::DuplicateSeq => {
                write!(
                    f,
                    "seq {} is already stored with a different hash",
                    self.seq
                )
            }
            ConflictKind::SeqGap => {
                write!(f, "seq {} does not follow the last stored entry", self.seq)
            }
            ConflictKind::BrokenChain => {
                write!(
                    f,
                    "prevHash of seq {} does not match the last stored hash",
                    self.seq
                )
            }
        }
    }
}

/// Checks `batch` against the stored chain.
///
/// `tail` is the last stored `(seq, hash)` (`None` for an empty chain); `stored_hash`
/// answers the stored hash for a `seq` at or below the tail. On success returns the index
/// of the first entry that is not stored yet (`batch.len()` when all are). On failure
/// returns every conflicting entry; the caller must then store nothing.
///
/// # Errors
/// The conflicts, or whatever `stored_hash` fails with (as `Ok(Err(..))`'s outer error).
pub fn reconcile<E>(
    tail: Option<(u64, &str)>,
    mut stored_hash: impl FnMut(u64) -> Result<Option<String>, E>,
    batch: &[NewEntry],
) -> Result<Result<usize, Vec<ChainConflict>>, E> {
    let (last_seq, last_hash) = tail.unwrap_or((0, GENESIS_PREV_HASH));
    let mut conflicts = Vec::new();
    let mut first_new = batch.len();
    for (index, entry) in batch.iter().enumerate() {
        if entry.seq <= last_seq {
            let same = stored_hash(entry.seq)?.is_some_and(|h| h == entry.hash);
            if !same {
                conflicts.push(ChainConflict {
                    index,
                    seq: entry.seq,
                    kind: ConflictKind::DuplicateSeq,
                });
            }
            continue;
        }
        if index < first_new {
            first_new = index;
            if entry.seq != last_seq + 1 {
                conflicts.push(ChainConflict {
                    index,
                    seq: entry.seq,
                    kind: ConflictKind::SeqGap,
                });
            } else if entry.prev_hash != last_hash {
                conflicts.push(ChainConflict {
                    index,
                    seq: entry.seq,
                    kind: ConflictKind::BrokenChain,
                });
            }
        }
    }
    Ok(if conflicts.is_empty() {
        Ok(first_new)
    } else {
        Err(conflicts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, prev: &str, hash: &str) -> NewEntry {
        NewEntry {
            seq,
            hash: hash.into(),
            prev_hash: prev.into(),
            json: String::new(),
        }
    }

    fn run(
        tail: Option<(u64, &str)>,
        stored: &[(u64, &str)],
        batch: &[NewEntry],
    ) -> Result<usize, Vec<ChainConflict>> {
        let r: Result<_, ()> = reconcile(
            tail,
            |seq| {
                Ok(stored
                    .iter()
                    .find(|(s, _)| *s == seq)
                    .map(|(_, h)| (*h).to_owned()))
            },
            batch,
        );
        r.unwrap()
    }

    #[test]
    fn genesis_batch_on_empty_chain() {
        assert_eq!(
            run(
                None,
                &[],
                &[entry(1, GENESIS_PREV_HASH, "a"), entry(2, "a", "b")]
            ),
            Ok(0)
        );
    }

    #[test]
    fn first_entry_must_link_to_genesis() {
        let got = run(None, &[], &[entry(1, "x", "a")]).unwrap_err();
        assert_eq!(got[0].kind, ConflictKind::BrokenChain);
        let got = run(None, &[], &[entry(2, GENESIS_PREV_HASH, "a")]).unwrap_err();
        assert_eq!(got[0].kind, ConflictKind::SeqGap);
    }

    #[test]
    fn reupload_is_idempotent_and_overlap_continues() {
        let stored = [(1, "a"), (2, "b")];
        assert_eq!(
            run(
                Some((2, "b")),
                &stored,
                &[entry(1, GENESIS_PREV_HASH, "a"), entry(2, "a", "b")]
            ),
            Ok(2)
        );
        assert_eq!(
            run(
                Some((2, "b")),
                &stored,
                &[entry(2, "a", "b"), entry(3, "b", "c")]
            ),
            Ok(1)
        );
    }

    #[test]
    fn conflicts_are_reported() {
        let stored = [(1, "a"), (2, "b")];
        let got = run(Some((2, "b")), &stored, &[entry(2, "a", "zz")]).unwrap_err();
        assert_eq!((got[0].seq, got[0].kind), (2, ConflictKind::DuplicateSeq));
        let got = run(Some((2, "b")), &stored, &[entry(4, "c", "d")]).unwrap_err();
        assert_eq!((got[0].seq, got[0].kind), (4, ConflictKind::SeqGap));
        let got = run(Some((2, "b")), &stored, &[entry(3, "q", "d")]).unwrap_err();
        assert_eq!((got[0].seq, got[0].kind), (3, ConflictKind::BrokenChain));
    }
}
