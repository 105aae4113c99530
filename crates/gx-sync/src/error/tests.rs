//! Tests of error-body parsing and error codes.

use core::time::Duration;

use super::*;

#[test]
fn reads_top_level_fields() {
    let body = br#"{"message":"chain conflict","code":"AUDIT_CHAIN_CONFLICT","requestId":"req_1",
        "errors":[{"seq":5,"code":"SEQ_GAP","message":"expected 4"},{"seq":null,"code":"X","message":"y"}]}"#;
    let e = ApiError::from_response(409, None, body);
    assert_eq!(e.status(), 409);
    assert_eq!(e.code(), "AUDIT_CHAIN_CONFLICT");
    assert_eq!(e.message(), "chain conflict");
    assert_eq!(e.request_id(), Some("req_1"));
    assert_eq!(e.errors().len(), 2);
    assert_eq!(e.errors()[0].seq, Some(5));
    assert_eq!(e.errors()[0].code, "SEQ_GAP");
    assert_eq!(e.errors()[1].seq, None);
    assert!(!e.is_transient());
    let shown = e.to_string();
    assert!(shown.contains("seq 5: SEQ_GAP"), "{shown}");
    assert!(shown.contains("req_1"), "{shown}");
}

#[test]
fn falls_back_to_data() {
    let body = br#"{"data":{"message":"m","code":"NOT_FOUND","requestId":"r","errors":[{"seq":1,"code":"C","message":"x"}]}}"#;
    let e = ApiError::from_response(404, None, body);
    assert_eq!(e.code(), "NOT_FOUND");
    assert_eq!(e.message(), "m");
    assert_eq!(e.request_id(), Some("r"));
    assert_eq!(e.errors()[0].seq, Some(1));
}

#[test]
fn top_level_wins_over_data() {
    let body =
        br#"{"code":"A","message":"top","data":{"code":"B","message":"inner","requestId":"r2"}}"#;
    let e = ApiError::from_response(400, None, body);
    assert_eq!(e.code(), "A");
    assert_eq!(e.message(), "top");
    assert_eq!(e.request_id(), Some("r2"));
}

#[test]
fn non_json_body_still_gives_an_error() {
    let e = ApiError::from_response(
        502,
        Some(Duration::from_secs(3)),
        b"<html>bad gateway</html>",
    );
    assert_eq!(e.code(), "HTTP_502");
    assert!(e.message().contains("bad gateway"));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e.is_transient());
    let client = ClientError::from(e);
    assert!(client.is_transient());
    assert_eq!(client.code(), "HTTP_502");
}

#[test]
fn transient_classification() {
    assert!(ApiError::from_response(429, None, b"{}").is_transient());
    assert!(ApiError::from_response(503, None, b"{}").is_transient());
    assert!(!ApiError::from_response(400, None, b"{}").is_transient());
    assert!(ClientError::Timeout.is_transient());
    assert!(!ClientError::InsecureUrl.is_transient());
    let wrapped = ClientError::DeadlineExceeded {
        attempts: 3,
        last: Box::new(ClientError::Api(ApiError::from_response(
            429,
            None,
            br#"{"code":"RATE_LIMITED","message":"slow down"}"#,
        ))),
    };
    assert_eq!(wrapped.code(), "DEADLINE_EXCEEDED");
    assert_eq!(wrapped.api().map(ApiError::code), Some("RATE_LIMITED"));
    assert!(!wrapped.is_transient());
}
