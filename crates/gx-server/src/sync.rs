//! `POST /v1/audit/offline-sync`: every check of the protocol, in its order, then an
//! all-or-nothing append under the store's bundle lock.
//!
//! Step 1 works on the batch alone, for every entry: shape (`INVALID_ENTRY`, by gx-core's
//! parser), bundle identity (`BUNDLE_MISMATCH`), recomputed hash (`INVALID_HASH`),
//! signature under the bundle's current audit key (`INVALID_SIGNATURE`), and continuity
//! inside the batch (`SEQ_GAP`, `BROKEN_CHAIN`). Any failure answers 400
//! `INVALID_AUDIT_ENTRIES` with one error per failing entry. Step 2 compares with the
//! stored chain (see [`reconcile`](crate::store::reconcile)): 409 `AUDIT_CHAIN_CONFLICT`.
//!
//! The whole request runs as one task on the blocking pool, off the async workers: the
//! body is parsed once, the bundle read, the batch checked (signatures in same-key
//! batches, spread over the cores for large batches), and the append made under the
//! store's lock. The append re-checks that the bundle's audit key is still the one the
//! batch was verified under; if a refresh committed in between, the batch is checked
//! again against the new key (where old-key entries fail `INVALID_SIGNATURE`).

use core::sync::atomic::{AtomicUsize, Ordering};

use gx_core::{AuditVerifyingKey, EntryHash, SignedAuditEntry};
use hyper::StatusCode;
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::api::{ApiError, EntryError, HttpResponse, enveloped};
use crate::encoding::iso;
use crate::state::AppState;
use crate::store::{AppendOutcome, BundleRecord, NewEntry, Store, StoreError};

/// Largest batch the protocol allows.
pub(crate) const MAX_BATCH: usize = 1000;

/// Largest `metadata` of one entry, in bytes of its JSON text as sent (64 KiB): bounds
/// what one stored entry costs every later read of the chain.
pub(crate) const MAX_METADATA_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct SyncRequest<'a> {
    #[serde(rename = "bundleId")]
    bundle_id: Option<String>,
    #[serde(borrow)]
    entries: Option<Entries<'a>>,
}

/// The error text of an `entries` array longer than [`MAX_BATCH`].
const TOO_MANY: &str = "too many entries";

/// The `entries` array, read no further than [`MAX_BATCH`] elements: a 1 MiB body of
/// `[0,0,0,...]` is refused after 1001 elements instead of becoming half a million
/// 16-byte slices.
struct Entries<'a>(Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Bounded;
        impl<'de> serde::de::Visitor<'de> for Bounded {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an array of audit entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element::<&'de RawValue>()? {
                    if out.len() == MAX_BATCH {
                        return Err(serde::de::Error::custom(TOO_MANY));
                    }
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_seq(Bounded)
    }
}

/// A best-effort `seq` for an error report on an entry that did not parse.
fn loose_seq(raw: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Seq {
        seq: Option<serde_json::Value>,
    }
    serde_json::from_str::<Seq>(raw).ok()?.seq?.as_u64()
}

fn entry_error(seq: Option<u64>, code: &'static str, message: impl Into<String>) -> EntryError {
    EntryError {
        seq,
        code,
        message: message.into(),
    }
}

