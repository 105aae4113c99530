//! The session's rules, against the peer fixture bundle (its token verifies from
//! 1795751706 to 1796010906).

use gx_core::RustCrypto;

use super::*;
use crate::FsyncPolicy;

const IAT: u64 = 1_795_751_706;
const EXP: u64 = 1_796_010_906;
/// The snapshot's `validUntil` is the token's `exp`, and it is checked first.
const EXPIRED: &str = "JWKS_SNAPSHOT_EXPIRED";

fn fixture_bundle() -> ConsentBundle {
    ConsentBundle::from_json(include_bytes!("../../../../fixtures/peer/bundle.json")).unwrap()
}

fn key() -> BundleKey {
    BundleKey::from_hex(&"42".repeat(32)).unwrap()
}

struct Device {
    dir: tempfile::TempDir,
    clock: ManualClock,
}

impl Device {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        BundleFile::new(dir.path().join("b.gx"))
            .store(&fixture_bundle(), &key())
            .unwrap();
        Self {
            dir,
            clock: ManualClock::new(UnixTime::from_secs(IAT + 60)),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn open(&self) -> DeviceSession<'static, RustCrypto> {
        let options = DeviceOptions::new()
            .with_clock(self.clock.clone())
            .with_log(
                self.path("audit.jsonl"),
                AuditLogConfig::new(FsyncPolicy::None),
            );
        DeviceSession::open(self.path("b.gx"), key(), options).unwrap()
    }
}

/// A copy of `bundle` as a refresh returns it: a new audit key pair and checkpoint.
fn refreshed(bundle: &ConsentBundle, seed: u8, checkpoint_secs: u64) -> ConsentBundle {
    let new = AuditSigningKey::from_bytes(&[seed; 32]);
    let mut v: serde_json::Value = serde_json::from_slice(&bundle.to_json()).unwrap();
    v["offlineAuditKey"]["privateKey"] = new.to_pkcs8_pem().as_str().into();
    v["offlineAuditKey"]["publicKey"] = new.verifying_key().to_spki_pem().as_str().into();
    v["checkpointAt"] = (checkpoint_secs * 1000).into();
    if let Some(o) = v.as_object_mut() {
        o.remove("gxAuditKeyHistory");
    }
    ConsentBundle::from_value(v).unwrap()
}

