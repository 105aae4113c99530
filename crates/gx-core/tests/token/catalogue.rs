//! The attack catalogue and the valid cases of `fixtures/tokens/catalogue.json`, made
//! by PyJWT (`fixtures/gen/make_tokens.py`): each case's expected code, or its claims.

use gx_core::{
    CryptoProvider, DECODE_BUF_LEN, MissingScopePolicy, UnixTime, Verifier, VerifierOptions,
};
use serde_json::Value;

use super::util::{self, for_each_provider};

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn run_catalogue<P: CryptoProvider + Default>(provider: &str) {
    let doc: Value = serde_json::from_str(util::CATALOGUE).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 100, "catalogue shrank to {}", cases.len());
    let mut codes_seen = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let snap = util::snapshot::<P>(case["jwks"].as_str().unwrap());
        let o = &case["options"];
        let required = strs(&o["required_scopes"]);
        let mut opts = VerifierOptions::new().with_required_scopes(&required);
        if let Some(i) = o["issuer"].as_str() {
            opts = opts.with_issuer(i);
        }
        if let Some(a) = o["audience"].as_str() {
            opts = opts.with_audience(a);
        }
        if let Some(d) = o["max_depth"].as_u64() {
            opts = opts.with_max_delegation_depth(u32::try_from(d).unwrap());
        }
        if o["report_missing"].as_bool() == Some(true) {
            opts = opts.with_missing_scope_policy(MissingScopePolicy::Report);
        }
        let verifier = Verifier::new(&snap, opts).unwrap();
        let now = UnixTime::from_secs(case["now"].as_u64().unwrap());
        let mut buf = vec![0u8; DECODE_BUF_LEN];
        let result = verifier.verify(case["token"].as_str().unwrap(), now, &mut buf);
        let expect = case["expect"].as_str().unwrap();
        codes_seen.insert(expect.to_owned());
        match (expect, result) {
            ("OK", Ok(g)) => {
                let want = &case["grant"];
                assert_eq!(g.agent_did(), want["agent_did"], "{provider} {name}");
                assert_eq!(g.principal(), want["principal"], "{provider} {name}");
                assert_eq!(
                    g.scopes(),
                    strs(&want["scopes"]).as_slice(),
                    "{provider} {name}"
                );
                assert_eq!(g.jti(), want["jti"], "{provider} {name}");
                assert_eq!(g.grant_id(), want["grant_id"], "{provider} {name}");
                assert_eq!(
                    u64::from(g.delegation_depth()),
                    want["depth"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(g.issuer(), want["issuer"].as_str(), "{name}");
                assert_eq!(g.developer_id(), want["developer_id"].as_str(), "{name}");
                assert_eq!(g.audience(), strs(&want["audience"]).as_slice(), "{name}");
                assert_eq!(
                    g.expires_at().as_secs(),
                    want["expires_at"].as_u64().unwrap(),
                    "{name}"
                );
                let missing: Vec<_> = g.missing_scopes().iter().collect();
                assert_eq!(missing, strs(&want["missing_scopes"]), "{provider} {name}");
            }
            ("OK", Err(e)) => panic!("{provider} {name}: expected success, got {e}"),
            (code, Ok(_)) => panic!("{provider} {name}: expected {code}, verified"),
            (code, Err(e)) => {
                assert_eq!(e.code(), code, "{provider} {name}: {e}");
                // The message starts with the code and says more.
                let text = e.to_string();
                assert!(
                    text.starts_with(code) && text.len() > code.len() + 2,
                    "{text}"
                );
            }
        }
    }
    // The catalogue exercises every verification error code.
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
        "OK",
    ] {
        assert!(codes_seen.contains(code), "no catalogue case for {code}");
    }
}

#[test]
fn catalogue_with_every_provider() {
    for_each_provider!(run_catalogue);
}

fn messages_name_the_culprit<P: CryptoProvider + Default>(_: &str) {
    let doc: Value = serde_json::from_str(util::CATALOGUE).unwrap();
    let find = |name: &str| {
        doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let snap = util::snapshot::<P>("jwks");
    let required = ["read:contacts", "admin", "delete:all"];
    let verifier = Verifier::new(
        &snap,
        VerifierOptions::new().with_required_scopes(&required),
    )
    .unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let msg = |tok: &str, buf: &mut Vec<u8>| {
        verifier
            .verify(tok, util::NOW, buf)
            .unwrap_err()
            .to_string()
    };
    assert!(msg(&find("unknown_kid"), &mut buf).contains("gx-2025"));
    assert!(msg(&find("missing_agt"), &mut buf).contains("agt"));
    assert!(msg(&find("depth_1.5"), &mut buf).contains("delegationDepth"));
    assert!(msg(&find("duplicate_claim_scp"), &mut buf).contains("scp"));
    assert!(msg(&find("alg_nOnE_unsigned"), &mut buf).contains("nOnE"));
    assert_eq!(
        msg(&find("valid_rs256_2048"), &mut buf),
        "SCOPE_VIOLATION: missing scopes: admin, delete:all"
    );
}

#[test]
fn messages_name_the_culprit_with_every_provider() {
    for_each_provider!(messages_name_the_culprit);
}
