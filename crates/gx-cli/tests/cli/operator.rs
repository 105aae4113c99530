//! The device lifecycle as an operator drives it through `gx`: the exit codes and messages
//! an operator meets on the way, each one found by trying it against a real gx-server.

use super::cloud::{Cloud, log_lines};
use super::util::{json_of, run};

/// `gx bundle refresh` of a revoked bundle is the same clean "no" as every other command
/// meeting `BUNDLE_REVOKED` (exit 1, `invalid[...]`, stop the agent); it used to be an
/// error (exit 2) whose hint said to run `gx bundle status`.
#[test]
fn refresh_of_a_revoked_bundle_is_a_clean_no() {
    let c = Cloud::start();
    c.create_bundle("b.gx", "1h");
    assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 0);
    let mut args = vec!["bundle", "revoke", "b.gx"];
    args.extend(c.remote());
    run(c.cmd(&args), 0);
    let mut args = vec!["bundle", "refresh", "b.gx", "--log", "audit.jsonl"];
    args.extend(c.remote());
    let (_, err) = run(c.cmd(&args), 1);
    assert!(err.contains("invalid[BUNDLE_REVOKED]"), "{err}");
    assert!(err.contains("stop the agent"), "{err}");
    args.push("--json");
    let v = json_of(c.cmd(&args), 1);
    assert_eq!(v["error"]["code"], "BUNDLE_REVOKED", "{v}");
    // Nothing was appended or lost on the way, and appends stay refused.
    assert_eq!(c.append("b.gx", "audit.jsonl", None).0, 1);
    assert_eq!(log_lines(&c.path("audit.jsonl")).len(), 1);
}
