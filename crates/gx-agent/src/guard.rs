//! [`Guard`]: verify the grant, enforce the tool's scope, run the tool, write the entry.
//!
//! Memory: the guard shares the [`DeviceSession`], which owns the bundle and the parsed
//! JWKS snapshot and borrows the caller's memo slots for `'m`. Nothing of the grant is
//! copied: the session verifies the token before the tool runs and again (a memo hit, no
//! RSA) when it writes the entry, at the same instant.

use core::future::Future;
use std::sync::Arc;

use gx_core::AwsLcRs;
use gx_storage::{Authorization, DeviceError, DeviceSession};
use serde_json::{Map, Value};

use crate::GuardError;

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

/// The device session a guard acts through: gx-core's aws-lc-rs provider verifies.
pub type Device<'m> = DeviceSession<'m, AwsLcRs>;

/// Wraps an agent's tools: every call is authorised offline and audited.
///
/// Build it with [`Guard::new`] from an open [`DeviceSession`] (which owns the bundle,
/// the parsed JWKS, the memo, the time floor, the revocation marker and the log), then
/// call [`run`](Self::run) (or [`run_async`](Self::run_async)) around each tool. The guard
/// is `Sync`: share it between threads. The session stays usable by others through the
/// `Arc` (a sync run, a refresh).
///
/// Every rule is the session's: a revoked bundle is refused (also after a restart, since
/// the session reads the durable revocation marker), a pending refresh is refused, the
/// time is bounded by the floor, and each entry is stamped with the time its grant was
/// checked at.
pub struct Guard<'m> {
    device: Arc<Device<'m>>,
}

impl core::fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Guard")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl<'m> Guard<'m> {
    /// A guard acting through `device`; the device must have been opened with a log
    /// ([`DeviceOptions::with_log`](gx_storage::DeviceOptions::with_log)).
    pub fn new(device: Arc<Device<'m>>) -> Self {
        Self { device }
    }

    /// The device session the guard acts through.
    pub fn device(&self) -> &Arc<Device<'m>> {
        &self.device
    }

    /// Records, durably, that the server said the bundle is revoked (a sync reported
    /// it): every later call is refused with [`GuardError::Revoked`], also by a guard
    /// started after a restart.
    ///
    /// # Errors
    /// The session's error when the marker cannot be written.
    pub fn mark_revoked(&self, revoked_at: Option<String>) -> Result<(), DeviceError> {
        self.device.learn_revoked(revoked_at)
    }

    /// Whether the device learned that its bundle was revoked.
    pub fn is_revoked(&self) -> bool {
        self.device.is_revoked()
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
        let (auth, base) = self.authorize(tool, required_scope, metadata)?;
        let result = action();
        self.finish(tool, &auth, base, result)
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
        let (auth, base) = self.authorize(tool, required_scope, metadata)?;
        let result = action().await;
        self.finish(tool, &auth, base, result)
    }

    /// Verifies the grant and checks the scope; writes the `denied` entry itself.
    fn authorize<E>(
        &self,
        tool: &str,
        required_scope: &str,
        metadata: Option<&Value>,
    ) -> Result<(Authorization, Map<String, Value>), GuardError<E>> {
        let mut base = match metadata {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(GuardError::InvalidMetadata),
        };
        let auth = self
            .device
            .authorize(Some(required_scope), None)
            .map_err(GuardError::from_device)?;
        if !auth.scope_granted() {
            base.insert(
                "requiredScope".to_owned(),
                Value::String(required_scope.to_owned()),
            );
            let seq = self.write(&auth, tool, Outcome::Denied, &base)?;
            return Err(GuardError::Denied {
                tool: tool.to_owned(),
                scope: required_scope.to_owned(),
                seq,
            });
        }
        Ok((auth, base))
    }

    fn finish<T, E: core::fmt::Display>(
        &self,
        tool: &str,
        auth: &Authorization,
        mut base: Map<String, Value>,
        result: Result<T, E>,
    ) -> Result<T, GuardError<E>> {
        match result {
            Ok(value) => {
                self.write(auth, tool, Outcome::Success, &base)?;
                Ok(value)
            }
            Err(e) => {
                base.insert("error".to_owned(), Value::String(e.to_string()));
                self.write(auth, tool, Outcome::Error, &base)?;
                Err(GuardError::Action(e))
            }
        }
    }

    fn write<E>(
        &self,
        auth: &Authorization,
        tool: &str,
        outcome: Outcome,
        metadata: &Map<String, Value>,
    ) -> Result<u64, GuardError<E>> {
        let meta = if metadata.is_empty() {
            None
        } else {
            Some(Value::Object(metadata.clone()).to_string())
        };
        let record = self
            .device
            .record(auth, tool, outcome.as_str(), meta.as_deref())
            .map_err(GuardError::from_device)?;
        Ok(record.seq())
    }
}
