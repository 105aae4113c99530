//! What a failed call to the server means for the person at the terminal: the cause gx-sync
//! classified (unreachable, TLS, the server's refusal by status and code, a broken answer)
//! turned into a code, a message that names the URL, and the next step for that cause.

use gx_sync::{ClientError, ConnectCause, RefreshError, SyncError, SyncErrorKind, TlsCause};

use super::fail;

/// What the command asked the server for: it decides what a 404 or a 422 points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call<'a> {
    /// `POST /v1/consent-bundles` for this agent.
    CreateBundle {
        /// The `--agent` id.
        agent: &'a str,
    },
    /// A call about an existing bundle (refresh, status, revoke, sync).
    Bundle {
        /// The bundle's id.
        id: &'a str,
    },
    /// No call yet: the client could not be set up (URL, CA certificate, API key).
    Setup,
}

/// The error of a failed server call `what` (e.g. "creating the bundle") against `base`.
pub(crate) fn client_error(
    e: &ClientError,
    base: &str,
    what: &str,
    call: Call<'_>,
) -> anyhow::Error {
    let (code, message, hint) = describe(e, base, what, call);
    fail(code, message, hint)
}

/// The error of a sync run that stopped; `cause` is how the run stopped.
pub(crate) fn sync_error(e: &SyncError, base: &str, bundle_id: &str) -> anyhow::Error {
    let confirmed = e.report().accepted;
    let note = format!("{confirmed} entries confirmed before it stopped");
    if let SyncErrorKind::Client(client) = e.kind() {
        let (code, message, hint) =
            describe(client, base, "syncing", Call::Bundle { id: bundle_id });
        return fail(code, format!("{message} ({note})"), hint);
    }
    let hint = match e.kind() {
        SyncErrorKind::Rejected(_) => {
            "the server refused these entries; `gx audit verify` the log, and see docs/audit-log.md"
        }
        SyncErrorKind::Fork { .. } | SyncErrorKind::UnexplainedConflict(_) => {
            "the server holds other entries for these seqs; keep the log as evidence and see docs/audit-log.md"
        }
        SyncErrorKind::ServerBehind { .. } => {
            "the server lost entries it had confirmed (restored database, or another server?); check --server"
        }
        SyncErrorKind::Log(_) => {
            "check the log's path and permissions; another process may hold the log"
        }
        _ => "run `gx sync` again; it resumes from the cursor",
    };
    fail(
        e.code().to_owned(),
        format!("sync stopped: {e} ({note})"),
        hint,
    )
}

/// The error of a refresh that failed; `pending` says whether the device now waits for a
/// refresh to complete before it appends again.
pub(crate) fn refresh_error(
    e: &RefreshError,
    base: &str,
    bundle_id: &str,
    pending: bool,
) -> anyhow::Error {
    let next = if pending {
        "appends are refused until a refresh completes: run `gx bundle refresh` again"
    } else {
        "run `gx bundle status` to see whether the bundle is still usable"
    };
    match e {
        RefreshError::Sync(sync) => sync_error(sync, base, bundle_id),
        RefreshError::Request(client) => client_error(
            client,
            base,
            "refreshing the bundle",
            Call::Bundle { id: bundle_id },
        ),
        RefreshError::Revoked(_) => fail(
            "BUNDLE_REVOKED",
            format!("{bundle_id} was revoked; it was not refreshed"),
            "stop the agent; a new bundle needs a new consent",
        ),
        other => fail(
            other.code().to_owned(),
            format!("refresh failed: {other}"),
            next,
        ),
    }
}

/// `(code, message, next step)` for a failed call.
fn describe(e: &ClientError, base: &str, what: &str, call: Call<'_>) -> (String, String, String) {
    let attempts = match e.attempts() {
        1 => String::new(),
        n => format!("; gave up after {n} attempts"),
    };
    if let Some(cause) = e.connect_cause() {
        return (
            cause.code().to_owned(),
            format!("cannot reach {base}: {cause}{attempts}"),
            unreachable_hint(cause).to_owned(),
        );
    }
    if let Some(cause) = e.tls_cause() {
        return (
            cause.code().to_owned(),
            format!("TLS with {base} failed: {cause}"),
            tls_hint(&cause).to_owned(),
        );
    }
    if let Some(api) = e.api() {
        let said = format!(
            "HTTP {} {}: {}{}",
            api.status(),
            api.code(),
            api.message(),
            api.request_id()
                .map(|id| format!(" (request {id})"))
                .unwrap_or_default()
        );
        let (message, hint) = refusal(api.status(), api.code(), call);
        return (
            api.code().to_owned(),
            format!("{base} refused {what}: {message} ({said}){attempts}"),
            hint,
        );
    }
    let (code, message, hint) = match e.last() {
        ClientError::Timeout => (
            "TIMEOUT",
            format!("{base} did not answer in time{attempts}"),
            "try again; if it keeps happening the server is overloaded or a proxy holds the request",
        ),
        ClientError::Network(_) => (
            "NETWORK",
            format!(
                "the connection to {base} broke while {what}: {}{attempts}",
                e.last()
            ),
            "try again when the network is stable; the command is safe to repeat",
        ),
        ClientError::InvalidResponse { .. } => (
            "INVALID_RESPONSE",
            format!(
                "{base} answered, but not as a Grantex server does: {}",
                e.last()
            ),
            "check --server points at a Grantex API (for gx-server, the URL `gx server run` printed)",
        ),
        ClientError::InvalidUrl { .. } => (
            "INVALID_URL",
            format!("{e}"),
            "pass --server as https://host[:port]",
        ),
        ClientError::InsecureUrl => (
            "INSECURE_URL",
            format!("{base}: {e}"),
            "use https:// (plain http:// is allowed only to 127.0.0.1, ::1 and localhost)",
        ),
        ClientError::InvalidCaCertificate { .. } => (
            "INVALID_CA_CERT",
            format!("{e}"),
            "pass --ca-cert a PEM certificate (for `gx server run --self-signed ca.pem`, that ca.pem)",
        ),
        ClientError::InvalidApiKey => ("INVALID_API_KEY", format!("{e}"), "check GX_API_KEY"),
        other => (
            other.code(),
            format!("{what} against {base} failed: {e}"),
            "check --server and --ca-cert, then try again",
        ),
    };
    (code.to_owned(), message, hint.to_owned())
}

