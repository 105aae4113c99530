//! [`SyncBatch`]: the body of one `POST /v1/audit/offline-sync`, built from the log's lines
//! without re-serializing them.
//!
//! Memory: the batch owns one growing buffer holding the request body; entries are copied
//! into it once, as the exact bytes the log holds, so what the server hashes is what the
//! device wrote.

use bytes::Bytes;

/// The most entries one batch may hold (`protocol.md`: 1..1000).
pub const MAX_BATCH_ENTRIES: usize = 1000;

/// The largest request body the server takes is 1 MiB; stay below it with room to spare.
pub const MAX_BATCH_BYTES: usize = 1000 * 1024;

/// A sync request body under construction: `{"bundleId":..,"deviceId":..,"entries":[..]}`.
#[derive(Clone, Debug)]
pub struct SyncBatch {
    body: Vec<u8>,
    prefix_len: usize,
    len: usize,
    first_seq: u64,
    last_seq: u64,
    max_entries: usize,
}

/// Why an entry could not be added to a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchFull {
    /// The batch holds its maximum number of entries.
    Entries,
    /// The entry would push the body over [`MAX_BATCH_BYTES`].
    Bytes,
}

impl SyncBatch {
    /// An empty batch for `bundle_id` (and `device_id`, if given) holding at most
    /// `max_entries` entries (clamped to 1..=1000).
    pub fn new(bundle_id: &str, device_id: Option<&str>, max_entries: usize) -> Self {
        let mut body = Vec::with_capacity(64 * 1024);
        body.extend_from_slice(b"{\"bundleId\":");
        push_json_string(&mut body, bundle_id);
        if let Some(device) = device_id {
            body.extend_from_slice(b",\"deviceId\":");
            push_json_string(&mut body, device);
        }
        body.extend_from_slice(b",\"entries\":[");
        let prefix_len = body.len();
        Self {
            body,
            prefix_len,
            len: 0,
            first_seq: 0,
            last_seq: 0,
            max_entries: max_entries.clamp(1, MAX_BATCH_ENTRIES),
        }
    }

    /// Appends one entry: `line` must be one wire-format entry object (a line of the audit
    /// log, without its newline) whose `seq` is `seq`.
    ///
    /// # Errors
    /// [`BatchFull`] when the entry does not fit; the batch is unchanged. An empty batch
    /// reports `Bytes` only for an entry that can never fit in any batch.
    pub fn push_line(&mut self, seq: u64, line: &str) -> Result<(), BatchFull> {
        if self.len >= self.max_entries {
            return Err(BatchFull::Entries);
        }
        let extra = line.len() + 1;
        if self.body.len() + extra + 2 > MAX_BATCH_BYTES {
            return Err(BatchFull::Bytes);
        }
        if self.len > 0 {
            self.body.push(b',');
        } else {
            self.first_seq = seq;
        }
        self.body.extend_from_slice(line.trim_end().as_bytes());
        self.last_seq = seq;
        self.len += 1;
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `seq` of the first entry (0 when empty).
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// `seq` of the last entry (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Empties the batch, keeping the bundle and device and the buffer's capacity.
    pub fn clear(&mut self) {
        self.body.truncate(self.prefix_len);
        self.len = 0;
        self.first_seq = 0;
        self.last_seq = 0;
    }

    /// The complete request body.
    pub(crate) fn body(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.body.len() + 2);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(b"]}");
        Bytes::from(out)
    }
}

/// Writes `s` as a JSON string.
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json writes a &str infallibly into a Vec.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn body_is_the_protocol_shape() {
        let mut b = SyncBatch::new("bundle_1", Some("dev\"1"), 100);
        assert!(b.is_empty());
        let body: Value = serde_json::from_slice(&b.body()).unwrap();
        assert_eq!(body["entries"].as_array().unwrap().len(), 0);
        b.push_line(7, r#"{"seq":7,"a":1}"#).unwrap();
        b.push_line(8, "{\"seq\":8,\"a\":2}\r\n").unwrap();
        let body: Value = serde_json::from_slice(&b.body()).unwrap();
        assert_eq!(body["bundleId"], "bundle_1");
        assert_eq!(body["deviceId"], "dev\"1");
        assert_eq!(body["entries"][1]["seq"], 8);
        assert_eq!((b.first_seq(), b.last_seq(), b.len()), (7, 8, 2));
        b.clear();
        assert!(b.is_empty());
        let body: Value = serde_json::from_slice(&b.body()).unwrap();
        assert!(body.get("deviceId").is_some());
        assert_eq!(body["entries"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn limits_entries_and_bytes() {
        let mut b = SyncBatch::new("b", None, 2);
        b.push_line(1, "{}").unwrap();
        b.push_line(2, "{}").unwrap();
        assert_eq!(b.push_line(3, "{}"), Err(BatchFull::Entries));
        assert_eq!(
            SyncBatch::new("b", None, 5000).max_entries,
            MAX_BATCH_ENTRIES
        );
        assert_eq!(SyncBatch::new("b", None, 0).max_entries, 1);

        let big = format!("{{\"m\":\"{}\"}}", "x".repeat(600 * 1024));
        let mut b = SyncBatch::new("b", None, 1000);
        b.push_line(1, &big).unwrap();
        assert_eq!(b.push_line(2, &big), Err(BatchFull::Bytes));
        assert_eq!(b.len(), 1);
        assert!(b.body().len() < MAX_BATCH_BYTES);
        let huge = "x".repeat(MAX_BATCH_BYTES);
        assert_eq!(
            SyncBatch::new("b", None, 10).push_line(1, &huge),
            Err(BatchFull::Bytes)
        );
    }
}
