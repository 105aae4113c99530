//! gx-agent: the agent side of gx — a [`Guard`] around an agent's tools.
//!
//! What it does not do: talk to the network (gx-sync does), lay out files (gx-storage
//! does) or hash and sign (gx-core does). It ties them together the way the TypeScript
//! client's tool adapters do: before a tool runs, the grant token is verified offline
//! (the RSA check is paid once, then remembered in gx-core's [`VerificationMemo`](gx_core::VerificationMemo)), the
//! tool's scope is enforced, and every call ends in exactly one signed audit entry —
//! `success`, `denied` or `error`.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use gx_agent::{Device, DeviceOptions, Guard, MemoSlot};
//! use gx_storage::{AuditLogConfig, BundleKey, FsyncPolicy};
//!
//! let key = BundleKey::from_hex(&std::env::var("GX_BUNDLE_KEY")?)?;
//! let mut slots = [MemoSlot::EMPTY; 4];
//! let options = DeviceOptions::new()
//!     .with_log("audit.jsonl", AuditLogConfig::new(FsyncPolicy::EveryEntry))
//!     .with_memo(&mut slots);
//! let device = Arc::new(Device::open("bundle.gx", key, options)?);
//! let guard = Guard::new(Arc::clone(&device));
//! let meta = serde_json::json!({"query": "alice"});
//! let count = guard.run("tool:read_contacts", "read:contacts", Some(&meta), || {
//!     Ok::<_, std::io::Error>(42) // the real tool call
//! })?;
//! assert_eq!(count, 42);
//! # Ok(()) }
//! ```
//!
//! Rationale and the threat model are in `docs/security.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use gx_core::{MemoSlot, UnixTime};
pub use gx_storage;
pub use gx_storage::{DeviceError, DeviceOptions, DeviceSession, GrantError, ManualClock};

mod error;
pub use error::GuardError;

mod guard;
pub use guard::{Device, Guard, Outcome};

// The README's quick start compiles as a doctest of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