#[test]
fn appends_are_stamped_at_the_check_and_revocation_survives_a_restart() {
    let d = Device::new();
    let s = d.open();
    let r = s
        .append("tool:a", "success", Some(r#"{"n":1}"#), None)
        .unwrap();
    assert_eq!(r.seq(), 1);
    let entry = r.entry().unwrap();
    assert_eq!(entry.entry.grant_id.as_str(), Some("grnt_1"));
    // An explicit time later than the clock stamps the entry with it, not the clock.
    let r = s
        .append(
            "tool:a",
            "success",
            None,
            Some(UnixTime::from_secs(IAT + 600)),
        )
        .unwrap();
    assert!(
        r.line()
            .contains("\"timestamp\":\"2026-11-27T04:05:06.000Z\""),
        "{}",
        r.line()
    );
    s.learn_revoked(Some("2026-11-28T00:00:00.000Z".into()))
        .unwrap();
    let err = s.append("tool:a", "success", None, None).unwrap_err();
    assert_eq!(err.code(), "BUNDLE_REVOKED");
    drop(s);
    let s = d.open();
    assert!(s.is_revoked());
    assert_eq!(
        s.authorize(Some("read:contacts"), None).unwrap_err().code(),
        "BUNDLE_REVOKED"
    );
    assert_eq!(s.log().unwrap().last_seq(), 2);
}

#[test]
fn a_clock_set_back_never_revives_an_expired_grant() {
    let d = Device::new();
    let s = d.open();
    assert!(s.authorize(None, None).unwrap().scope_granted());
    d.clock.set(UnixTime::from_secs(EXP + 3600));
    let err = s.authorize(None, None).unwrap_err();
    assert_eq!(err.code(), EXPIRED);
    // The cause is typed: gx-core's verdict, owned, with its code.
    let cause = core::error::Error::source(&err)
        .and_then(|c| c.downcast_ref::<GrantError>())
        .expect("a GrantError source");
    assert_eq!(cause.code(), EXPIRED);
    assert!(cause.to_string().starts_with(EXPIRED), "{cause}");
    // Back to a time the grant was valid at: the floor keeps it expired, across a restart,
    // and an explicit time in the past is bounded too.
    d.clock.set(UnixTime::from_secs(IAT + 120));
    assert_eq!(s.authorize(None, None).unwrap_err().code(), EXPIRED);
    drop(s);
    let s = d.open();
    assert!(s.floor() >= UnixTime::from_secs(EXP + 3600));
    let err = s
        .append("tool:a", "success", None, Some(UnixTime::from_secs(IAT)))
        .unwrap_err();
    assert_eq!(err.code(), EXPIRED);
    assert_eq!(s.log().unwrap().last_seq(), 0);
}

#[test]
fn a_scope_is_looked_up_not_enforced() {
    let d = Device::new();
    let s = d.open();
    assert!(
        s.authorize(Some("read:contacts"), None)
            .unwrap()
            .scope_granted()
    );
    assert!(
        !s.authorize(Some("send:email"), None)
            .unwrap()
            .scope_granted()
    );
}

#[test]
fn a_log_verifies_across_refreshes_and_appends_wait_for_the_journal() {
    let d = Device::new();
    let s = d.open();
    let original = s.bundle();
    for round in 0..3u8 {
        for _ in 0..2 {
            s.append("tool:a", "success", None, None).unwrap();
        }
        let ticket = s.begin_refresh().unwrap();
        assert_eq!(ticket.from_seq(), u64::from(round) * 2 + 3);
        let err = s.append("tool:a", "success", None, None).unwrap_err();
        assert_eq!(err.code(), "REFRESH_PENDING");
        let next = refreshed(&s.bundle(), 10 + round, IAT + 100 + u64::from(round));
        s.complete_refresh(ticket, next).unwrap();
    }
    s.append("tool:a", "success", None, None).unwrap();
    let log = d.path("audit.jsonl");
    let report = s.verify_log(&log).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break());
    assert_eq!(report.entries(), 7);
    assert_eq!(s.key_spans().len(), 4);
    // The current key alone breaks at the first entry: what `verify --bundle` did before.
    let current = signing_key(&s.bundle()).unwrap().verifying_key();
    let only = crate::verify_log(&log, &current).unwrap();
    assert_eq!(only.first_break().map(|b| b.index), Some(0));
    // The keys given by hand, without their seqs, verify too.
    let by_hand: Vec<KeySpan> = s
        .key_spans()
        .iter()
        .map(|k| KeySpan::unbounded(*k.key()))
        .collect();
    assert!(verify_log_keys(&log, &by_hand).unwrap().is_intact());
    // A bad signature on either side of a key boundary: the history's batched check
    // reports what the one-by-one schedule does, at that entry.
    let lines: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for bad in [1usize, 2, 4, 6] {
        let mut copy = lines.clone();
        let line = &mut copy[bad];
        let at = line.find("\"signature\":\"").unwrap() + 13;
        let digit = if &line[at..=at] == "0" { "1" } else { "0" };
        line.replace_range(at..=at, digit);
        let tampered = d.path(&format!("tampered{bad}.jsonl"));
        fs::write(&tampered, copy.join("\n") + "\n").unwrap();
        let batched = s.verify_log(&tampered).unwrap();
        let serial = verify_log_keys(&tampered, &by_hand).unwrap();
        let at_break = |r: &VerifyReport| r.first_break().map(|b| (b.index, b.seq, b.code));
        assert_eq!(
            at_break(&batched),
            Some((
                bad as u64,
                Some(bad as u64 + 1),
                gx_core::BreakCode::InvalidSignature
            ))
        );
        assert_eq!(at_break(&batched), at_break(&serial));
        assert_eq!(batched.entries(), bad as u64);
        assert_eq!(serial.entries(), bad as u64);
    }
    // The history lives in the bundle file: a restart sees it.
    drop(s);
    let s = d.open();
    assert_eq!(s.key_spans().len(), 4);
    assert_ne!(
        s.bundle().offline_audit_key().public_key,
        original.offline_audit_key().public_key
    );
    assert!(s.verify_log(&log).unwrap().is_intact());
}

#[test]
fn a_journal_survives_a_crash_and_a_completed_one_is_cleared() {
    let d = Device::new();
    let s = d.open();
    s.append("tool:a", "success", None, None).unwrap();
    let ticket = s.begin_refresh().unwrap();
    // Crash before the answer is stored: the journal blocks every append after restart.
    drop(ticket);
    drop(s);
    let s = d.open();
    assert!(s.refresh_pending());
    assert_eq!(
        s.append("tool:a", "success", None, None)
            .unwrap_err()
            .code(),
        "REFRESH_PENDING"
    );
    // The next refresh resumes: same seq, stores, unblocks.
    let ticket = s.begin_refresh().unwrap();
    assert_eq!(ticket.from_seq(), 2);
    s.complete_refresh(ticket, refreshed(&s.bundle(), 9, IAT + 200))
        .unwrap();
    assert!(!s.refresh_pending());
    s.append("tool:a", "success", None, None).unwrap();
    // A journal whose key is no longer in force (a crash after the store) is removed.
    RefreshJournal::beside(&d.path("b.gx"))
        .begin(&Pending::new(
            "bnd_1",
            &AuditSigningKey::from_bytes(&[1; 32]).verifying_key(),
            3,
        ))
        .unwrap();
    drop(s);
    let s = d.open();
    assert!(!s.refresh_pending());
    assert!(!d.path("b.gx.refresh").exists());
    assert!(s.verify_log(d.path("audit.jsonl")).unwrap().is_intact());
}

#[test]
fn a_planted_history_key_is_refused() {
    let d = Device::new();
    let s = d.open();
    s.append("tool:a", "success", None, None).unwrap();
    let ticket = s.begin_refresh().unwrap();
    s.complete_refresh(ticket, refreshed(&s.bundle(), 7, IAT + 100))
        .unwrap();
    drop(s);
    // Someone with the bundle key but not the old audit key rewrites the history to
    // claim their own key signed from seq 1: the endorsement chain refuses it.
    let file = BundleFile::new(d.path("b.gx"));
    let b = file.load(&key()).unwrap();
    let attacker = AuditSigningKey::from_bytes(&[66; 32]);
    let forged = AuditKeyHistory::default().rotated(
        "bnd_1",
        &attacker,
        signing_key(&b).unwrap().verifying_key(),
        2,
    );
    let b = b.with_key_history(forged);
    file.store(&b, &key()).unwrap();
    let options = DeviceOptions::new().with_clock(d.clock.clone());
    // The forged history itself holds together (the attacker endorsed with their key) but
    // the log's first entry does not verify under it.
    let s = DeviceSession::<RustCrypto>::open(d.path("b.gx"), key(), options).unwrap();
    let report = s.verify_log(d.path("audit.jsonl")).unwrap();
    assert_eq!(report.first_break().map(|b| b.index), Some(0));
}
