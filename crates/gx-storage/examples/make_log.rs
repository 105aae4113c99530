//! Writes a wire-format audit log of signed entries and its audit public key: the input of
//! `cargo xtask bench-verify`, which times `gx audit verify` on it through the release
//! binary.
//!
//! ```text
//! make_log DIR [N]    DIR/audit.jsonl (N entries, default 10000), DIR/audit_public.pem
//! ```
//!
//! The entries are those of the `verify_log` bench (`benches/verify_log.rs`): appended
//! through [`AuditLog`] as a device appends them, metadata `{"count":i,"query":"name:alice"}`,
//! signed with a fixed key.

use std::path::PathBuf;

use gx_storage::{AuditLog, AuditLogConfig, AuditSigningKey, EntryFields, FsyncPolicy};

const SCOPES: &[&str] = &["read:contacts", "write:calendar"];

fn main() -> Result<(), Box<dyn core::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: make_log DIR [N]")?);
    let entries: u64 = match args.next() {
        Some(n) => n.to_str().ok_or("N is not a number")?.parse()?,
        None => 10_000,
    };
    std::fs::create_dir_all(&dir)?;
    let log_path = dir.join("audit.jsonl");
    let key = AuditSigningKey::from_bytes(&[7; 32]);
    std::fs::write(
        dir.join("audit_public.pem"),
        key.verifying_key().to_spki_pem().as_str(),
    )?;
    let config = AuditLogConfig::new(FsyncPolicy::None).with_segment_max_bytes(64 << 20);
    let log = AuditLog::open(&log_path, key, config)?;
    let metadata: Vec<String> = (0..entries)
        .map(|i| format!(r#"{{"count":{i},"query":"name:alice"}}"#))
        .collect();
    for chunk in metadata.chunks(1000) {
        let fields: Vec<EntryFields<'_>> = chunk
            .iter()
            .map(|m| EntryFields {
                action: "tool:read_contacts",
                agent_did: "did:grantex:agent_1",
                grant_id: "grnt_01JDBUNDLE0000000000000000",
                scopes: SCOPES,
                result: "success",
                metadata: Some(m),
            })
            .collect();
        log.append_batch(&fields)?;
    }
    println!("{}", log_path.display());
    Ok(())
}
