//! `POST /v1/audit/offline-sync`: acceptance, idempotency, every per-entry and chain error
//! code, all-or-nothing, and two clients racing with the same batch.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ChainWriter, TestServer, assert_enveloped, start, sync_body};

const SYNC: &str = "/v1/audit/offline-sync";

async fn stored_seqs(t: &TestServer, id: &str) -> Vec<u64> {
    let r = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/audit"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

fn errors(body: &Value) -> Vec<(Option<u64>, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn accepts_a_chain_and_reuploads_idempotently() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let first = w.batch(5);
    let r = t.client.post(SYNC, &sync_body(id, &first)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_enveloped(&r.body);
    assert_eq!(r.body["accepted"], 5);
    assert_eq!(r.body["rejected"], 0);
    assert_eq!(r.body["revocationStatus"], "valid");
    assert_eq!(r.body["revokedAt"], Value::Null);
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(r.body["newBundle"], Value::Null);
    // The same batch again: accepted again, stored once.
    let r = t.client.post(SYNC, &sync_body(id, &first)).await;
    assert_eq!(
        (r.status, r.body["accepted"].as_u64()),
        (StatusCode::OK, Some(5))
    );
    // Overlapping batch 4..=7: the stored part is idempotent, the rest continues.
    let mut overlap = first[3..].to_vec();
    overlap.extend(w.batch(2));
    let r = t.client.post(SYNC, &sync_body(id, &overlap)).await;
    assert_eq!(
        (r.status, r.body["accepted"].as_u64()),
        (StatusCode::OK, Some(4))
    );
    assert_eq!(stored_seqs(&t, id).await, (1..=7).collect::<Vec<_>>());
    let s = t.client.get(&format!("/v1/consent-bundles/{id}")).await;
    assert_eq!(s.body["auditEntryCount"], 7);
    assert!(s.body["lastSyncAt"].is_string());
}

#[tokio::test]
async fn per_entry_errors_reject_the_whole_batch() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let good = w.batch(3);

    let mut missing = good[1].clone();
    missing.as_object_mut().unwrap().remove("result");
    let mut mismatch_w = ChainWriter::for_bundle(&b);
    mismatch_w.grant_id = String::from("grnt_someone_else");
    let mut scope_w = ChainWriter::for_bundle(&b);
    scope_w.scopes = vec![String::from("send:email")];
    let mut tampered = good[1].clone();
    tampered["action"] = json!("tool:delete_everything");
    let other = t.create_bundle().await;
    let foreign_sig = ChainWriter::for_bundle(&other).sign(good[1]["hash"].as_str().unwrap());
    let mut bad_sig = good[1].clone();
    bad_sig["signature"] = json!(foreign_sig);
    let gap = w.entry_at(3, good[1]["hash"].as_str().unwrap(), "tool:read_contacts");
    let broken = w.entry_at(2, &"ab".repeat(32), "tool:read_contacts");

    let cases: Vec<(Vec<Value>, Option<u64>, &str)> = vec![
        (vec![good[0].clone(), missing], None, "INVALID_ENTRY"),
        (
            vec![good[0].clone(), json!("not an object")],
            None,
            "INVALID_ENTRY",
        ),
        (
            vec![mismatch_w.entry_at(1, "0000000000000000", "a")],
            Some(1),
            "BUNDLE_MISMATCH",
        ),
        (
            vec![scope_w.entry_at(1, "0000000000000000", "a")],
            Some(1),
            "BUNDLE_MISMATCH",
        ),
        (vec![good[0].clone(), tampered], Some(2), "INVALID_HASH"),
        (vec![good[0].clone(), bad_sig], Some(2), "INVALID_SIGNATURE"),
        (vec![good[0].clone(), gap], Some(3), "SEQ_GAP"),
        (vec![good[0].clone(), broken], Some(2), "BROKEN_CHAIN"),
    ];
    for (entries, seq, code) in cases {
        let r = t.client.post(SYNC, &sync_body(id, &entries)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "INVALID_AUDIT_ENTRIES"),
            "{code}: {:?}",
            r.body
        );
        let errs = errors(&r.body);
        assert_eq!(errs.len(), 1, "{code}: {errs:?}");
        assert_eq!(errs[0].1, code);
        if seq.is_some() {
            assert_eq!(errs[0].0, seq, "{code}");
        }
        assert!(r.body["requestId"].is_string());
    }
    // Nothing of any rejected batch was stored: the first entry (valid in each) is absent.
    assert!(stored_seqs(&t, id).await.is_empty());
}

