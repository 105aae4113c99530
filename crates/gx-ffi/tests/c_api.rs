//! The C API from C: builds `tests/c/gx_test.c` with `cc -std=c99 -Wall -Wextra -Werror`
//! against `include/gx.h` and the host static library, and runs it over the vectors of
//! gx-core's tests: the peer token, the token catalogue (every attack code), and audit
//! chains written by the TypeScript client. The chain the C program writes is then
//! verified by gx-core and, where node is installed, by the TypeScript client's hash and
//! node's Ed25519.
//!
//! `cargo test` does not build the crate's `staticlib` with the `arena` feature, so the
//! test runs `cargo build -p gx-ffi --features arena` into its own target directory
//! first (only gx-ffi is rebuilt). Skips, saying so, when no C compiler is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use gx_core::{AuditSigningKey, ChainAnchor, ChainVerifier};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(path)).unwrap()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| hex(s.as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn opt_hex(v: &Value) -> String {
    v.as_str().map_or_else(|| "-".to_owned(), hex)
}

/// The C compiler: `$CC`, else `cc`, if it runs.
fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    Command::new(&cc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| cc)
}

/// Builds `libgx_ffi.a` with the arena, in the target directory this test runs from.
fn static_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/c_api-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let target_dir = profile_dir.parent().unwrap().to_owned();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .args(["build", "-p", "gx-ffi", "--features", "arena"])
        .args(["--message-format", "json-render-diagnostics"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .stderr(std::process::Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "cargo build -p gx-ffi --features arena failed"
    );
    // The archive this build made (the copy at <profile>/libgx_ffi.a may be another
    // feature set's, from the `cargo test` build itself).
    let lib = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "gx_ffi")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "a"))
        .expect("cargo reported no libgx_ffi.a");
    assert!(lib.is_file(), "{} missing", lib.display());
    lib
}

/// The vector file of `tests/c/gx_test.c` and the result lines it must print.
fn vectors() -> (String, Vec<String>) {
    let mut input = String::new();
    let mut expected = Vec::new();
    for (name, file) in [
        ("jwks", "tokens/jwks.json"),
        ("jwks_single", "tokens/jwks_single.json"),
        ("jwks_unusable", "tokens/jwks_unusable.json"),
        ("snapshot", "tokens/snapshot.json"),
        ("peer_snapshot", "peer/jwks_snapshot.json"),
    ] {
        input.push_str(&format!("K\t{name}\t{}\n", hex(&fixture(file))));
    }
    let doc: Value = serde_json::from_str(&fixture("tokens/catalogue.json")).unwrap();
    let mut cases: Vec<Value> = doc["cases"].as_array().unwrap().clone();
    // The peer token as the published clients' issuer wrote it, with its claims.
    let claims: Value = serde_json::from_str(&fixture("peer/claims.json")).unwrap();
    cases.push(serde_json::json!({
        "name": "peer_token", "jwks": "peer_snapshot", "now": 1_795_751_706u64,
        "token": fixture("peer/token.jwt").trim(),
        "options": {"issuer": claims["iss"], "required_scopes": ["read:contacts", "write:calendar"]},
        "expect": "OK",
        "grant": {
            "agent_did": claims["agt"], "principal": claims["sub"], "jti": claims["jti"],
            "grant_id": claims["grnt"], "depth": 0, "issuer": claims["iss"],
            "developer_id": claims["dev"], "expires_at": claims["exp"], "scopes": claims["scp"],
            "audience": [], "missing_scopes": []
        }
    }));
    let mut codes = std::collections::BTreeSet::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let o = &c["options"];
        let required = hex_list(&o["required_scopes"]);
        input.push_str(&format!(
            "C\t{name}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            c["jwks"].as_str().unwrap(),
            c["now"].as_u64().unwrap() * 1000,
            hex(c["token"].as_str().unwrap()),
            opt_hex(&o["issuer"]),
            opt_hex(&o["audience"]),
            o["max_depth"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |d| d.to_string()),
            u8::from(o["report_missing"].as_bool() == Some(true)),
            if required.is_empty() {
                "-".to_owned()
            } else {
                required
            },
        ));
        let expect = c["expect"].as_str().unwrap();
        codes.insert(expect.to_owned());
        let mut line = format!("R\t{name}\t{expect}");
        if expect == "OK" {
            let g = &c["grant"];
            line.push_str(&format!(
                "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                hex(g["agent_did"].as_str().unwrap()),
                hex(g["principal"].as_str().unwrap()),
                hex(g["jti"].as_str().unwrap()),
                hex(g["grant_id"].as_str().unwrap()),
                g["depth"].as_u64().unwrap(),
                opt_hex(&g["issuer"]),
                opt_hex(&g["developer_id"]),
                g["expires_at"].as_u64().unwrap(),
                hex_list(&g["scopes"]),
                hex_list(&g["audience"]),
                hex_list(&g["missing_scopes"]),
            ));
        }
        expected.push(line);
    }
    // The attack catalogue's codes all reach C.
    for code in [
        "MALFORMED_TOKEN",
        "BLOCKED_ALGORITHM",
        "UNSUPPORTED_ALGORITHM",
        "MISSING_KID",
        "KID_NOT_FOUND",
        "NO_USABLE_KEYS",
        "BAD_SIGNATURE",
        "TOKEN_EXPIRED",
        "TOKEN_NOT_YET_VALID",
        "FUTURE_IAT",
        "MISSING_CLAIM",
        "INVALID_CLAIM",
        "SCOPE_VIOLATION",
        "DELEGATION_DEPTH_EXCEEDED",
        "JWKS_SNAPSHOT_EXPIRED",
        "ISSUER_MISMATCH",
        "AUDIENCE_MISMATCH",
        "TOKEN_TOO_LARGE",
    ] {
        assert!(codes.contains(code), "no case for {code}");
    }
    // Chains written by the TypeScript client.
    for (name, pem, jsonl, n) in [
        (
            "ts_vectors",
            "audit/test_key_spki.pem",
            "audit/signed_chain.jsonl",
            24,
        ),
        (
            "ts_head_chain100",
            "peer/audit_ed25519_public.pem",
            "peer/ts-head_chain100.jsonl",
            100,
        ),
    ] {
        input.push_str(&format!(
            "A\t{name}\t{}\t{}\t{n}\n",
            hex(&fixture(pem)),
            hex(&fixture(jsonl))
        ));
    }
    (input, expected)
}

