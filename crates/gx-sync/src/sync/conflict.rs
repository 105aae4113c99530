//! Telling "already there" from a fork after a 409 `AUDIT_CHAIN_CONFLICT`.
//!
//! The server stores a batch all or nothing, and takes again an entry it holds with the
//! same hash, so for an honest client a 409 means one of: the server holds a *different*
//! entry at some seq (a fork), the server holds *less* than our cursor says (its data was
//! lost), or something we cannot explain. We read the server's stored chain over the batch's
//! range (plus the entry it links to) and compare hashes seq by seq:
//! - every entry it holds agrees, up to some seq in the batch: those are already there, the
//!   cursor moves to that seq and the run continues after it (progress, so no loop);
//! - a hash differs: a fork, reported with the seq and both hashes;
//! - it holds nothing at or after the link entry: the server is behind;
//! - otherwise the conflict is unexplained and the run stops.

use std::time::Instant;

use crate::{ApiError, GrantexClient};

use super::{PendingBatch, SyncErrorKind};

/// Returns the last seq of the batch the server already holds, unchanged.
pub(super) async fn resolve(
    client: &GrantexClient,
    bundle_id: &str,
    pending: &PendingBatch,
    conflict: ApiError,
    deadline: Option<Instant>,
    retries: &mut u32,
) -> Result<u64, SyncErrorKind> {
    let first = pending.body.first_seq();
    let link = first.saturating_sub(1);
    let limit = u32::try_from(pending.hashes.len() + 1).unwrap_or(u32::MAX);
    let stored = client
        .get_audit_within(bundle_id, link.saturating_sub(1), limit, deadline, retries)
        .await
        .map_err(SyncErrorKind::Client)?;
    let mut confirmed = None;
    let mut link_seen = link == 0;
    for entry in &stored {
        let local = if entry.seq == link && link > 0 {
            Some(pending.first_prev.as_str())
        } else {
            entry
                .seq
                .checked_sub(first)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| pending.hashes.get(i))
                .filter(|(seq, _)| *seq == entry.seq)
                .map(|(_, hash)| hash.as_str())
        };
        let Some(local) = local else { continue };
        if local != entry.hash {
            return Err(SyncErrorKind::Fork {
                seq: entry.seq,
                local_hash: local.to_owned(),
                server_hash: entry.hash.clone(),
            });
        }
        if entry.seq == link {
            link_seen = true;
        } else if confirmed.map_or(entry.seq == first, |c| entry.seq == c + 1) {
            confirmed = Some(entry.seq);
        }
    }
    if let Some(upto) = confirmed {
        return Ok(upto);
    }
    if !link_seen {
        let server_last = stored
            .iter()
            .map(|e| e.seq)
            .filter(|s| *s < link)
            .max()
            .unwrap_or(0);
        let server_last = match client.get_bundle(bundle_id).await {
            Ok(summary) => summary.audit_entry_count.unwrap_or(server_last),
            Err(_) => server_last,
        };
        return Err(SyncErrorKind::ServerBehind {
            server_last,
            cursor: link,
        });
    }
    Err(SyncErrorKind::UnexplainedConflict(conflict))
}
