//! The checks: gx-core on fixed vectors from `fixtures/`, as a device would use it.
//!
//! Token: `fixtures/tokens/rs256_2048.jwt` (PyJWT, RS256, 2048-bit key) against the bundle
//! snapshot `fixtures/tokens/snapshot.json`, at the fixtures' `now`. Audit: three entries
//! signed with a fixed Ed25519 seed, written as JSONL into a RAM buffer and verified back.

use gx_core::{ChainAnchor, PrevHash, RustCrypto, AuditEntry, AuditSigningKey, AuditStr, ChainVerifier, JwksSnapshot, Metadata, Scopes, UnixTime, Verifier, VerifierOptions, enforce_scopes};

const SNAPSHOT: &[u8] = include_bytes!("../../fixtures/tokens/snapshot.json");
const TOKEN: &[u8] = include_bytes!("../../fixtures/tokens/rs256_2048.jwt");
/// The `now` of `fixtures/tokens` (2026-11-27T03:55:06Z).
const NOW: UnixTime = UnixTime::from_secs(1_795_751_706);
const ISSUER: &str = "https://api.grantex.dev";
/// Room for a token (the fixture is 658 bytes).
const TOKEN_CAP: usize = 768;
/// Room for a token's decoded header and claims: 3/4 of its length at most.
const DECODE_CAP: usize = TOKEN_CAP / 4 * 3;
/// The audit log's storage: a device keeps its log in a dedicated buffer (or flash),
/// not on the stack.
const LOG_CAP: usize = 2048;
/// The audit chain's length.
const CHAIN_LEN: u64 = 3;
const TIMESTAMPS: [&str; 3] = [
    "2026-11-27T03:55:07.000Z",
    "2026-11-27T03:55:08.250Z",
    "2026-11-27T03:55:09.500Z",
];

/// What the checks measured.
pub(crate) struct Measured {
    /// Counter units spent in one `Verifier::verify` of the valid token.
    pub(crate) verify_units: u64,
    /// Entries of the audit chain built and verified.
    pub(crate) chain_entries: u64,
}

/// A token in a fixed buffer, optionally with one signature character changed.
struct Token {
    bytes: [u8; TOKEN_CAP],
    len: usize,
}

impl Token {
    fn fixture() -> Result<Self, &'static str> {
        let text = TOKEN.trim_ascii();
        let mut bytes = [0u8; TOKEN_CAP];
        bytes
            .get_mut(..text.len())
            .ok_or("token fixture too large")?
            .copy_from_slice(text);
        Ok(Self {
            bytes,
            len: text.len(),
        })
    }

    /// Changes one base64url character in the middle of the signature: the signature
    /// still decodes, but no longer matches.
    fn tamper(&mut self) {
        if let Some(c) = self.len.checked_sub(40).and_then(|i| self.bytes.get_mut(i)) {
            *c = if *c == b'A' { b'B' } else { b'A' };
        }
    }

    fn as_str(&self) -> Result<&str, &'static str> {
        let b = self.bytes.get(..self.len).ok_or("token length")?;
        core::str::from_utf8(b).map_err(|_| "token not UTF-8")
    }
}

/// Runs every check; `Err` names the first that failed.
///
/// Each phase is its own `#[inline(never)]` function so that its stack frame exists only
/// while it runs, and [`crate::stack::checkpoint`] attributes stack use to it.
pub(crate) fn run_all() -> Result<Measured, &'static str> {
    crate::stack::checkpoint("baseline");
    let snapshot = parse_snapshot()?;
    crate::stack::checkpoint("jwks_parse");
    crate::console::metric_num(
        "size_jwks_snapshot",
        core::mem::size_of::<JwksSnapshot<RustCrypto>>() as u64,
    );
    let options = VerifierOptions::new()
        .with_issuer(ISSUER)
        .with_required_scopes(&["read:contacts"]);
    let verifier = Verifier::new(snapshot, options).map_err(|_| "verifier options")?;
    let verify_units = verify_and_enforce(&verifier)?;
    crate::stack::checkpoint("token_verify_and_scopes");
    reject_tampered(&verifier)?;
    crate::stack::checkpoint("tampered_token");
    let chain_entries = audit_chain("did:grantex:ag_1", "grnt_1")?;
    crate::stack::checkpoint("audit_chain");
    Ok(Measured {
        verify_units,
        chain_entries,
    })
}

/// Parses the snapshot in place into a static, as a device keeps its key set (its
/// ~3 KiB are `.bss`, never on the stack).
#[inline(never)]
fn parse_snapshot() -> Result<&'static JwksSnapshot<RustCrypto>, &'static str> {
    static mut SLOT: JwksSnapshot<RustCrypto> = JwksSnapshot::empty(RustCrypto);
    // SAFETY: `run_all` runs once, so this is the only reference to `SLOT` ever made.
    let snapshot = unsafe { (&raw mut SLOT).as_mut() }.ok_or("snapshot slot")?;
    snapshot
        .parse_in_place(SNAPSHOT)
        .map_err(|_| "parse JWKS snapshot")?;
    if snapshot.usable_keys() != 1 {
        return Err("JWKS snapshot key count");
    }
    Ok(snapshot)
}