/// Step 1: the checks that need only the batch and the bundle. Returns the entries ready
/// to store, or the per-entry errors, or a whole-request error.
fn check_batch(
    raw: &[&RawValue],
    bundle: &BundleRecord,
) -> Result<Result<Vec<NewEntry>, Vec<EntryError>>, ApiError> {
    let key = AuditVerifyingKey::from_bytes(&bundle.audit_public_key)
        .map_err(|_| ApiError::internal())?;
    // Parse every entry first, then run the CPU-heavy checks (hash, signature) across
    // the cores, then walk the batch in order for the errors and continuity.
    let parsed: Vec<Result<SignedAuditEntry<'_>, String>> = raw
        .iter()
        .map(
            |item| match SignedAuditEntry::parse_line(item.get().as_bytes()) {
                Ok(s) => Ok(Ok(s)),
                Err(e) if e.wire_code() == "BAD_REQUEST" => {
                    Err(ApiError::bad_request(format!("entry rejected: {e}")))
                }
                Err(e) => Ok(Err(e.to_string())),
            },
        )
        .collect::<Result<_, _>>()?;
    let verdicts = verdicts(&parsed, &key)?;
    let mut errors = Vec::new();
    let mut ready = Vec::with_capacity(raw.len());
    // (seq, hash) of the previous entry that parsed, for the continuity checks.
    let mut previous: Option<(u64, EntryHash)> = None;
    for ((item, parsed), verdict) in raw.iter().zip(&parsed).zip(verdicts) {
        let (signed, verdict) = match (parsed, verdict) {
            (Ok(s), Some(v)) => (s, v),
            (Err(message), _) => {
                errors.push(entry_error(
                    loose_seq(item.get()),
                    "INVALID_ENTRY",
                    message.clone(),
                ));
                previous = None;
                continue;
            }
            (Ok(_), None) => return Err(ApiError::internal()),
        };
        let e = &signed.entry;
        let seq = Some(e.seq);
        let metadata_len = e.metadata.as_ref().map_or(0, |m| m.as_json().len());
        let error = if metadata_len > MAX_METADATA_BYTES {
            Some(entry_error(
                seq,
                "INVALID_ENTRY",
                format!(
                    "metadata is {metadata_len} bytes; at most {MAX_METADATA_BYTES} are stored"
                ),
            ))
        } else if !e.grant_id.eq_str(&bundle.grant_id) {
            Some(entry_error(
                seq,
                "BUNDLE_MISMATCH",
                "grantId is not the bundle's grant",
            ))
        } else if !e.agent_did.eq_str(&bundle.agent_did) {
            Some(entry_error(
                seq,
                "BUNDLE_MISMATCH",
                "agentDID is not the bundle's agent",
            ))
        } else if !e
            .scopes
            .iter()
            .all(|s| bundle.scopes.iter().any(|b| s.eq_str(b)))
        {
            Some(entry_error(
                seq,
                "BUNDLE_MISMATCH",
                "a scope is not one of the bundle's scopes",
            ))
        } else {
            match verdict {
                Verdict::Unhashable(message) => Some(entry_error(seq, "INVALID_ENTRY", message)),
                Verdict::HashMismatch => Some(entry_error(
                    seq,
                    "INVALID_HASH",
                    "hash does not match the entry",
                )),
                Verdict::BadSignature => Some(entry_error(
                    seq,
                    "INVALID_SIGNATURE",
                    "signature does not verify under the bundle's audit key",
                )),
                Verdict::Good => match previous {
                    Some((p, _)) if e.seq != p + 1 => Some(entry_error(
                        seq,
                        "SEQ_GAP",
                        format!("seq {} does not follow {p}", e.seq),
                    )),
                    Some((_, ph)) if e.prev_hash.to_wire().as_str() != ph.to_hex().as_str() => {
                        Some(entry_error(
                            seq,
                            "BROKEN_CHAIN",
                            "prevHash is not the previous entry's hash",
                        ))
                    }
                    _ => None,
                },
            }
        };
        previous = Some((e.seq, signed.hash));
        match error {
            Some(err) => errors.push(err),
            None => {
                let json = wire_json(signed)?;
                ready.push(NewEntry {
                    seq: e.seq,
                    hash: signed.hash.to_hex().as_str().to_owned(),
                    prev_hash: e.prev_hash.to_wire().as_str().to_owned(),
                    json,
                });
            }
        }
    }
    Ok(if errors.is_empty() {
        Ok(ready)
    } else {
        Err(errors)
    })
}

/// What the CPU-heavy checks say about one parsed entry.
enum Verdict {
    /// The hash could not be computed from the entry's content.
    Unhashable(String),
    /// The recomputed hash differs from the entry's `hash`.
    HashMismatch,
    /// The hash matches but the signature does not verify.
    BadSignature,
    /// Hash and signature are good.
    Good,
}

