//! [`Guard`]: verify the grant, enforce the tool's scope, run the tool, write the entry.
//!
//! Memory: the guard owns a copy of the grant token and the parsed JWKS snapshot, and
//! borrows the caller's memo slots (65 bytes each) for the life `'m`. Each call decodes
//! the token into a fresh buffer of [`DECODE_BUF_LEN`](gx_core::DECODE_BUF_LEN) bytes and
//! copies the subject (agent DID, grant id, scopes) out of it before the tool runs.

use core::future::Future;
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gx_core::provider::AwsLcRs;
use gx_core::{
    DECODE_BUF_LEN, JwksSnapshot, MemoSlot, UnixTime, VerificationMemo, Verifier, VerifierOptions,
};
use gx_storage::{AuditLog, ConsentBundle, EntryFields};
use serde_json::{Map, Value};

use crate::{GuardError, GuardSetupError};

/// How a guarded call ended, as written to the log's `result` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The tool ran and returned `Ok`.
    Success,
    /// The grant lacks the tool's scope; the tool did not run.
    Denied,
    /// The tool ran and returned `Err`.
    Error,
}

impl Outcome {
    /// The `result` string of the entry: `success`, `denied` or `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Error => "error",
        }
    }
}

/// Who the verified grant says is acting: copied out of the token for one call.
struct Subject {
    agent_did: String,
    grant_id: String,
    scopes: Vec<String>,
}

/// Wraps an agent's tools: every call is authorised offline and audited.
///
/// Build it with [`Guard::new`] from a loaded [`ConsentBundle`] and an open
/// [`AuditLog`], then call [`run`](Self::run) (or [`run_async`](Self::run_async)) around
/// each tool. The guard is `Sync`: share it between threads. The log stays usable by
/// others through the `Arc` (a sync run, say).
///
/// The time used is `max(clock, last entry's timestamp)`, so setting the device's
/// clock back cannot make an expired grant valid again once an entry was written after
/// its expiry.
pub struct Guard<'m> {
    token: String,
    snapshot: JwksSnapshot<AwsLcRs>,
    log: Arc<AuditLog>,
    memo: Mutex<VerificationMemo<'m>>,
    revoked: AtomicBool,
    skew_secs: u64,
    max_depth: Option<u32>,
    clock: fn() -> UnixTime,
}

impl core::fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Guard")
            .field("log", &self.log.path())
            .field("revoked", &self.is_revoked())
            .finish_non_exhaustive()
    }
}

impl<'m> Guard<'m> {
    /// A guard for the grant of `bundle`, writing to `log`, remembering verified
    /// signatures in `slots` (4 are plenty: a guard holds one token; a refresh adds one).
    ///
    /// # Errors
    /// [`GuardSetupError::Jwks`] when the bundle's JWKS snapshot has no usable key or
    /// does not parse.
    pub fn new(
        bundle: &ConsentBundle,
        log: Arc<AuditLog>,
        slots: &'m mut [MemoSlot],
    ) -> Result<Self, GuardSetupError> {
        // Serializing the snapshot we just parsed cannot fail; an empty text would be
        // refused by the parser below anyway.
        let json = serde_json::to_vec(bundle.jwks_snapshot()).unwrap_or_default();
        let snapshot = JwksSnapshot::parse(&json).map_err(GuardSetupError::Jwks)?;
        Ok(Self::from_parts(
            bundle.grant_token().to_owned(),
            snapshot,
            log,
            slots,
        ))
    }

    /// A guard from its parts: a grant token and the issuer's keys.
    pub fn from_parts(
        token: String,
        snapshot: JwksSnapshot<AwsLcRs>,
        log: Arc<AuditLog>,
        slots: &'m mut [MemoSlot],
    ) -> Self {
        Self {
            token,
            snapshot,
            log,
            memo: Mutex::new(VerificationMemo::new(slots)),
            revoked: AtomicBool::new(false),
            skew_secs: 30,
            max_depth: None,
            clock: UnixTime::now,
        }
    }

    /// Allows `secs` of clock skew on the token's times (default 30).
    #[must_use]
    pub fn with_clock_skew_secs(mut self, secs: u64) -> Self {
        self.skew_secs = secs;
        self
    }

    /// Refuses grants delegated more than `max` times.
    #[must_use]
    pub fn with_max_delegation_depth(mut self, max: u32) -> Self {
        self.max_depth = Some(max);
        self
    }

