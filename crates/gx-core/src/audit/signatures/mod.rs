//! Batched Ed25519 checks of entry signatures that give exactly the verdict of the single
//! check, [`AuditVerifyingKey::verify_hash`] (feature `batch`).
//!
//! # Which single check
//! The hosted service checks a signature with Node's `crypto.verify` (OpenSSL): the
//! cofactorless equation `[s]B = R + [k]A`, `R` compared as bytes (so a non-canonical
//! encoding of `R` fails), `s` refused unless below the group order `L`. gx's single check
//! is ed25519-dalek's `verify`, which is the same check: on the twelve edge-case vectors
//! of "Taming the many EdDSAs" and on Wycheproof's EdDSA vectors both give the same
//! verdicts, which the tests of this module compare entry by entry (against `node` too,
//! where it is installed).
//!
//! # How a batch keeps that verdict
//! ed25519-dalek's `verify_batch` checks one random linear combination
//! `Σ zᵢ·([sᵢ]B − Rᵢ − [kᵢ]Aᵢ) = 0` of the single equations. When every single equation
//! holds, the combination holds: a batch never rejects what the single check accepts, and
//! a batch that fails is re-checked entry by entry, so the verdicts come from the single
//! check. The other way round, a passing batch speaks for its entries only where a
//! failing single equation cannot cancel out in the combination. Its error term
//! `[sᵢ]B − Rᵢ − [kᵢ]Aᵢ` has a part in the prime-order subgroup, which the 128-bit
//! weights `zᵢ` expose except with probability about 2⁻¹²⁸, and a part in the 8 points of
//! small order, which weights divisible by 8 would hide. That part comes only from
//! small-order components of `R` and `A`, and from encodings the equation never sees
//! (a non-canonical `s`, `R` or `A`). So an entry goes into a batch only if
//! - `s` is canonical (below `L`),
//! - `R` is canonically encoded and is not of small order (an `R` that does not decode
//!   fails the batch, and so gets the single check),
//! - its key `A` is canonically encoded and lies in the prime-order subgroup (checked
//!   once per distinct key of a call: a chain has one);
//!
//! every other entry gets the single check on its own.
//!
//! One case stays outside what this can exclude cheaply: an `R` of *mixed* order (a
//! prime-order point plus a nonzero small-order one). With `A` in the prime-order subgroup
//! the single check always rejects such an `R`, since `[s]B − [k]A` has no small-order
//! part; a batch rejects it unless the weights of the batch cancel its small-order part.
//! `verify_batch` derives its weights from a transcript of the batch's own inputs (no
//! outside randomness), so whoever crafts the entries can search for inputs whose weights
//! do cancel it: the batch is exact for every signature an Ed25519 signer makes, not
//! against the key holder.
//! Finding such an `R` exactly costs one scalar multiplication, as much as the single check
//! itself. An Ed25519 signer never makes one (`R = [r]B`); only the holder of the private
//! key can craft it, and every edge-case vector that has one is also caught through its
//! key. Where the verdict must hold even against a key holder crafting signatures to
//! disagree, use the single check.
//!
//! # Memory
//! Entries are checked in chunks of [`SIGNATURE_BATCH`]; a chunk allocates its messages
//! (64 bytes each) and what `verify_batch` needs (about 600 bytes an entry: decoded points,
//! scalars, Pippenger's buckets; about 2.4 MiB for a full chunk), freed before the next
//! chunk.

use super::alloc::vec::Vec;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use super::entry::{EntryHash, EntrySignature};
use super::keys::AuditVerifyingKey;

/// How many signatures one batch checks: `verify_batch`'s multiscalar multiplication
/// (Pippenger's method) costs less per signature the larger the batch (10,000 signatures,
/// CPU time, AVX-512 IFMA backend, same load: 64 → 127.6 ms, 256 → 100.4 ms, 1024 →
/// 92.5 ms; `cargo bench -p gx-core --features batch,std --bench audit --
/// chain10k_cpu/signatures_batched`); 4096 took a 10k-entry chain check from Python a
/// further ~7 % down (the bench-peers chain scripts, 2026-12-04 22:10 UTC, quiet machine).
/// A full chunk holds about 2.4 MiB while it is checked.
pub const SIGNATURE_BATCH: usize = 4096;

/// One signature to check: `signature` over the 64 hex characters of `hash`, under `key`.
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'k> {
    /// The audit key that should have signed.
    pub key: &'k AuditVerifyingKey,
    /// The entry hash whose hex was signed.
    pub hash: EntryHash,
    /// The signature.
    pub signature: EntrySignature,
}

