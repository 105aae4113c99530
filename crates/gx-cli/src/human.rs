//! What a person reads without `--json`: durations ("1h 59m"), ISO-8601 dates, and short
//! summaries built from the same documents `--json` prints, so both forms always agree.
//! Pure functions of their inputs (the current time included), tested at the bottom.

use core::fmt::Write as _;

use gx_core::UnixTime;
use serde_json::Value;

/// A span of seconds the way people say it: `42s`, `5m 30s`, `1h 59m`, `2d 23h`.
pub(crate) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, ..) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `in 1h 59m` for a time after `now`, `3m ago` for one before it.
pub(crate) fn relative(now: u64, at: u64) -> String {
    if at == now {
        "just now".to_owned()
    } else if at > now {
        format!("in {}", duration(at - now))
    } else {
        format!("{} ago", duration(now - at))
    }
}

/// `2026-12-04T03:30:00Z`: ISO-8601 in UTC, milliseconds only when there are some.
pub(crate) fn iso(t: UnixTime) -> String {
    let text = t
        .to_iso_bytes()
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_else(|| format!("@{}", t.as_secs()));
    text.replace(".000Z", "Z")
}

/// The Unix seconds of an ISO-8601 member of a document.
fn secs_of(doc: &Value, key: &str) -> Option<u64> {
    doc.get(key)
        .and_then(Value::as_str)
        .and_then(|s| UnixTime::parse_iso(s).ok())
        .map(UnixTime::as_secs)
}

/// `2026-12-04T03:30:00Z (in 1h 59m)` for a time in Unix seconds.
pub(crate) fn when(now: u64, at: u64) -> String {
    format!("{} ({})", iso(UnixTime::from_secs(at)), relative(now, at))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn list(v: Option<&Value>) -> String {
    let items: Vec<&str> = v
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

/// What the device knows about a bundle's revocation, for the summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// No marker: not revoked as far as this device knows.
    NotKnown,
    /// The device recorded a revocation.
    Revoked,
}

/// The text form of `gx bundle inspect`, from its JSON document (`bundle::summary`).
pub(crate) fn bundle_summary(doc: &Value, revocation: Revocation, now: u64) -> String {
    let claims = doc.get("claims").unwrap_or(&Value::Null);
    let mut out = String::new();
    let mut row = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<10} {value}");
    };
    row("bundle", text(doc, "bundleId"));
    row("agent", text(claims, "agt"));
    row("user", text(claims, "sub"));
    if let Some(grant) = claims
        .get("grnt")
        .or_else(|| claims.get("jti"))
        .and_then(Value::as_str)
    {
        row("grant", grant);
    }
    row("scopes", &list(claims.get("scp")));
    let issued = claims
        .get("iat")
        .and_then(Value::as_u64)
        .or_else(|| secs_of(doc, "checkpointAt"));
    if let Some(iat) = issued {
        row("issued", &when(now, iat));
    }
    let expires = secs_of(doc, "offlineExpiresAt");
    match expires {
        Some(exp) if exp <= now => row(
            "expires",
            &format!(
                "{} (expired {} ago)",
                iso(UnixTime::from_secs(exp)),
                duration(now - exp)
            ),
        ),
        Some(exp) => row(
            "expires",
            &format!(
                "{} (expires in {})",
                iso(UnixTime::from_secs(exp)),
                duration(exp - now)
            ),
        ),
        None => row("expires", "?"),
    }
    let jwks = doc.get("jwks").unwrap_or(&Value::Null);
    let valid_until = secs_of(jwks, "validUntil")
        .map(|t| when(now, t))
        .unwrap_or_else(|| "?".to_owned());
    row(
        "jwks",
        &format!(
            "key ids {}; valid until {valid_until}",
            list(jwks.get("kids"))
        ),
    );
    let history = match doc.get("auditKeyHistory").and_then(Value::as_u64) {
        Some(n @ 2..) => format!(", the log's key history holds {n} keys"),
        _ => String::new(),
    };
    row(
        "audit key",
        &format!(
            "{}{history} (public key in --json; the private key is never shown)",
            text(doc, "auditAlgorithm")
        ),
    );
    row("server", text(doc, "syncEndpoint"));
    row(
        "revoked",
        match revocation {
            Revocation::Revoked => "yes: this device recorded a revocation; stop the agent",
            Revocation::NotKnown => {
                "no, as far as this device knows (`gx bundle status` asks the server)"
            }
        },
    );
    let refresh = if doc.get("expired").and_then(Value::as_bool) == Some(true) {
        "too late: the bundle expired; create a new one".to_owned()
    } else if doc.get("shouldRefresh").and_then(Value::as_bool) == Some(true) {
        "due now: run `gx bundle refresh` while online".to_owned()
    } else {
        match (secs_of(doc, "checkpointAt"), expires) {
            (Some(from), Some(to)) if to > from => {
                // Due once less than a fifth of the window is left (`should_refresh`).
                let due = to - (to - from) / 5;
                format!("not due yet (due {})", when(now, due))
            }
            _ => "not due yet".to_owned(),
        }
    };
    row("refresh", &refresh);
    out.trim_end().to_owned()
}