/// Verifies the chain the C program wrote as the TypeScript client and the service
/// would: its `computeEntryHash`, node's Ed25519, seq and links, and the line being
/// exactly `JSON.stringify` of the parsed entry.
fn node_accepts(chain: &Path) -> Option<String> {
    let script = r#"
const { createHash, verify } = require('node:crypto');
const fs = require('node:fs');
// With -e, argv is [node, ...args].
const [chainPath, pemPath] = process.argv.slice(1);
const pem = fs.readFileSync(pemPath, 'utf8');
function computeEntryHash(entry) {
  const h = createHash('sha256');
  h.update(String(entry.seq)); h.update('|');
  h.update(entry.timestamp); h.update('|');
  h.update(entry.action); h.update('|');
  h.update(entry.agentDID); h.update('|');
  h.update(entry.grantId); h.update('|');
  h.update(entry.scopes.join(',')); h.update('|');
  h.update(entry.result); h.update('|');
  h.update(entry.metadata !== undefined ? JSON.stringify(entry.metadata) : ''); h.update('|');
  h.update(entry.prevHash);
  return h.digest('hex');
}
let prev = '0000000000000000', seq = 0, n = 0;
for (const line of fs.readFileSync(chainPath, 'utf8').split('\n').filter(Boolean)) {
  const e = JSON.parse(line);
  if (JSON.stringify(e) !== line) throw new Error('line is not JSON.stringify of itself: ' + line);
  if (e.seq !== seq + 1 || e.prevHash !== prev) throw new Error('link broken at ' + e.seq);
  const { hash, signature, ...fields } = e;
  if (computeEntryHash(fields) !== hash) throw new Error('hash mismatch at ' + e.seq);
  if (!verify(null, Buffer.from(hash, 'utf-8'), pem, Buffer.from(signature, 'hex')))
    throw new Error('bad signature at ' + e.seq);
  prev = hash; seq = e.seq; n++;
}
console.log('NODE-ACCEPTS ' + n);
"#;
    let out = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(chain)
        .arg(root().join("fixtures/audit/test_key_spki.pem"))
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "node refused the C chain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn the_c_program_passes_the_core_vectors() {
    let Some(cc) = c_compiler() else {
        eprintln!("skipped: no C compiler (set CC or install cc) to build tests/c/gx_test.c");
        return;
    };
    let lib = static_library();
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("gx_test");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&cc)
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
        ])
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("tests/c/gx_test.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (input, expected) = vectors();
    let vectors = dir.path().join("vectors.txt");
    std::fs::write(&vectors, input).unwrap();
    let chain = dir.path().join("chain.jsonl");
    let run = Command::new(&exe)
        .arg(&vectors)
        .arg(&chain)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        failures.is_empty(),
        "C checks failed:\n{}",
        failures.join("\n")
    );
    assert!(
        run.status.success() && stdout.lines().last() == Some("GX-C-TEST PASS"),
        "C program did not pass (status {:?}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let results: Vec<&str> = stdout.lines().filter(|l| l.starts_with("R\t")).collect();
    assert_eq!(results.len(), expected.len(), "one result per case");
    for (got, want) in results.iter().zip(&expected) {
        assert_eq!(*got, want, "C result differs from the catalogue");
    }
    if let Some(peak) = stdout.lines().find(|l| l.contains("heap_peak_bytes")) {
        eprintln!("{peak}");
    }

    // The chain written through the C API verifies in gx-core ...
    let text = std::fs::read_to_string(&chain).unwrap();
    let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
    let key = AuditSigningKey::from_bytes(&seed).verifying_key();
    let mut v = ChainVerifier::new(ChainAnchor::Genesis, &key);
    for line in text.lines() {
        v.push_line(line.as_bytes()).unwrap();
    }
    assert_eq!(v.finish().unwrap().entries, 5);
    // ... and as the TypeScript client and the service compute it.
    match node_accepts(&chain) {
        Some(msg) => assert_eq!(msg, "NODE-ACCEPTS 5"),
        None => eprintln!("node not installed: the C chain was checked by gx-core only"),
    }
}