fn unreachable_hint(cause: ConnectCause) -> &'static str {
    match cause {
        ConnectCause::Refused => {
            "check that the server is running and the URL's port is right (`gx server run` prints its URL), or pass --server"
        }
        ConnectCause::TimedOut => {
            "check that the host is up and that no firewall drops the port; try again when online"
        }
        ConnectCause::Dns => {
            "check the host name in --server (or the bundle's syncEndpoint) and this device's DNS"
        }
        ConnectCause::NoRoute => "check this device's network connection",
        _ => "check --server and any HTTPS_PROXY setting",
    }
}

fn tls_hint(cause: &TlsCause) -> &'static str {
    match cause {
        TlsCause::UnknownIssuer => {
            "pass the server's CA with --ca-cert PEM (for `gx server run --self-signed ca.pem`, that ca.pem)"
        }
        TlsCause::Expired | TlsCause::NotYetValid => {
            "renew the server's certificate, or fix this device's clock if it is wrong"
        }
        TlsCause::NameMismatch { .. } => {
            "use the host name the certificate was issued for in --server"
        }
        TlsCause::Protocol => "check the URL's scheme and port: is this an HTTPS server?",
        _ => "the server's certificate must be replaced; ask its operator",
    }
}

/// What the server's refusal means and what to do, by status and code.
fn refusal(status: u16, code: &str, call: Call<'_>) -> (String, String) {
    let (message, hint): (String, String) = match (status, code, call) {
        (401, ..) => (
            "the API key was not accepted".into(),
            "check GX_API_KEY: it must be the key `gx server init` printed for this server".into(),
        ),
        (403, ..) => (
            "the API key may not do this".into(),
            "use the API key of the developer who owns the agent".into(),
        ),
        (404, _, Call::CreateBundle { agent }) => (
            format!("no agent {agent} there"),
            "check --agent: it must be an agent registered on this server (`gx server init` prints its id)".into(),
        ),
        (404, _, Call::Bundle { id }) => (
            format!("no bundle {id} there"),
            "check that the bundle was issued by this server (--server) and that the file is the right one".into(),
        ),
        (_, "INVALID_SCOPES", _) => (
            "a scope is not registered for the agent".into(),
            "ask only for scopes the agent is registered for (--scope), or register them on the server".into(),
        ),
        (_, "INVALID_TTL", _) => (
            "the offline TTL is not accepted".into(),
            "pass --ttl as a duration of at most 168h, e.g. 30m, 72h or 7d".into(),
        ),
        (_, "BUNDLE_REVOKED" | "GRANT_INACTIVE", _) => (
            "the bundle or its grant was revoked".into(),
            "stop the agent; a new bundle needs a new consent".into(),
        ),
        (_, "BUNDLE_EXPIRED", _) => (
            "the bundle expired".into(),
            "create a new bundle with `gx bundle create`".into(),
        ),
        (422, ..) => (
            "the request was not acceptable".into(),
            "check --scope and --ttl against what the agent is registered for".into(),
        ),
        (429, ..) => (
            "too many requests".into(),
            "wait a minute and try again".into(),
        ),
        (500..=599, ..) => (
            "the server failed".into(),
            "try again later; if it persists, give the server's operator the request id".into(),
        ),
        _ => (
            "the request".into(),
            "check the command's flags against `--help`".into(),
        ),
    };
    (message, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_point_at_what_to_fix() {
        let agent = Call::CreateBundle { agent: "ag_1" };
        let bundle = Call::Bundle { id: "bundle_1" };
        assert!(refusal(401, "UNAUTHORIZED", agent).1.contains("GX_API_KEY"));
        assert!(refusal(404, "NOT_FOUND", agent).1.contains("--agent"));
        assert!(refusal(404, "NOT_FOUND", bundle).0.contains("bundle_1"));
        assert!(refusal(422, "INVALID_SCOPES", agent).1.contains("--scope"));
        assert!(refusal(422, "INVALID_TTL", agent).1.contains("--ttl"));
        assert!(refusal(400, "INVALID_TTL", agent).1.contains("168h"));
        assert!(refusal(503, "UNAVAILABLE", bundle).1.contains("request id"));
    }
}