#[tokio::test]
async fn large_batch_reports_each_bad_entry_in_order() {
    // 1000 entries are checked on several threads; errors must still name the right
    // entries, in batch order, whichever chunk they fall in.
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let mut entries = w.batch(1000);
    entries[120]["action"] = json!("tool:delete_everything");
    let other = t.create_bundle().await;
    let hash = entries[640]["hash"].as_str().unwrap().to_owned();
    entries[640]["signature"] = json!(ChainWriter::for_bundle(&other).sign(&hash));
    entries[999]["action"] = json!("tool:also_tampered");
    let r = t.client.post(SYNC, &sync_body(id, &entries)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "INVALID_AUDIT_ENTRIES"),
        "{:?}",
        r.body
    );
    assert_eq!(
        errors(&r.body),
        vec![
            (Some(121), String::from("INVALID_HASH")),
            (Some(641), String::from("INVALID_SIGNATURE")),
            (Some(1000), String::from("INVALID_HASH")),
        ]
    );
    assert!(stored_seqs(&t, id).await.is_empty());
    // The untouched batch is accepted whole.
    let mut w = ChainWriter::for_bundle(&b);
    let r = t.client.post(SYNC, &sync_body(id, &w.batch(1000))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["accepted"], 1000);
    assert_eq!(stored_seqs(&t, id).await.len(), 1000);
}

#[tokio::test]
async fn request_level_sync_errors() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let e = w.next();
    let cases = [
        (
            json!({"entries": [e]}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"bundleId": id}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"bundleId": id, "entries": []}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"bundleId": id, "entries": {}}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"bundleId": "bundle_01UNKNOWN", "entries": [e]}),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
    ];
    for (body, status, code) in cases {
        let r = t.client.post(SYNC, &body).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}");
    }
    // A `__proto__` metadata key fails the whole request with 400 BAD_REQUEST.
    let raw = format!(
        r#"{{"bundleId":"{id}","entries":[{{"seq":1,"timestamp":"2026-11-27T10:00:00.000Z","action":"a","agentDID":"{}","grantId":"{}","scopes":["read:contacts"],"result":"success","metadata":{{"__proto__":{{"x":1}}}},"prevHash":"0000000000000000","hash":"{}","signature":"{}"}}]}}"#,
        w.agent_did,
        w.grant_id,
        "a".repeat(64),
        "b".repeat(128)
    );
    let auth = format!("Bearer {}", t.tenant.api_key.expose());
    let r = t
        .client
        .send_raw(hyper::Method::POST, SYNC, raw.into_bytes(), Some(&auth))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn conflicts_with_the_stored_chain_answer_409() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let stored = w.batch(2);
    assert_eq!(
        t.client.post(SYNC, &sync_body(id, &stored)).await.status,
        StatusCode::OK
    );

    // Same seq 2, another (valid) entry: DUPLICATE_SEQ.
    let dup = w.entry_at(2, stored[0]["hash"].as_str().unwrap(), "tool:other");
    // Starts at 4 although 2 is the last stored: SEQ_GAP.
    let gap = w.entry_at(4, &"cd".repeat(32), "tool:x");
    // seq 3 but linked to something else: BROKEN_CHAIN.
    let broken = w.entry_at(3, &"ef".repeat(32), "tool:x");
    for (entry, code) in [
        (dup, "DUPLICATE_SEQ"),
        (gap, "SEQ_GAP"),
        (broken.clone(), "BROKEN_CHAIN"),
    ] {
        let seq = entry["seq"].as_u64();
        // A valid continuation after the bad entry must not be stored either.
        let follow = w.entry_at(seq.unwrap() + 1, entry["hash"].as_str().unwrap(), "tool:y");
        let r = t.client.post(SYNC, &sync_body(id, &[entry, follow])).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "AUDIT_CHAIN_CONFLICT"),
            "{code}: {:?}",
            r.body
        );
        assert_eq!(errors(&r.body)[0], (seq, code.to_owned()));
    }
    assert_eq!(stored_seqs(&t, id).await, vec![1, 2]);
    // A genesis entry that does not start at seq 1 on an empty chain: 409 SEQ_GAP too.
    let fresh = t.create_bundle().await;
    let fw = ChainWriter::for_bundle(&fresh);
    let r = t
        .client
        .post(
            SYNC,
            &sync_body(
                fresh["bundleId"].as_str().unwrap(),
                &[fw.entry_at(2, "0000000000000000", "a")],
            ),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "AUDIT_CHAIN_CONFLICT")
    );
}

#[tokio::test]
async fn concurrent_identical_batches_are_stored_once() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let body = sync_body(id, &w.batch(200));
    for round in 0..3 {
        let (c1, c2) = (t.client.clone(), t.client.clone());
        let (b1, b2) = (body.clone(), body.clone());
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { c1.post(SYNC, &b1).await }),
            tokio::spawn(async move { c2.post(SYNC, &b2).await })
        );
        for r in [r1.unwrap(), r2.unwrap()] {
            assert_eq!(
                (r.status, r.body["accepted"].as_u64()),
                (StatusCode::OK, Some(200)),
                "round {round}"
            );
        }
    }
    assert_eq!(stored_seqs(&t, id).await, (1..=200).collect::<Vec<_>>());
    let s = t.client.get(&format!("/v1/consent-bundles/{id}")).await;
    assert_eq!(s.body["auditEntryCount"], 200);
}

#[tokio::test]
async fn revoked_bundles_still_sync_and_learn_it() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let r = t
        .client
        .post(
            &format!("/v1/consent-bundles/{id}/revoke"),
            &json!({"revokeGrant": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.client.post(SYNC, &sync_body(id, &w.batch(3))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["revocationStatus"], "revoked");
    assert!(r.body["revokedAt"].is_string());
    assert_eq!(r.body["accepted"], 3);
}