    /// Uses `clock` instead of the system clock (tests, simulations).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> UnixTime) -> Self {
        self.clock = clock;
        self
    }

    /// The audit log the guard writes to.
    pub fn log(&self) -> &Arc<AuditLog> {
        &self.log
    }

    /// Marks the bundle revoked (a sync reported it): every later call is refused with
    /// [`GuardError::Revoked`].
    pub fn mark_revoked(&self) {
        self.revoked.store(true, Ordering::SeqCst);
    }

    /// Whether [`mark_revoked`](Self::mark_revoked) was called.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
    }

    /// Runs `action` as tool `tool` if the grant verifies and holds `required_scope`,
    /// and writes one entry: `success` or `error` after the tool ran, `denied` when the
    /// scope is missing. `metadata`, a JSON object, goes into the entry (the guard adds
    /// `requiredScope` to denied entries and `error` to failed ones).
    ///
    /// # Errors
    /// [`GuardError`]: a refusal before the tool ran, the tool's own error
    /// ([`GuardError::Action`]), or a log failure.
    pub fn run<T, E, F>(
        &self,
        tool: &str,
        required_scope: &str,
        metadata: Option<&Value>,
        action: F,
    ) -> Result<T, GuardError<E>>
    where
        F: FnOnce() -> Result<T, E>,
        E: core::fmt::Display,
    {
        let (subject, base) = self.authorize(tool, required_scope, metadata)?;
        let result = action();
        self.finish(tool, &subject, base, result)
    }

    /// The async twin of [`run`](Self::run): the tool is a future. Verification and the
    /// log write are synchronous (a few hundred microseconds, plus an fsync under
    /// `FsyncPolicy::EveryEntry`); use a group-commit log on a busy runtime.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_async<T, E, F, Fut>(
        &self,
        tool: &str,
        required_scope: &str,
        metadata: Option<&Value>,
        action: F,
    ) -> Result<T, GuardError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: core::fmt::Display,
    {
        let (subject, base) = self.authorize(tool, required_scope, metadata)?;
        let result = action().await;
        self.finish(tool, &subject, base, result)
    }

    /// Verifies the grant and checks the scope; writes the `denied` entry itself.
    fn authorize<E>(
        &self,
        tool: &str,
        required_scope: &str,
        metadata: Option<&Value>,
    ) -> Result<(Subject, Map<String, Value>), GuardError<E>> {
        if self.is_revoked() {
            return Err(GuardError::Revoked);
        }
        let mut base = match metadata {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(GuardError::InvalidMetadata),
        };
        let subject = self.verify()?;
        if !subject.scopes.iter().any(|s| s == required_scope) {
            base.insert(
                "requiredScope".to_owned(),
                Value::String(required_scope.to_owned()),
            );
            let seq = self.write(tool, &subject, Outcome::Denied, &base)?;
            return Err(GuardError::Denied {
                tool: tool.to_owned(),
                scope: required_scope.to_owned(),
                seq,
            });
        }
        Ok((subject, base))
    }

    fn finish<T, E: core::fmt::Display>(
        &self,
        tool: &str,
        subject: &Subject,
        mut base: Map<String, Value>,
        result: Result<T, E>,
    ) -> Result<T, GuardError<E>> {
        match result {
            Ok(value) => {
                self.write(tool, subject, Outcome::Success, &base)?;
                Ok(value)
            }
            Err(e) => {
                base.insert("error".to_owned(), Value::String(e.to_string()));
                self.write(tool, subject, Outcome::Error, &base)?;
                Err(GuardError::Action(e))
            }
        }
    }

    fn verify<E>(&self) -> Result<Subject, GuardError<E>> {
        let now = (self.clock)().max(self.log.last_timestamp());
        let mut options = VerifierOptions::new().with_clock_skew_secs(self.skew_secs);
        if let Some(max) = self.max_depth {
            options = options.with_max_delegation_depth(max);
        }
        let verifier = Verifier::new(&self.snapshot, options).map_err(|e| GuardError::Grant {
            code: "INVALID_OPTIONS",
            message: e.to_string(),
        })?;
        let mut buf = vec![0u8; DECODE_BUF_LEN];
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        let grant = verifier
            .verify_memoized(&self.token, now, &mut buf, &mut memo)
            .map_err(|e| GuardError::Grant {
                code: e.code(),
                message: e.to_string(),
            })?;
        Ok(Subject {
            agent_did: grant.agent_did().to_owned(),
            grant_id: grant.grant_id().to_owned(),
            scopes: grant.scopes().iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    fn write<E>(
        &self,
        tool: &str,
        subject: &Subject,
        outcome: Outcome,
        metadata: &Map<String, Value>,
    ) -> Result<u64, GuardError<E>> {
        let meta = if metadata.is_empty() {
            None
        } else {
            Some(Value::Object(metadata.clone()).to_string())
        };
        let scopes: Vec<&str> = subject.scopes.iter().map(String::as_str).collect();
        let record = self
            .log
            .append_fields(&EntryFields {
                action: tool,
                agent_did: &subject.agent_did,
                grant_id: &subject.grant_id,
                scopes: &scopes,
                result: outcome.as_str(),
                metadata: meta.as_deref(),
            })
            .map_err(GuardError::Log)?;
        Ok(record.seq())
    }
}
