//! Streaming chain verification in constant memory.
//!
//! A [`ChainVerifier`] is fed entries one at a time with [`ChainVerifier::push`] (or raw
//! lines with [`ChainVerifier::push_line`]) and keeps only the last `seq` and hash.
//! For every entry it checks, in the service's order: shape (`INVALID_ENTRY`), the
//! recomputed hash (`INVALID_HASH`), the signature (`INVALID_SIGNATURE`), then `seq`
//! (`SEQ_GAP`, or `BAD_GENESIS` for a chain's first entry) and the link (`BROKEN_CHAIN`).
//! The first failure is reported with its index and `seq` and then sticks: every later
//! call returns the same [`ChainBreak`].
//!
//! Call order: `new` → `push`/`push_line` for each entry in order → `finish`.

use super::entry::{EntryHash, PrevHash, SignedAuditEntry};
use super::error::{BreakCode, ChainBreak};
use super::keys::AuditVerifyingKey;

/// Where a chain starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainAnchor {
    /// The chain's first entry must be `seq` 1 with the genesis `prevHash`.
    Genesis,
    /// Resume after an entry already trusted (e.g. the server's last confirmed one):
    /// the next entry must be `seq + 1` and link to `hash`.
    After {
        /// The trusted entry's `seq`.
        seq: u64,
        /// The trusted entry's hash.
        hash: EntryHash,
    },
}

/// What a verified chain ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// How many entries were verified.
    pub entries: u64,
    /// The last entry's `seq` and hash, or the anchor's when no entry was pushed
    /// (`None` for an empty chain from genesis).
    pub last: Option<(u64, EntryHash)>,
}

/// The `seq`/link state shared by every verifier (wire and legacy format).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Links {
    last: Option<(u64, EntryHash)>,
}

impl Links {
    pub(crate) fn new(anchor: ChainAnchor) -> Self {
        match anchor {
            ChainAnchor::Genesis => Self { last: None },
            ChainAnchor::After { seq, hash } => Self {
                last: Some((seq, hash)),
            },
        }
    }

