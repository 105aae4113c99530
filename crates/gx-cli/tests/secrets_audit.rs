//! Secrets audit: runs the CLI, the server and the sync client through
//! a full flow with logging at TRACE and asserts that no API key, private key (PEM body,
//! DER, raw seed in hex or base64), bundle key or grant token (whole, or its signature
//! segment) appears in anything they print or log, nor in the `Debug` and `Display`
//! output of the public config, key and error types.
//!
//! - `cli`: the `gx` binary, every command that touches a secret, `gx server run` as a
//!   child with `RUST_LOG=trace`, and `gx demo` with `RUST_LOG=trace`;
//! - `in_process`: gx-server and gx-sync in this process under a TRACE `tracing`
//!   subscriber (which also receives `log` records, e.g. rustls') writing into a buffer.

mod secrets_audit {
    mod cli;
    mod in_process;
    mod secrets;
}
