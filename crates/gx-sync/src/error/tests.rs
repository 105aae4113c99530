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

#[test]
fn connect_causes_are_read_from_the_chain() {
    use std::io;
    let connect = |e: BoxError| ClientError::Connect(e);
    let refused = connect(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
    assert_eq!(refused.connect_cause(), Some(ConnectCause::Refused));
    assert!(
        refused.to_string().contains("connection refused"),
        "{refused}"
    );
    // Wrapped in an io::Error, as hyper's connector does, and behind the retry budget.
    let dns = ClientError::RetriesExhausted {
        attempts: 3,
        last: Box::new(connect(Box::new(io::Error::other(DnsFailed(
            io::Error::other("failed to lookup address information"),
        ))))),
    };
    assert_eq!(dns.connect_cause(), Some(ConnectCause::Dns));
    assert_eq!(dns.attempts(), 3);
    let timed_out = connect(Box::new(ConnectTimedOut));
    assert_eq!(timed_out.connect_cause(), Some(ConnectCause::TimedOut));
    assert!(!ConnectCause::TimedOut.is_unreachable());
    let hyper_timeout = connect(Box::new(io::Error::new(
        io::ErrorKind::TimedOut,
        "connect timeout",
    )));
    assert_eq!(hyper_timeout.connect_cause(), Some(ConnectCause::TimedOut));
    let no_route = connect(Box::new(io::Error::from(io::ErrorKind::HostUnreachable)));
    assert_eq!(no_route.connect_cause(), Some(ConnectCause::NoRoute));
    let other = connect("proxy said 403".into());
    assert_eq!(other.connect_cause(), Some(ConnectCause::Other));
    assert!(other.to_string().contains("proxy said 403"), "{other}");
    assert_eq!(ClientError::Timeout.connect_cause(), None);
    let codes = [
        ConnectCause::Refused,
        ConnectCause::TimedOut,
        ConnectCause::Dns,
        ConnectCause::NoRoute,
        ConnectCause::Other,
    ]
    .map(ConnectCause::code);
    assert_eq!(
        codes,
        [
            "CONNECTION_REFUSED",
            "CONNECT_TIMEOUT",
            "DNS_FAILED",
            "NO_ROUTE",
            "CONNECT_FAILED"
        ]
    );
}

#[test]
fn tls_causes_name_the_failed_check() {
    use rustls::CertificateError as C;
    let cause = |e: rustls::Error| {
        ClientError::TlsHandshake(Box::new(std::io::Error::other(e)))
            .tls_cause()
            .unwrap()
    };
    assert_eq!(
        cause(rustls::Error::InvalidCertificate(C::UnknownIssuer)),
        TlsCause::UnknownIssuer
    );
    assert_eq!(
        cause(rustls::Error::InvalidCertificate(C::Expired)),
        TlsCause::Expired
    );
    assert_eq!(
        cause(rustls::Error::InvalidCertificate(C::NotValidYet)),
        TlsCause::NotYetValid
    );
    assert_eq!(
        cause(rustls::Error::InvalidCertificate(C::Revoked)),
        TlsCause::Revoked
    );
    assert_eq!(
        cause(rustls::Error::InvalidCertificate(C::BadSignature)),
        TlsCause::BadCertificate
    );
    let name = cause(rustls::Error::InvalidCertificate(
        C::NotValidForNameContext {
            expected: rustls_pki_types::ServerName::try_from("api.example").unwrap(),
            presented: vec!["DnsName(\"localhost\")".to_owned()],
        },
    ));
    assert_eq!(name.code(), "TLS_NAME_MISMATCH");
    assert!(name.to_string().contains("asked for api.example"), "{name}");
    assert_eq!(cause(rustls::Error::DecryptError), TlsCause::Protocol);
    // No rustls error underneath: still a handshake failure, of unknown kind.
    let bare = ClientError::TlsHandshake("closed".into());
    assert_eq!(bare.tls_cause(), Some(TlsCause::Protocol));
    assert_eq!(ClientError::Timeout.tls_cause(), None);
}