    /// Checks `seq` and `prevHash` of the next entry.
    pub(crate) fn check(&self, seq: u64, prev: PrevHash) -> Result<(), BreakCode> {
        match self.last {
            None => {
                if seq != 1 || prev != PrevHash::Genesis {
                    return Err(BreakCode::BadGenesis);
                }
            }
            Some((last_seq, last_hash)) => {
                if Some(seq) != last_seq.checked_add(1) {
                    return Err(BreakCode::SeqGap);
                }
                if prev != PrevHash::Entry(last_hash) {
                    return Err(BreakCode::BrokenChain);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn advance(&mut self, seq: u64, hash: EntryHash) {
        self.last = Some((seq, hash));
    }

    pub(crate) fn last(&self) -> Option<(u64, EntryHash)> {
        self.last
    }
}

/// Shape and recomputed hash of one entry.
pub(crate) fn check_entry_hash(e: &SignedAuditEntry<'_>) -> Result<(), BreakCode> {
    e.entry.check_shape().map_err(|_| BreakCode::InvalidEntry)?;
    let hash = e.entry.hash().map_err(|_| BreakCode::InvalidEntry)?;
    if hash != e.hash {
        return Err(BreakCode::InvalidHash);
    }
    Ok(())
}

/// What every chain verifier (wire and legacy format) keeps while it runs: the links,
/// how many entries were pushed, and the first break, which sticks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Progress {
    links: Links,
    index: u64,
    broken: Option<ChainBreak>,
}

impl Progress {
    pub(crate) fn new(anchor: ChainAnchor) -> Self {
        Self {
            links: Links::new(anchor),
            index: 0,
            broken: None,
        }
    }

    /// The first break, as an error, once there is one.
    pub(crate) fn sticky(&self) -> Result<(), ChainBreak> {
        self.broken.map_or(Ok(()), Err)
    }

    /// Counts the next entry and checks it: first `entry` (its shape, hash and
    /// signature, whatever its format needs), then its `seq` and link.
    pub(crate) fn push(
        &mut self,
        seq: u64,
        prev: PrevHash,
        hash: EntryHash,
        entry: impl FnOnce() -> Result<(), BreakCode>,
    ) -> Result<(), ChainBreak> {
        self.sticky()?;
        let index = self.index;
        self.index += 1;
        match entry().and_then(|()| self.links.check(seq, prev)) {
            Ok(()) => {
                self.links.advance(seq, hash);
                Ok(())
            }
            Err(code) => Err(self.fail(index, Some(seq), code)),
        }
    }

    /// Counts a line that did not parse: `INVALID_ENTRY`.
    pub(crate) fn unparsable(&mut self) -> ChainBreak {
        let index = self.index;
        self.index += 1;
        self.fail(index, None, BreakCode::InvalidEntry)
    }

    fn fail(&mut self, index: u64, seq: Option<u64>, code: BreakCode) -> ChainBreak {
        let b = ChainBreak { index, seq, code };
        self.broken = Some(b);
        b
    }

    pub(crate) fn entries(&self) -> u64 {
        self.index
    }

    pub(crate) fn last(&self) -> Option<(u64, EntryHash)> {
        self.links.last()
    }

    pub(crate) fn broken(&self) -> Option<ChainBreak> {
        self.broken
    }

    pub(crate) fn finish(self) -> Result<ChainHead, ChainBreak> {
        self.sticky()?;
        Ok(ChainHead {
            entries: self.index,
            last: self.links.last(),
        })
    }
}

/// Verifies a chain one entry at a time, in constant memory (see the module docs).
#[derive(Clone, Debug)]
pub struct ChainVerifier<'k> {
    key: Option<&'k AuditVerifyingKey>,
    progress: Progress,
}

impl<'k> ChainVerifier<'k> {
    /// A verifier from `anchor` that checks signatures under `key`.
    pub fn new(anchor: ChainAnchor, key: &'k AuditVerifyingKey) -> Self {
        Self {
            key: Some(key),
            progress: Progress::new(anchor),
        }
    }

    /// A verifier that checks shape, hashes, `seq` and links but **no signatures**.
    ///
    /// Danger: without signatures anyone can forge a consistent chain. Use it only when
    /// the signatures are checked separately (batch or parallel verification), or to
    /// measure the rest.
    pub fn dangerous_links_only(anchor: ChainAnchor) -> ChainVerifier<'static> {
        ChainVerifier {
            key: None,
            progress: Progress::new(anchor),
        }
    }

    /// Checks the next entry.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`] (this entry's, or an earlier one's).
    pub fn push(&mut self, e: &SignedAuditEntry<'_>) -> Result<(), ChainBreak> {
        let key = self.key;
        self.progress
            .push(e.entry.seq, e.entry.prev_hash, e.hash, || {
                check_entry_hash(e)?;
                key.map_or(Ok(()), |k| k.verify_hash(&e.hash, &e.signature))
            })
    }

    /// Parses one line and checks it; a line that does not parse is `INVALID_ENTRY`.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), ChainBreak> {
        self.progress.sticky()?;
        match SignedAuditEntry::parse_line(line) {
            Ok(e) => self.push(&e),
            Err(_) => Err(self.progress.unparsable()),
        }
    }

    /// How many entries were pushed.
    pub fn entries(&self) -> u64 {
        self.progress.entries()
    }

    /// The last verified entry's `seq` and hash (or the anchor's): where to resume.
    pub fn last(&self) -> Option<(u64, EntryHash)> {
        self.progress.last()
    }

    /// The first break, if any.
    pub fn broken(&self) -> Option<ChainBreak> {
        self.progress.broken()
    }

    /// Ends verification.
    ///
    /// # Errors
    /// The chain's first [`ChainBreak`].
    pub fn finish(self) -> Result<ChainHead, ChainBreak> {
        self.progress.finish()
    }
}
