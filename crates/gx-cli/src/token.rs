//! `gx token verify`: offline verification of a grant token against a JWKS snapshot.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use gx_core::{
    AwsLcRs, DECODE_BUF_LEN, JwksSnapshot, UnixTime, VerifiedGrant, Verifier, VerifierOptions,
};
use serde_json::{Value, json};

use crate::cli::TokenVerifyArgs;
use crate::failure::{fail, fail_with, report_invalid};
use crate::output;

/// The JSON object describing a verified grant (`"grant"` of the output).
pub(crate) fn grant_json(grant: &VerifiedGrant<'_>) -> Value {
    json!({
        "grantId": grant.grant_id(),
        "jti": grant.jti(),
        "sub": grant.principal(),
        "agentDID": grant.agent_did(),
        "developerId": grant.developer_id(),
        "scopes": grant.scopes(),
        "issuer": grant.issuer(),
        "audience": grant.audience(),
        "issuedAt": grant.issued_at().map(UnixTime::as_secs),
        "expiresAt": grant.expires_at().as_secs(),
        "delegationDepth": grant.delegation_depth(),
        "kid": grant.kid(),
    })
}

/// Parses a JWKS (or a bundle's `jwksSnapshot`) from its JSON text.
pub(crate) fn parse_jwks(bytes: &[u8], origin: &str) -> anyhow::Result<JwksSnapshot<AwsLcRs>> {
    let snapshot = JwksSnapshot::parse(bytes).map_err(|e| {
        fail_with(
            e.code(),
            format!("{origin} is not a usable JWKS"),
            "pass a JWKS or a bundle's jwksSnapshot",
            e,
        )
    })?;
    if snapshot.usable_keys() == 0 {
        return Err(fail(
            "NO_USABLE_KEYS",
            format!(
                "{origin} holds no RS256 key gx can use ({} skipped)",
                snapshot.skipped().len()
            ),
            "pass the issuer's JWKS (RSA keys of 2048 bits or more)",
        ));
    }
    Ok(snapshot)
}

pub(crate) fn verify(args: &TokenVerifyArgs) -> anyhow::Result<ExitCode> {
    let jwks_bytes = std::fs::read(&args.jwks)
        .with_context(|| format!("reading the JWKS {}", args.jwks.display()))?;
    let snapshot = parse_jwks(&jwks_bytes, &args.jwks.display().to_string())?;
    let token = if args.token == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the token from stdin")?;
        text
    } else {
        std::fs::read_to_string(&args.token)
            .with_context(|| format!("reading the token {}", args.token))?
    };
    let token = token.trim();
    let now = args.now.map_or_else(UnixTime::now, UnixTime::from_secs);
    let required: Vec<&str> = args.require_scope.iter().map(String::as_str).collect();
    let mut options = VerifierOptions::new()
        .with_clock_skew_secs(args.skew)
        .with_required_scopes(&required);
    if let Some(depth) = args.max_depth {
        options = options.with_max_delegation_depth(depth);
    }
    if let Some(issuer) = &args.issuer {
        options = options.with_issuer(issuer);
    }
    if let Some(audience) = &args.audience {
        options = options.with_audience(audience);
    }
    let verifier = Verifier::new(&snapshot, options).map_err(|e| {
        fail_with(
            "INVALID_OPTIONS",
            "unusable options",
            "require fewer scopes",
            e,
        )
    })?;
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    match verifier.verify(token, now, &mut buf) {
        Ok(grant) => {
            if args.json {
                output::json(&json!({"valid": true, "grant": grant_json(&grant)}))?;
            } else {
                output::line(&crate::human::token_line(
                    &grant_json(&grant),
                    now.as_secs(),
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let (code, message) = (e.code(), e.to_string());
            if args.json {
                output::json(
                    &json!({"valid": false, "error": {"code": code, "message": message}}),
                )?;
            } else {
                report_invalid(code, &message, hint(code));
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// What to do about a token that does not verify.
pub(crate) fn hint(code: &str) -> &'static str {
    match code {
        "TOKEN_EXPIRED" | "JWKS_SNAPSHOT_EXPIRED" => {
            "refresh the bundle (`gx bundle refresh`) while online"
        }
        "SCOPE_VIOLATION" => "ask for a bundle with the missing scopes",
        "KID_NOT_FOUND" | "BAD_SIGNATURE" => {
            "check that the JWKS is the issuer's, or fetch a fresh bundle"
        }
        _ => "check the token and the JWKS it was issued with",
    }
}