/// The verdicts for a run of parsed entries, with the signatures of the entries whose hash
/// matches checked as one same-key batch first (about half the cost of one check each);
/// only when the batch fails is each entry checked alone, to name the bad ones.
fn judge_part(
    part: &[Result<SignedAuditEntry<'_>, String>],
    key: &AuditVerifyingKey,
) -> Vec<Option<Verdict>> {
    let hashed: Vec<Option<Result<bool, String>>> = part
        .iter()
        .map(|p| {
            p.as_ref().ok().map(|s| match s.entry.hash() {
                Err(err) => Err(err.to_string()),
                Ok(h) => Ok(h == s.hash),
            })
        })
        .collect();
    let signed: Vec<_> = part
        .iter()
        .zip(&hashed)
        .filter_map(|(p, h)| match (p, h) {
            (Ok(s), Some(Ok(true))) => Some((s.hash, s.signature)),
            _ => None,
        })
        .collect();
    let batch_good = !signed.is_empty() && key.verify_batch(&signed);
    part.iter()
        .zip(hashed)
        .map(|(p, h)| {
            let s = p.as_ref().ok()?;
            Some(match h? {
                Err(message) => Verdict::Unhashable(message),
                Ok(false) => Verdict::HashMismatch,
                Ok(true) if batch_good => Verdict::Good,
                Ok(true) => match key.verify_hash(&s.hash, &s.signature) {
                    Ok(()) => Verdict::Good,
                    Err(_) => Verdict::BadSignature,
                },
            })
        })
        .collect()
}

/// Below this many entries per thread, fanning out costs more than it saves.
const ENTRIES_PER_THREAD: usize = 64;

/// The most threads one batch's checks use (this one and its helpers).
const MAX_CHECK_THREADS: usize = 8;

/// The verdict on every parsed entry (`None` for those that did not parse), spread over
/// the available cores for large batches: the Ed25519 checks are most of a sync's CPU time.
fn verdicts(
    parsed: &[Result<SignedAuditEntry<'_>, String>],
    key: &AuditVerifyingKey,
) -> Result<Vec<Option<Verdict>>, ApiError> {
    let judge = |part: &[Result<SignedAuditEntry<'_>, String>]| judge_part(part, key);
    let cores = std::thread::available_parallelism().map_or(1, core::num::NonZero::get);
    let wanted = cores
        .min(parsed.len() / ENTRIES_PER_THREAD)
        .min(MAX_CHECK_THREADS);
    // This thread judges one part; helpers come from a budget shared by every request,
    // so many concurrent syncs do not multiply threads past the core count.
    let helpers = HelperThreads::reserve(wanted.saturating_sub(1), cores);
    if helpers.count == 0 {
        return Ok(judge(parsed));
    }
    let chunk = parsed.len().div_ceil(helpers.count + 1);
    let mut parts = parsed.chunks(chunk);
    let mine = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        // A thread the OS refuses to create just means that part is judged here.
        let others: Vec<_> = parts
            .map(|part| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || judge(part))
                    .map_err(|_| part)
            })
            .collect();
        let mut out = judge(mine);
        out.reserve(parsed.len().saturating_sub(out.len()));
        for part in others {
            match part {
                Ok(handle) => out.extend(handle.join().map_err(|_| ApiError::internal())?),
                Err(part) => out.extend(judge(part)),
            }
        }
        Ok(out)
    })
}

/// Helper threads checking sync batches right now, across all requests.
static HELPERS_BUSY: AtomicUsize = AtomicUsize::new(0);

/// A reservation of helper threads from [`HELPERS_BUSY`], returned on drop.
struct HelperThreads {
    count: usize,
}

impl HelperThreads {
    /// Reserves up to `want` helpers while fewer than `cap` are busy in total.
    fn reserve(want: usize, cap: usize) -> Self {
        let mut busy = HELPERS_BUSY.load(Ordering::Relaxed);
        loop {
            let count = want.min(cap.saturating_sub(busy));
            if count == 0 {
                return Self { count: 0 };
            }
            match HELPERS_BUSY.compare_exchange_weak(
                busy,
                busy + count,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Self { count },
                Err(now) => busy = now,
            }
        }
    }
}

impl Drop for HelperThreads {
    fn drop(&mut self) {
        HELPERS_BUSY.fetch_sub(self.count, Ordering::AcqRel);
    }
}

