//! Differential test of metadata canonicalisation and entry hashing against node's own
//! `JSON.stringify(JSON.parse(x))` and the TypeScript client's `computeEntryHash`.
//!
//! Generates thousands of nasty metadata objects (numbers at every edge of the double
//! format, array-index-like keys, duplicates, escapes, lone surrogates, U+2028, emoji),
//! runs ONE node process over all of them, and compares byte for byte. Skips, saying
//! so, only when `node` is not installed (CI has it). `GX_AUDIT_DIFF_CASES` raises the
//! case count (default 4000).

use std::io::Write as _;
use std::process::{Command, Stdio};

use gx_core::{AuditEntry, AuditStr, Metadata, PrevHash, Scopes, entry_hash};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0.0",
    "1",
    "-1",
    "1e21",
    "1E21",
    "1e+21",
    "1e20",
    "999999999999999999999",
    "1e-7",
    "1e-6",
    "0.000001",
    "0.0000001",
    "5e-324",
    "2e-324",
    "3e-324",
    "4.9e-324",
    "9007199254740993",
    "9007199254740992",
    "-9007199254740993",
    "12345678901234567890",
    "0.1",
    "0.2",
    "0.30000000000000004",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "1e309",
    "-1e309",
    "123456789.123456789",
    "100",
    "1.5e300",
    "4.35",
    "0.5e1",
    "-12.5E-3",
    "1E-0",
    "1e00",
    "2.2250738585072014e-308",
    "2.225073858507201e-308",
    "4294967295",
    "4294967296",
    "1.0000000000000002",
    "0.1e-1",
    "10000000000000000000000",
    "1e100",
    "123e-20",
    "0.00001",
    "1234567890123456789012345678901234567890",
];

const KEYS: &[&str] = &[
    "0",
    "1",
    "2",
    "10",
    "01",
    "00",
    "4294967294",
    "4294967295",
    "4294967296",
    "-1",
    "1.0",
    "1e3",
    " 1",
    "a",
    "b",
    "A",
    "z",
    "aa",
    "\\u0030",
    "\\u0031\\u0030",
    "é",
    "e\u{301}",
    "😀",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00",
    "x\\ud800y",
    "",
    " ",
    "\\\"",
    "\\\\",
    "\\n",
    "\u{2028}",
    "constructor",
    "toString",
    "length",
    "__proto",
    "_proto__",
    "\\u005f_prot",
    "ß",
    "\u{10ffff}",
    "\u{ffff}",
    "9",
    "99",
    "18446744073709551616",
];

const STRING_PIECES: &[&str] = &[
    "a",
    "hello",
    "\\\"",
    "\\\\",
    "\\/",
    "/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u0000",
    "\\u0001",
    "\\u001f",
    "\\u001F",
    "\\u0020",
    "\\u007f",
    "\u{7f}",
    "\u{2028}",
    "\u{2029}",
    "😀",
    "\\ud83d\\ude00",
    "\\uD83D\\uDE00",
    "\\ud83d",
    "\\ude00",
    "\\uD800",
    "\\uDBFF\\uDFFF",
    "\\udbff",
    "é",
    "\\u00e9",
    "\\u00E9",
    "<script>",
    "\u{feff}",
    "\u{fffe}",
    "\u{10ffff}",
    "\\u2028",
    "'",
    "`",
    "${x}",
    " ",
    "\\ud800\\ud800",
    "\\udc00\\ud800",
    "\\u0041",
];

const WS: &[&str] = &["", "", "", " ", "\t", "\r", "  "];

fn ws(rng: &mut Rng, out: &mut String) {
    out.push_str(rng.pick(WS));
}

fn number(rng: &mut Rng, out: &mut String) {
    if rng.below(3) > 0 {
        out.push_str(rng.pick(NUMBERS));
        return;
    }
    if rng.below(2) == 0 {
        out.push('-');
    }
    let int_len = 1 + rng.below(22);
    if int_len == 1 || rng.below(4) == 0 {
        out.push(char::from(b'0' + rng.below(10) as u8));
    } else {
        out.push(char::from(b'1' + rng.below(9) as u8));
        for _ in 1..int_len {
            out.push(char::from(b'0' + rng.below(10) as u8));
        }
    }
    if rng.below(2) == 0 {
        out.push('.');
        for _ in 0..1 + rng.below(20) {
            out.push(char::from(b'0' + rng.below(10) as u8));
        }
    }
    if rng.below(2) == 0 {
        out.push(if rng.below(2) == 0 { 'e' } else { 'E' });
        out.push_str(rng.pick(&["", "+", "-"]));
        out.push_str(&rng.below(340).to_string());
    }
}

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(6) {
        out.push_str(rng.pick(STRING_PIECES));
    }
    out.push('"');
}

fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let kinds = if depth >= 4 { 3 } else { 5 };
    match rng.below(kinds) {
        0 => number(rng, out),
        1 => string(rng, out),
        2 => out.push_str(rng.pick(&["true", "false", "null"])),
        3 => {
            out.push('[');
            let n = rng.below(5);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                value(rng, depth + 1, out);
                ws(rng, out);
            }
            out.push(']');
        }
        _ => object(rng, depth + 1, out),
    }
}

fn object(rng: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    let n = if depth == 1 {
        1 + rng.below(9)
    } else {
        rng.below(6)
    };
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        ws(rng, out);
        out.push('"');
        out.push_str(rng.pick(KEYS));
        out.push('"');
        ws(rng, out);
        out.push(':');
        ws(rng, out);
        value(rng, depth, out);
        ws(rng, out);
    }
    out.push('}');
}

