//! Offline grant-token verification: JWKS snapshot, compact JWS, claims, scopes, memo.
//!
//! Parse the issuer's keys once into a [`JwksSnapshot`], make a [`Verifier`] with
//! [`VerifierOptions`], then call [`Verifier::verify`] with the token, the current time
//! and a decode buffer; a [`VerifiedGrant`] borrowing that buffer comes back, or a
//! [`VerifyError`] naming the first check that failed. The order of the checks and where
//! gx is stricter than the published clients are in `docs/verification.md`.
//!
//! Memory: the snapshot holds at most [`MAX_KEYS`] keys inline; verification uses the
//! caller's buffer ([`DECODE_BUF_LEN`] bytes always suffice) and about 3 KiB of stack
//! (the signature and the scope list). Only the `rsa` crate's arithmetic allocates.
//!
//! Repeat checks of one grant go through [`Verifier::verify_memoized`] and a
//! [`VerificationMemo`]: a hit costs a SHA-256 of the token and the time and policy
//! checks, not an RSA operation or a parse.

mod claims;

mod grant;
pub use grant::{MAX_AUDIENCES, MAX_SCOPES, VerifiedGrant};

mod error;
pub use error::{Limit, Malformed, Part, VerifyError};

mod json;

mod missing;
pub use missing::{MAX_REQUIRED_SCOPES, MissingScopes};

mod options;
pub use options::{MissingScopePolicy, OptionsError, VerifierOptions};

mod jwks;
pub use jwks::{
    JwksError, JwksSnapshot, MAX_KEYS, MAX_KID_LEN, MAX_MODULUS_BITS, MIN_MODULUS_BITS, SkipReason,
    SkippedKey,
};

mod jws;
pub use jws::{GrantToken, MAX_TOKEN_LEN};

mod memo;
pub use memo::{MemoSlot, VerificationMemo};

mod scope;
pub use scope::{enforce_scopes, has_scope};

mod verifier;
pub use verifier::{DECODE_BUF_LEN, Verifier};