/// Checks every signature; on failure, the index of the first bad one. The verdict is the
/// single check's for every entry (see the module docs), at about half its cost per
/// signature for long runs.
///
/// # Errors
/// The index in `items` of the first signature that does not verify.
pub fn verify_signatures(items: &[SignatureCheck<'_>]) -> Result<(), usize> {
    let mut verdicts = [true; SIGNATURE_BATCH];
    for (c, chunk) in items.chunks(SIGNATURE_BATCH).enumerate() {
        let out = verdicts.get_mut(..chunk.len()).unwrap_or_default();
        chunk_verdicts(chunk, out);
        if let Some(bad) = out.iter().position(|ok| !ok) {
            return Err(c * SIGNATURE_BATCH + bad);
        }
    }
    Ok(())
}

/// The single check's verdict on every signature (`true`: it verifies), computed in
/// batches. For a caller that reports every bad entry, not just the first.
pub fn signature_verdicts(items: &[SignatureCheck<'_>]) -> Vec<bool> {
    let mut out = super::alloc::vec![true; items.len()];
    for (chunk, verdicts) in items
        .chunks(SIGNATURE_BATCH)
        .zip(out.chunks_mut(SIGNATURE_BATCH))
    {
        chunk_verdicts(chunk, verdicts);
    }
    out
}

/// The verdicts of one chunk of entry signatures into `out` (same length).
fn chunk_verdicts(chunk: &[SignatureCheck<'_>], out: &mut [bool]) {
    let messages: Vec<_> = chunk.iter().map(|c| c.hash.to_hex()).collect();
    let raw: Vec<Raw<'_>> = chunk
        .iter()
        .zip(&messages)
        .map(|(c, m)| Raw {
            key: c.key.dalek(),
            message: m.as_bytes(),
            signature: c.signature.as_bytes(),
        })
        .collect();
    raw_verdicts(&raw, out);
}

/// One signature over any message: the form the edge-case vectors come in.
#[derive(Clone, Copy)]
pub(crate) struct Raw<'a> {
    pub(crate) key: &'a VerifyingKey,
    pub(crate) message: &'a [u8],
    pub(crate) signature: &'a [u8; 64],
}

/// The single check: ed25519-dalek's `verify` (cofactorless, canonical `s`, `R` as bytes).
pub(crate) fn single(r: &Raw<'_>) -> bool {
    r.key
        .verify(r.message, &Signature::from_bytes(r.signature))
        .is_ok()
}

/// Whether a key may go into a batch: canonical encoding, in the prime-order subgroup.
fn key_batchable(key: &VerifyingKey) -> bool {
    canonical_encoding(key.as_bytes()) && key.to_edwards().is_torsion_free()
}

/// Whether the 32 bytes are the canonical encoding of a curve point's `y` and sign: `y`
/// below p = 2²⁵⁵ − 19, and no sign bit on the two points whose `x` is 0 (`y` = ±1).
fn canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // p little-endian: 0xed, thirty 0xff, 0x7f; y ≥ p only for the 19 values from p up.
    let at_least_p = y[0] >= 0xed && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    let mut p_minus_1 = [0xff; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    let mut one = [0; 32];
    one[0] = 1;
    let x_is_zero = y == one || y == p_minus_1;
    !(at_least_p || (sign == 1 && x_is_zero))
}

/// The canonical encodings of the eight points of small order.
fn small_order_encodings() -> [[u8; 32]; 8] {
    EIGHT_TORSION.map(|t| t.compress().0)
}

/// Whether a signature may go into a batch (its key checked apart): `s` canonical, `R`
/// canonically encoded and not one of the points of small order (a byte comparison, exact
/// for a canonical encoding). An `R` that does not decode fails the batch, and so gets
/// the single check.
fn signature_batchable(signature: &[u8; 64], small_order: &[[u8; 32]; 8]) -> bool {
    let (r, s) = signature.split_at(32);
    let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
        return false;
    };
    Option::<Scalar>::from(Scalar::from_canonical_bytes(s)).is_some()
        && canonical_encoding(&r)
        && !small_order.contains(&r)
}

/// The single check's verdicts on `items` into `out` (same length): batchable entries go
/// through one `verify_batch`, re-checked one by one if it fails; the rest one by one.
pub(crate) fn raw_verdicts(items: &[Raw<'_>], out: &mut [bool]) {
    let small_order = small_order_encodings();
    let mut last_key: Option<(&VerifyingKey, bool)> = None;
    let mut batch = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key_ok = match last_key {
            Some((k, ok)) if k == item.key => ok,
            _ => {
                let ok = key_batchable(item.key);
                last_key = Some((item.key, ok));
                ok
            }
        };
        if key_ok && signature_batchable(item.signature, &small_order) {
            batch.push(i);
        } else if let Some(o) = out.get_mut(i) {
            *o = single(item);
        }
    }
    if batch.is_empty() {
        return;
    }
    let picked = || batch.iter().filter_map(|&i| items.get(i));
    let messages: Vec<&[u8]> = picked().map(|r| r.message).collect();
    let signatures: Vec<Signature> = picked()
        .map(|r| Signature::from_bytes(r.signature))
        .collect();
    let keys: Vec<VerifyingKey> = picked().map(|r| *r.key).collect();
    let passed = ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok();
    for &i in &batch {
        if let (Some(o), Some(item)) = (out.get_mut(i), items.get(i)) {
            *o = passed || single(item);
        }
    }
}

#[cfg(test)]
mod tests;