/// Runs `script` in one node process with `input` on stdin; `None` if node is absent.
pub(crate) fn run_node(script: &str, input: &str) -> Option<String> {
    let mut child = match Command::new("node")
        .arg("-e")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start node: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "node failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

const NODE_SCRIPT: &str = r#"
const crypto = require('node:crypto');
const input = require('fs').readFileSync(0, 'utf8').split('\n');
const out = [];
for (const line of input) {
  if (line === '') continue;
  const kind = line[0], text = line.slice(2);
  if (kind === 'M') {
    out.push(JSON.stringify(JSON.parse(text)));
  } else {
    // The TypeScript client's computeEntryHash (@grantex/gemma dist/audit/hash-chain.js).
    const e = JSON.parse(text);
    const h = crypto.createHash('sha256');
    for (const part of [String(e.seq), '|', e.timestamp, '|', e.action, '|', e.agentDID, '|',
        e.grantId, '|', e.scopes.join(','), '|', e.result, '|',
        e.metadata !== undefined ? JSON.stringify(e.metadata) : '', '|', e.prevHash]) h.update(part);
    out.push(h.digest('hex'));
  }
}
process.stdout.write(out.join('\n') + '\n');
"#;

fn json_string(rng: &mut Rng) -> String {
    let mut s = String::new();
    string(rng, &mut s);
    if s == "\"\"" { "\"x\"".to_owned() } else { s }
}

#[test]
fn metadata_and_hashes_match_node_byte_for_byte() {
    let cases: usize = std::env::var("GX_AUDIT_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let mut rng = Rng(0x6778_2d61_7564_6974);
    let mut metas = Vec::with_capacity(cases);
    for _ in 0..cases {
        let mut m = String::new();
        ws(&mut rng, &mut m);
        object(&mut rng, 1, &mut m);
        ws(&mut rng, &mut m);
        metas.push(m);
    }
    // Entries whose string fields carry escapes too (hashed as Node hashes them).
    let mut entries = Vec::new();
    for (i, m) in metas.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let line = format!(
            r#"{{"seq":{},"timestamp":"2026-11-27T10:00:00.000Z","action":{},"agentDID":{},"grantId":"grnt_1","scopes":[{},"b"],"result":{},{}"prevHash":"0000000000000000","hash":"{}","signature":"{}"}}"#,
            i + 1,
            json_string(&mut rng),
            json_string(&mut rng),
            json_string(&mut rng),
            json_string(&mut rng),
            if i % 8 == 0 {
                format!("\"metadata\":{m},")
            } else {
                String::new()
            },
            "0".repeat(64),
            "0".repeat(128),
        );
        entries.push(line);
    }
    let mut input = String::new();
    for m in &metas {
        input.push_str("M ");
        input.push_str(m);
        input.push('\n');
    }
    for e in &entries {
        input.push_str("E ");
        input.push_str(e);
        input.push('\n');
    }
    let Some(output) = run_node(NODE_SCRIPT, &input) else {
        eprintln!("SKIPPED: `node` is not installed; the differential test needs it (CI has it)");
        return;
    };
    let expected: Vec<&str> = output.lines().collect();
    assert_eq!(expected.len(), metas.len() + entries.len());
    let mut buf = vec![0u8; 1 << 16];
    for (m, want) in metas.iter().zip(&expected) {
        let meta = Metadata::parse(m).unwrap_or_else(|e| panic!("{m}: {e}"));
        let n = meta
            .write_canonical(&mut buf)
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            *want,
            "input: {m}"
        );
    }
    for (line, want) in entries.iter().zip(&expected[metas.len()..]) {
        let e = gx_core::SignedAuditEntry::parse_line(line.as_bytes())
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            entry_hash(&e.entry).unwrap().to_string(),
            *want,
            "entry: {line}"
        );
    }
}

#[test]
fn plain_strings_hash_like_their_escaped_forms() {
    let scopes = ["read:contacts"];
    let plain = AuditEntry {
        seq: 7,
        timestamp: AuditStr::new("2026-11-27T10:00:00.000Z"),
        action: AuditStr::new("say \"hi\"\n😀"),
        agent_did: AuditStr::new("did:grantex:ag_1"),
        grant_id: AuditStr::new("grnt_1"),
        scopes: Scopes::new(&scopes),
        result: AuditStr::new("success"),
        metadata: Some(Metadata::parse(r#"{"b":1,"0":2}"#).unwrap()),
        prev_hash: PrevHash::Genesis,
    };
    let line = format!(
        r#"{{"seq":7,"timestamp":"2026-11-27T10:00:00.000Z","action":"say \"hi\"\n\ud83d\ude00","agentDID":"did:grantex:ag_1","grantId":"grnt_1","scopes":["read:contacts"],"result":"success","metadata":{{"b":1,"0":2}},"prevHash":"0000000000000000","hash":"{}","signature":"{}"}}"#,
        "0".repeat(64),
        "0".repeat(128)
    );
    let parsed = gx_core::SignedAuditEntry::parse_line(line.as_bytes()).unwrap();
    assert_eq!(parsed.entry, plain);
    assert_eq!(
        entry_hash(&parsed.entry).unwrap(),
        entry_hash(&plain).unwrap()
    );
}