/// The one line of `gx bundle status`, from its JSON document:
/// `usable, expires in 1h 59m, not revoked, 12 entries not synced`.
pub(crate) fn status_line(doc: &Value, now: u64) -> String {
    let usable = doc.get("usable").and_then(Value::as_bool) == Some(true);
    let revoked = doc.get("revoked").and_then(Value::as_bool) == Some(true);
    let mut parts = vec![if usable { "usable" } else { "not usable" }.to_owned()];
    match secs_of(doc, "offlineExpiresAt") {
        Some(exp) if exp <= now => parts.push(format!("expired {} ago", duration(now - exp))),
        Some(exp) => parts.push(format!("expires in {}", duration(exp - now))),
        None => {}
    }
    let asked = doc.get("server").is_some_and(|s| !s.is_null());
    parts.push(match (revoked, asked) {
        (true, _) => "revoked".to_owned(),
        (false, true) => "not revoked".to_owned(),
        (false, false) => "not revoked as far as this device knows".to_owned(),
    });
    if let Some(n) = doc.get("unsyncedEntries").and_then(Value::as_u64) {
        parts.push(match n {
            0 => "every entry synced".to_owned(),
            1 => "1 entry not synced".to_owned(),
            n => format!("{n} entries not synced"),
        });
    }
    if doc.get("refreshPending").and_then(Value::as_bool) == Some(true) {
        parts.push("a refresh is pending (appends refused until it completes)".to_owned());
    }
    if usable && doc.get("shouldRefresh").and_then(Value::as_bool) == Some(true) {
        parts.push("refresh due".to_owned());
    }
    parts.join(", ")
}

/// The line of `gx token verify` for a valid token, from its `"grant"` JSON object:
/// `valid: grant grnt_1 for user_1 (agent did:..), scopes a, b; expires .. (in 3d 0h)`.
pub(crate) fn token_line(grant: &Value, now: u64) -> String {
    let expires = grant
        .get("expiresAt")
        .and_then(Value::as_u64)
        .map(|exp| when(now, exp))
        .unwrap_or_else(|| "?".to_owned());
    format!(
        "valid: grant {} for {} (agent {}), scopes {}; expires {expires}",
        text(grant, "grantId"),
        text(grant, "sub"),
        text(grant, "agentDID"),
        list(grant.get("scopes")),
    )
}

