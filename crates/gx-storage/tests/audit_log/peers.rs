//! Logs written by the published clients: the TypeScript chain verifies, the Python chain
//! verifies as the legacy format (and is reported as such), and a TypeScript log with its
//! side files (`.synced`, `.head`) opens and continues.

use std::path::PathBuf;

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogFormat, verify_log, verify_log_as};

use super::util::{fields, key, log_path, tempdir};

fn peer(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/peer")
        .join(name)
}

fn peer_key() -> gx_storage::AuditVerifyingKey {
    let pem = std::fs::read_to_string(peer("audit_ed25519_public.pem")).unwrap();
    gx_storage::AuditVerifyingKey::from_spki_pem(&pem).unwrap()
}

#[test]
fn the_typescript_chain_verifies() {
    let report = verify_log(peer("ts-head_chain100.jsonl"), &peer_key()).unwrap();
    assert_eq!(report.first_break(), None);
    assert_eq!(report.entries(), 100);
    assert_eq!(report.last_seq(), 100);
}

#[test]
fn the_python_chain_verifies_only_as_the_legacy_format() {
    let py = peer("py_chain100.jsonl");
    let report = verify_log_as(&py, &peer_key(), LogFormat::LegacyPython).unwrap();
    assert_eq!(report.first_break(), None);
    assert_eq!(report.entries(), 100);
    // Read as the wire format, it is refused at its first entry.
    let wire = verify_log(&py, &peer_key()).unwrap();
    let b = wire.first_break().unwrap();
    assert_eq!((b.index, b.code.code()), (0, "INVALID_ENTRY"));
}

#[test]
fn a_typescript_log_with_side_files_opens_and_continues() {
    let dir = tempdir();
    let path = log_path(&dir);
    std::fs::copy(peer("ts-head_chain100.jsonl"), &path).unwrap();
    std::fs::write(dir.path().join("audit.jsonl.synced"), "40").unwrap();
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap();
    assert_eq!(log.last_seq(), 100);
    assert_eq!(log.synced_seq(), 40);
    assert_eq!(log.entries_after(40).count(), 60);
    let r = log.append_fields(&fields(0)).unwrap();
    assert_eq!(r.seq(), 101);
}

#[test]
fn a_typescript_head_file_continues_a_rotated_away_chain() {
    let dir = tempdir();
    let path = log_path(&dir);
    let hash = "346bfb02bc9d11c30aaf505c8771d8975a1bb636d004d340041c07c34c436a97";
    std::fs::write(
        dir.path().join("audit.jsonl.head"),
        format!("{{\"seq\":7,\"prevHash\":\"{hash}\"}}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("audit.jsonl.synced"), "7").unwrap();
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap();
    assert_eq!(log.last_seq(), 7);
    let r = log.append_fields(&fields(0)).unwrap();
    assert_eq!(r.seq(), 8);
    assert!(r.line().contains(&format!("\"prevHash\":\"{hash}\"")));
}

#[test]
fn a_lost_head_is_an_error_not_a_fresh_chain() {
    let dir = tempdir();
    let path = log_path(&dir);
    std::fs::write(dir.path().join("audit.jsonl.synced"), "12").unwrap();
    let err = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap_err();
    assert_eq!(err.code(), "CHAIN_HEAD_LOST");
}

#[test]
fn append_takes_the_subject_from_a_verified_grant() {
    use gx_storage::gx_core::{
        DECODE_BUF_LEN, JwksSnapshot, RustCrypto, UnixTime, Verifier, VerifierOptions,
    };

    let jwks = std::fs::read(peer("jwks.json")).unwrap();
    let token = std::fs::read_to_string(peer("token.jwt")).unwrap();
    let snap = JwksSnapshot::<RustCrypto>::parse(&jwks).unwrap();
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let grant = verifier
        .verify(token.trim(), UnixTime::from_secs(1_795_751_706), &mut buf)
        .unwrap();

    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::EveryEntry)).unwrap();
    let r = log
        .append(
            "tool:read_contacts",
            &grant,
            "success",
            Some(r#"{"count":3}"#),
        )
        .unwrap();
    let e = r.entry().unwrap();
    assert!(e.entry.agent_did.eq_str("did:grantex:agent_1"));
    assert!(e.entry.grant_id.eq_str("grnt_1"));
    let scopes: Vec<String> = e.entry.scopes.iter().map(|s| s.to_string_lossy()).collect();
    assert_eq!(scopes, ["read:contacts", "write:calendar"]);
    assert!(r.line().contains(r#""agentDID":"did:grantex:agent_1","grantId":"grnt_1","scopes":["read:contacts","write:calendar"],"result":"success","metadata":{"count":3}"#), "{}", r.line());
}
