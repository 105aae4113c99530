//! What a sync run did ([`SyncReport`]) and how far it has got ([`SyncProgress`]).

use core::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::RevocationState;

/// Progress of a running sync, handed to the progress callback after every confirmed batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncProgress {
    /// The cursor: every entry up to this seq is confirmed stored by the server.
    pub cursor: u64,
    /// The seq the run will stop at (the log's last entry when the run started).
    pub target: u64,
    /// Entries confirmed in this run so far.
    pub accepted: u64,
    /// Batches confirmed in this run so far.
    pub batches: u64,
}

/// The outcome of a sync run (also carried, partial, by a `SyncError`).
///
/// Serializes to the CLI's JSON: `{"accepted","batches","retries","revocationStatus",
/// "cursor","alreadyStored","elapsedMs","revokedAt"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SyncReport {
    /// Entries the server confirmed in this run (newly stored or accepted again).
    pub accepted: u64,
    /// Batches confirmed.
    pub batches: u64,
    /// Requests sent again after a transient failure.
    pub retries: u64,
    /// Entries found already stored on the server when a batch conflicted (a previous run
    /// stored them but could not record it); the cursor moved past them.
    pub already_stored: u64,
    /// The grant's status as last reported by the server.
    pub revocation_status: RevocationState,
    /// When it was revoked, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The cursor after the run: the last seq the server confirmed.
    pub cursor: u64,
    /// Wall-clock time of the run.
    #[serde(rename = "elapsedMs", serialize_with = "millis")]
    pub elapsed: Duration,
    /// A replacement bundle the server pushed in a sync answer, as raw JSON (holds a
    /// private key: store it and drop it).
    #[serde(skip)]
    pub new_bundle: Option<Value>,
}

impl SyncReport {
    pub(crate) fn starting(cursor: u64) -> Self {
        Self {
            accepted: 0,
            batches: 0,
            retries: 0,
            already_stored: 0,
            revocation_status: RevocationState::Valid,
            revoked_at: None,
            cursor,
            elapsed: Duration::ZERO,
            new_bundle: None,
        }
    }

    /// Whether the server said the grant is revoked: the agent must stop using it.
    pub fn is_revoked(&self) -> bool {
        self.revocation_status == RevocationState::Revoked
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_to_the_cli_shape() {
        let mut r = SyncReport::starting(7);
        r.accepted = 3;
        r.batches = 1;
        r.elapsed = Duration::from_millis(1500);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["accepted"], 3);
        assert_eq!(v["batches"], 1);
        assert_eq!(v["retries"], 0);
        assert_eq!(v["revocationStatus"], "valid");
        assert_eq!(v["cursor"], 7);
        assert_eq!(v["elapsedMs"], 1500);
        assert!(v.get("revokedAt").is_none());
        assert!(v.get("newBundle").is_none());
    }
}