/// The line of `gx sync`: `synced 12 entries in 1 batch (0 retries); cursor 12; grant valid`.
pub(crate) fn sync_line(
    accepted: u64,
    batches: u64,
    retries: u64,
    cursor: u64,
    status: &str,
) -> String {
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "synced {} in {} ({}); cursor {cursor}; grant {status}",
        plural(accepted, "entry", "entries"),
        plural(batches, "batch", "batches"),
        plural(retries, "retry", "retries"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(300), "5m");
        assert_eq!(duration(330), "5m 30s");
        assert_eq!(duration(7140), "1h 59m");
        assert_eq!(duration(3600), "1h 0m");
        assert_eq!(duration(86_400 * 2 + 3600 * 23 + 59), "2d 23h");
        assert_eq!(relative(100, 160), "in 1m");
        assert_eq!(relative(160, 100), "1m ago");
        assert_eq!(relative(100, 100), "just now");
    }

    #[test]
    fn iso_dates_drop_zero_milliseconds() {
        assert_eq!(iso(UnixTime::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso(UnixTime::from_millis(1_796_436_073_250)),
            "2026-12-05T02:01:13.250Z"
        );
    }

    fn doc() -> Value {
        json!({
            "bundleId": "bundle_01",
            "syncEndpoint": "https://127.0.0.1:8443/v1/audit/offline-sync",
            "checkpointAt": "2026-12-04T00:00:00.000Z",
            "offlineExpiresAt": "2026-12-04T10:00:00.000Z",
            "expired": false,
            "shouldRefresh": false,
            "jwks": {"kids": ["k1", "k2"], "fetchedAt": "2026-12-04T00:00:00.000Z", "validUntil": "2026-12-04T10:00:00.000Z"},
            "auditPublicKey": "-----BEGIN PUBLIC KEY-----",
            "auditAlgorithm": "Ed25519",
            "claims": {"sub": "user_1", "agt": "did:grantex:ag_1", "grnt": "grnt_1", "scp": ["read:contacts", "send:email"], "iat": 1_796_342_400_u64, "exp": 1_796_378_400_u64},
        })
    }

    #[test]
    fn the_bundle_summary_names_every_part() {
        // Two hours after issue: 8 h left of a 10 h window.
        let now = 1_796_342_400 + 7200;
        let text = bundle_summary(&doc(), Revocation::NotKnown, now);
        for want in [
            "bundle     bundle_01",
            "agent      did:grantex:ag_1",
            "user       user_1",
            "grant      grnt_1",
            "scopes     read:contacts, send:email",
            "issued     2026-12-04T00:00:00Z (2h 0m ago)",
            "expires    2026-12-04T10:00:00Z (expires in 8h 0m)",
            "key ids k1, k2; valid until 2026-12-04T10:00:00Z (in 8h 0m)",
            "revoked    no, as far as this device knows",
            "refresh    not due yet (due 2026-12-04T08:00:00Z (in 6h 0m))",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("PUBLIC KEY"));
        let revoked = bundle_summary(&doc(), Revocation::Revoked, now);
        assert!(revoked.contains("revoked    yes"), "{revoked}");
        let mut refreshed = doc();
        refreshed["auditKeyHistory"] = json!(3);
        assert!(
            bundle_summary(&refreshed, Revocation::NotKnown, now)
                .contains("Ed25519, the log's key history holds 3 keys")
        );
        let mut due = doc();
        due["shouldRefresh"] = json!(true);
        assert!(bundle_summary(&due, Revocation::NotKnown, now).contains("refresh    due now"));
        let late = bundle_summary(&doc(), Revocation::NotKnown, 1_796_378_400 + 60);
        assert!(late.contains("(expired 1m ago)"), "{late}");
    }

    #[test]
    fn the_status_line_is_one_line() {
        let now = 1_796_378_400 - 7140;
        let mut status = json!({
            "bundleId": "bundle_01", "usable": true, "revoked": false, "expired": false,
            "shouldRefresh": false, "offlineExpiresAt": "2026-12-04T10:00:00.000Z",
            "server": {"status": "active"}, "unsyncedEntries": 12,
        });
        assert_eq!(
            status_line(&status, now),
            "usable, expires in 1h 59m, not revoked, 12 entries not synced"
        );
        status["server"] = Value::Null;
        status["unsyncedEntries"] = json!(1);
        status["shouldRefresh"] = json!(true);
        assert_eq!(
            status_line(&status, now),
            "usable, expires in 1h 59m, not revoked as far as this device knows, 1 entry not synced, refresh due"
        );
        status["refreshPending"] = json!(true);
        status["usable"] = json!(false);
        assert!(status_line(&status, now).contains(", a refresh is pending"));
        status["refreshPending"] = json!(false);
        status["revoked"] = json!(true);
        assert!(status_line(&status, now).starts_with("not usable, expires in 1h 59m, revoked"));
    }

    #[test]
    fn the_token_line_names_the_grant() {
        let grant = json!({"grantId": "grnt_1", "sub": "user_1", "agentDID": "did:grantex:a",
            "scopes": ["read:contacts"], "expiresAt": 1_000_u64 + 7140});
        assert_eq!(
            token_line(&grant, 1000),
            "valid: grant grnt_1 for user_1 (agent did:grantex:a), scopes read:contacts; expires 1970-01-01T02:15:40Z (in 1h 59m)"
        );
    }

    #[test]
    fn the_sync_line_counts_in_words() {
        assert_eq!(
            sync_line(1, 1, 0, 7, "valid"),
            "synced 1 entry in 1 batch (0 retries); cursor 7; grant valid"
        );
        assert_eq!(
            sync_line(2000, 2, 1, 2000, "revoked"),
            "synced 2000 entries in 2 batches (1 retry); cursor 2000; grant revoked"
        );
    }
}