/// Verifies the valid token (measuring the `verify` call), checks its claims, enforces
/// a granted scope set and refuses a scope it lacks; the counter units of `verify`.
#[inline(never)]
fn verify_and_enforce(verifier: &Verifier<'_, RustCrypto>) -> Result<u64, &'static str> {
    #[cfg(not(feature = "fail-on-purpose"))]
    let token = core::str::from_utf8(TOKEN.trim_ascii()).map_err(|_| "token not UTF-8")?;
    #[cfg(feature = "fail-on-purpose")]
    let mut valid = Token::fixture()?;
    #[cfg(feature = "fail-on-purpose")]
    valid.tamper();
    #[cfg(feature = "fail-on-purpose")]
    let token = valid.as_str()?;
    let mut buf = [0u8; DECODE_CAP];
    // Counted by hand around the call (not through a closure): the grant, ~1 KiB on a
    // 32-bit target, then exists once in this frame.
    let start = crate::arch::units();
    let grant = verifier.verify(token, NOW, &mut buf);
    let units = crate::arch::units().wrapping_sub(start);
    let Ok(grant) = grant else {
        return Err("verify valid token");
    };
    if grant.agent_did() != "did:grantex:ag_1" || grant.grant_id() != "grnt_1" {
        return Err("grant claims");
    }
    enforce_scopes(&grant, &["read:contacts", "write:calendar"])
        .map_err(|_| "enforce granted scopes")?;
    match enforce_scopes(&grant, &["admin:all"]) {
        Err(e) if e.code() == "SCOPE_VIOLATION" => Ok(units),
        _ => Err("enforce missing scope"),
    }
}

/// The token with one signature character changed must fail with `BAD_SIGNATURE`.
#[inline(never)]
fn reject_tampered(verifier: &Verifier<'_, RustCrypto>) -> Result<(), &'static str> {
    let mut tampered = Token::fixture()?;
    tampered.tamper();
    let mut buf = [0u8; DECODE_CAP];
    match verifier.verify(tampered.as_str()?, NOW, &mut buf) {
        Err(e) if e.code() == "BAD_SIGNATURE" => Ok(()),
        _ => Err("reject tampered token"),
    }
}

/// Builds a signed chain of [`CHAIN_LEN`] entries as JSONL in RAM, verifies it, and checks
/// that a changed byte breaks it.
#[inline(never)]
fn audit_chain(agent: &str, grant: &str) -> Result<u64, &'static str> {
    let key = AuditSigningKey::from_bytes(&[0x42; 32]);
    let public = key.verifying_key();
    let scopes = ["read:contacts"];
    static mut LOG: [u8; LOG_CAP] = [0; LOG_CAP];
    // SAFETY: `audit_chain` runs once, so this is the only reference to `LOG` ever made.
    let log = unsafe { (&raw mut LOG).as_mut() }.ok_or("log buffer")?;
    let mut len = 0;
    let mut prev = PrevHash::Genesis;
    for (seq, ts) in (1..=CHAIN_LEN).zip(TIMESTAMPS) {
        let entry = AuditEntry {
            seq,
            timestamp: AuditStr::new(ts),
            action: AuditStr::new("contacts.read"),
            agent_did: AuditStr::new(agent),
            grant_id: AuditStr::new(grant),
            scopes: Scopes::new(&scopes),
            result: AuditStr::new("success"),
            metadata: Some(
                Metadata::parse(r#"{"count":3,"source":"firmware"}"#).map_err(|_| "metadata")?,
            ),
            prev_hash: prev,
        };
        let signed = key.sign_entry(entry).map_err(|_| "sign entry")?;
        prev = PrevHash::Entry(signed.hash);
        len += signed
            .write_line(log.get_mut(len..).ok_or("log full")?)
            .map_err(|_| "write line")?;
    }
    // Built without gx-core's `float-metadata`: a fraction cannot be hashed exactly as
    // JavaScript prints it here, so it must be refused with a typed error.
    match Metadata::parse(r#"{"ratio":0.5}"#) {
        Err(e) if e.code() == "METADATA_NUMBER_UNSUPPORTED" => {}
        _ => return Err("refuse a float in metadata"),
    }
    let log = log.get_mut(..len).ok_or("log length")?;
    let entries = verify_log(log, &public).map_err(|_| "verify audit chain")?;
    if entries != CHAIN_LEN {
        return Err("audit chain length");
    }
    // Change "success" to "Success" in the second entry: its hash no longer matches.
    let second = log.iter().position(|&c| c == b'\n').ok_or("log lines")? + 1;
    let at = log
        .get(second..)
        .and_then(|rest| rest.windows(9).position(|w| w == b"\"success\""))
        .ok_or("find result")?;
    if let Some(c) = log.get_mut(second + at + 1) {
        *c = b'S';
    }
    match verify_log(log, &public) {
        Err(b) if b.index == 1 => Ok(entries),
        _ => Err("detect tampered audit entry"),
    }
}

#[inline(never)]
fn verify_log(log: &[u8], key: &gx_core::AuditVerifyingKey) -> Result<u64, gx_core::ChainBreak> {
    let mut v = ChainVerifier::new(ChainAnchor::Genesis, key);
    for line in log.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        v.push_line(line)?;
    }
    v.finish().map(|head| head.entries)
}