/// The entry re-serialized in the TypeScript client's exact wire form, for storage.
fn wire_json(signed: &SignedAuditEntry<'_>) -> Result<String, ApiError> {
    let len = signed.json_len().map_err(|_| ApiError::internal())?;
    let mut buf = vec![0u8; len];
    let n = signed
        .write_json(&mut buf)
        .map_err(|_| ApiError::internal())?;
    buf.truncate(n);
    String::from_utf8(buf).map_err(|_| ApiError::internal())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncReply {
    accepted: usize,
    rejected: usize,
    revocation_status: &'static str,
    revoked_at: Option<String>,
    errors: [EntryError; 0],
    new_bundle: Option<()>,
}

/// `POST /v1/audit/offline-sync`.
pub(crate) async fn sync(
    state: &AppState,
    dev: &str,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let store = std::sync::Arc::clone(&state.store);
    let (dev, now, quota) = (dev.to_owned(), state.now_ms(), state.storage_quota);
    let reply =
        tokio::task::spawn_blocking(move || sync_blocking(&*store, &dev, &body, now, quota))
            .await
            .map_err(|_| ApiError::internal())??;
    enveloped(StatusCode::OK, &reply)
}

/// How often a batch is checked again because a refresh changed the key meanwhile,
/// before the client is asked to retry.
const KEY_CHANGE_ATTEMPTS: usize = 3;

/// A store failure: logged with its cause, answered 500.
fn store_failed(e: StoreError) -> ApiError {
    tracing::error!(code = e.code(), error = %e, "store failure");
    ApiError::internal()
}

/// The sync request from end to end, on a blocking-pool thread.
fn sync_blocking(
    store: &dyn Store,
    dev: &str,
    body: &[u8],
    now: u64,
    quota: Option<u64>,
) -> Result<SyncReply, ApiError> {
    let req: SyncRequest<'_> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() && e.to_string().starts_with(TOO_MANY) {
            ApiError::too_large(format!("at most {MAX_BATCH} entries per batch"))
        } else {
            ApiError::bad_request("body must be {\"bundleId\", \"entries\": [...]}")
        }
    })?;
    let bundle_id = req
        .bundle_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("bundleId is required"))?;
    let Entries(entries) = req
        .entries
        .ok_or_else(|| ApiError::bad_request("entries is required"))?;
    if entries.is_empty() {
        return Err(ApiError::bad_request(
            "entries must hold at least one entry",
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(ApiError::too_large(format!(
            "at most {MAX_BATCH} entries per batch"
        )));
    }
    for _ in 0..KEY_CHANGE_ATTEMPTS {
        let bundle = store
            .bundle(dev, &bundle_id)
            .map_err(store_failed)?
            .ok_or_else(|| ApiError::not_found("bundle"))?;
        let ready = check_batch(&entries, &bundle)?.map_err(|errors| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_AUDIT_ENTRIES",
                "audit entries failed verification",
            )
            .with_errors(errors)
        })?;
        match store
            .append_entries(&bundle_id, &bundle.audit_public_key, &ready, now, quota)
            .map_err(store_failed)?
        {
            AppendOutcome::Accepted { stored, revoked_at } => {
                tracing::debug!(stored, accepted = entries.len(), "sync batch accepted");
                return Ok(SyncReply {
                    accepted: entries.len(),
                    rejected: 0,
                    revocation_status: if revoked_at.is_some() {
                        "revoked"
                    } else {
                        "valid"
                    },
                    revoked_at: revoked_at.map(iso),
                    errors: [],
                    new_bundle: None,
                });
            }
            AppendOutcome::KeyChanged => continue,
            AppendOutcome::Conflict(conflicts) => {
                let errors = conflicts
                    .iter()
                    .map(|c| entry_error(Some(c.seq), c.kind.code(), c.to_string()))
                    .collect();
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "AUDIT_CHAIN_CONFLICT",
                    "the batch conflicts with the stored chain",
                )
                .with_errors(errors));
            }
            AppendOutcome::UnknownBundle => return Err(ApiError::not_found("bundle")),
            AppendOutcome::QuotaExceeded { used, quota } => {
                return Err(ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "STORAGE_QUOTA_EXCEEDED",
                    format!(
                        "the developer's audit storage is full ({used} of {quota} bytes); nothing was stored"
                    ),
                ));
            }
        }
    }
    let mut busy = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVER_BUSY",
        "the bundle's audit key changed while the batch was checked; retry",
    );
    busy.retry_after = Some(1);
    Err(busy)
}

#[cfg(test)]
mod tests {
    use super::HelperThreads;

    #[test]
    fn helper_threads_share_one_budget_and_come_back() {
        // No other unit test checks batches, so the budget starts empty here.
        let a = HelperThreads::reserve(3, 4);
        let b = HelperThreads::reserve(3, 4);
        let c = HelperThreads::reserve(3, 4);
        assert_eq!((a.count, b.count, c.count), (3, 1, 0));
        drop(a);
        let d = HelperThreads::reserve(5, 4);
        assert_eq!(d.count, 3);
        drop((b, c, d));
        assert_eq!(HelperThreads::reserve(2, 4).count, 2);
    }
}
