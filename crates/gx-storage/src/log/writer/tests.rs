//! Unit tests of the writer's internal state under injected faults.

use super::*;
use crate::fault::{Fault, FaultPoint};

/// One entry's fields, for tests of the writer and its submodules.
pub(super) fn fields() -> EntryFields<'static> {
    EntryFields {
        action: "tool:x",
        agent_did: "did:grantex:agent",
        grant_id: "grnt_1",
        scopes: &["a:b"],
        result: "success",
        metadata: None,
    }
}

/// A disk that keeps failing must not make the log hold one record per failure.
#[test]
fn failures_are_forgotten_once_no_appender_waits() {
    for policy in [FsyncPolicy::EveryEntry, FsyncPolicy::GroupCommit] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = AuditSigningKey::from_bytes(&[3; 32]);
        let log = AuditLog::open(&path, key, AuditLogConfig::new(policy)).unwrap();
        let rounds = 100;
        let guard = Fault::new(FaultPoint::LogWrite, &path, 28)
            .times(u32::MAX)
            .arm();
        for _ in 0..rounds {
            assert!(log.append_fields(&fields()).is_err());
        }
        assert_eq!(guard.fired(), rounds);
        drop(guard);
        {
            let st = log.lock_state();
            assert!(st.failures.is_empty(), "{policy:?}: {}", st.failures.len());
            assert_eq!(st.failures_base, u64::from(rounds));
            assert_eq!(st.waiters, 0);
        }
        assert_eq!(log.append_fields(&fields()).unwrap().seq(), 1);
    }
}
