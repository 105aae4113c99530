//! Appending a checked batch to a bundle's chain on PostgreSQL, serialised per bundle by
//! the bundle row's lock.
//!
//! Nearly every batch continues the stored chain exactly: its first entry follows the head
//! kept in the bundle row. That case is one statement, so one round trip and one implicit
//! transaction ([`FAST`]): it locks the bundle row (`FOR UPDATE`), and only when the audit
//! key and the head are the ones the batch was built on does it charge the developer's
//! quota (a conditional `UPDATE` of the developer row), insert the entries (`UNNEST`) and
//! move the head. Whether the batch continues the head it assumes is decided by
//! [`reconcile`] before the statement is sent, so the rules are the ones every backend
//! applies; the statement only confirms, under the lock, that the head is still that one.
//!
//! Anything else (a re-upload, overlapping batches racing through two replicas, a conflict,
//! a full quota) takes the general path ([`locked`]): an explicit transaction that locks
//! the row, reads the stored hashes the batch overlaps, runs [`reconcile`] against them
//! and stores what is new. `PRIMARY KEY (bundle_id, seq)` backs both paths: two inserts of
//! one `seq` cannot both commit.
//!
//! Memory: the batch's hashes and JSON texts are borrowed into the statement's array
//! parameters; nothing is copied per entry beyond the driver's encoding buffer.

use std::collections::HashMap;

use deadpool_postgres::Pool;

use super::{int, opt_uint, uint};
use crate::store::{AppendOutcome, NewEntry, StoreError, reconcile};

/// The common case in one statement. Parameters: `$1` bundle id, `$2` the audit key the
/// batch was verified under, `$3`/`$4` the head (`seq`, hash) the batch continues, `$5`
/// the batch's JSON bytes, `$6` the quota (NULL: none), `$7`/`$8` hashes and JSON texts
/// in `seq` order (the first entry's `seq` is `$3 + 1`), `$9` now.
///
/// The sub-statements run in dependency order: `b` takes the row lock, `charged` runs only
/// when the key and head match and the quota has room (its `WHERE` is re-checked on the
/// newest row version when a concurrent batch held the developer row), and the insert and
/// the head move run only when `charged` changed a row. The result row (none for an
/// unknown bundle) says which of these held.
const FAST: &str = "WITH b AS (
        SELECT developer_id, revoked_at, audit_public_key = $2 AS key_ok,
               head_seq = $3 AND head_hash = $4 AS continues
        FROM bundles WHERE id = $1 FOR UPDATE
    ), charged AS (
        UPDATE developers d SET stored_bytes = d.stored_bytes + $5
        FROM b
        WHERE d.id = b.developer_id AND b.key_ok AND b.continues
          AND ($6::BIGINT IS NULL OR d.stored_bytes + $5 <= $6)
        RETURNING d.id
    ), stored AS (
        INSERT INTO audit_entries (bundle_id, seq, hash, json, synced_at)
        SELECT $1, $3 + t.n, t.h, t.j, $9
        FROM UNNEST($7::TEXT[], $8::TEXT[]) WITH ORDINALITY AS t(h, j, n)
        WHERE EXISTS (SELECT 1 FROM charged)
    ), moved AS (
        UPDATE bundles SET head_seq = $3 + cardinality($7::TEXT[]),
            head_hash = $7[cardinality($7::TEXT[])],
            audit_entry_count = audit_entry_count + cardinality($7::TEXT[]),
            last_sync_at = $9
        WHERE id = $1 AND EXISTS (SELECT 1 FROM charged)
        RETURNING 1
    )
    SELECT b.key_ok, b.continues, b.revoked_at, EXISTS (SELECT 1 FROM moved) FROM b";

/// Appends `batch` (checked under `key`) to the bundle's chain.
pub(super) async fn append(
    pool: &Pool,
    id: &str,
    key: &[u8; 32],
    batch: &[NewEntry],
    now_ms: u64,
    quota_bytes: Option<u64>,
) -> Result<AppendOutcome, StoreError> {
    if let Some(outcome) = fast(pool, id, key, batch, now_ms, quota_bytes).await? {
        return Ok(outcome);
    }
    locked(pool, id, key, batch, now_ms, quota_bytes).await
}

/// The head `(seq, hash)` that `batch` continues when it is all new, if [`reconcile`]
/// accepts the batch as a whole on top of it.
fn assumed_head(batch: &[NewEntry]) -> Option<(u64, &str)> {
    let first = batch.first()?;
    let head = (first.seq.checked_sub(1)?, first.prev_hash.as_str());
    // No stored entry can lie above the head, so the lookup finds nothing.
    let fits = reconcile(Some(head), |_| Ok::<_, StoreError>(None), batch);
    matches!(fits, Ok(Ok(0))).then_some(head)
}

/// The one-statement append of a batch that continues the head; `None` when the general
/// path must decide (the head moved, a re-upload, a conflict, a full quota).
async fn fast(
    pool: &Pool,
    id: &str,
    key: &[u8; 32],
    batch: &[NewEntry],
    now_ms: u64,
    quota_bytes: Option<u64>,
) -> Result<Option<AppendOutcome>, StoreError> {
    let Some((head_seq, head_hash)) = assumed_head(batch) else {
        return Ok(None);
    };
    let client = pool.get().await?;
    let stmt = client.prepare_cached(FAST).await?;
    let bytes: u64 = batch.iter().map(|e| e.json.len() as u64).sum();
    let hashes: Vec<&str> = batch.iter().map(|e| e.hash.as_str()).collect();
    let jsons: Vec<&str> = batch.iter().map(|e| e.json.as_str()).collect();
    let row = client
        .query_opt(
            &stmt,
            &[
                &id,
                &key.as_slice(),
                &int(head_seq),
                &head_hash,
                &int(bytes),
                &quota_bytes.map(int),
                &hashes,
                &jsons,
                &int(now_ms),
            ],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Some(AppendOutcome::UnknownBundle));
    };
    let (key_ok, continues, moved): (bool, bool, bool) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(3)?);
    Ok(if !key_ok {
        Some(AppendOutcome::KeyChanged)
    } else if continues && moved {
        Some(AppendOutcome::Accepted {
            stored: batch.len(),
            revoked_at: opt_uint(row.try_get(2)?)?,
        })
    } else {
        None
    })
}

/// The general append transaction: lock the bundle row, compare the batch with the stored
/// chain, charge the quota, insert what is new, move the head, commit.
async fn locked(
    pool: &Pool,
    id: &str,
    key: &[u8; 32],
    batch: &[NewEntry],
    now_ms: u64,
    quota_bytes: Option<u64>,
) -> Result<AppendOutcome, StoreError> {
    let mut client = pool.get().await?;
    let lock = client
        .prepare_cached(
            "SELECT audit_public_key, revoked_at, head_seq, head_hash, developer_id FROM bundles WHERE id = $1 FOR UPDATE",
        )
        .await?;
    // Every statement prepared once per connection: parsing and planning them again for
    // each batch cost more than the inserts.
    let overlap = client
        .prepare_cached(
            "SELECT seq, hash FROM audit_entries WHERE bundle_id = $1 AND seq BETWEEN $2 AND $3",
        )
        .await?;
    let lock_developer = client
        .prepare_cached("SELECT stored_bytes FROM developers WHERE id = $1 FOR UPDATE")
        .await?;
    let charge = client
        .prepare_cached("UPDATE developers SET stored_bytes = stored_bytes + $1 WHERE id = $2")
        .await?;
    let insert = client
        .prepare_cached(
            "INSERT INTO audit_entries (bundle_id, seq, hash, json, synced_at)
             SELECT $1, s, h, j, $5 FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS t(s, h, j)",
        )
        .await?;
    let advance = client
        .prepare_cached(
            "UPDATE bundles SET head_seq = $2, head_hash = $3,
                audit_entry_count = audit_entry_count + $4, last_sync_at = $5 WHERE id = $1",
        )
        .await?;
    let touch = client
        .prepare_cached("UPDATE bundles SET last_sync_at = $2 WHERE id = $1")
        .await?;
    let tx = client.transaction().await?;
    let Some(row) = tx.query_opt(&lock, &[&id]).await? else {
        return Ok(AppendOutcome::UnknownBundle);
    };
    let stored_key: Vec<u8> = row.try_get(0)?;
    if stored_key.as_slice() != key.as_slice() {
        return Ok(AppendOutcome::KeyChanged);
    }
    let revoked_at = opt_uint(row.try_get(1)?)?;
    let head_seq = uint(row.try_get(2)?)?;
    let head_hash: String = row.try_get(3)?;
    let developer_id: String = row.try_get(4)?;
    // The stored hashes this batch overlaps, in one query (a re-upload, or two replicas
    // racing with overlapping batches).
    let mut stored: HashMap<u64, String> = HashMap::new();
    if let Some(first) = batch.first().filter(|e| e.seq <= head_seq) {
        let last = batch.last().map_or(first.seq, |e| e.seq).min(head_seq);
        let rows = tx
            .query(&overlap, &[&id, &int(first.seq), &int(last)])
            .await?;
        for r in &rows {
            stored.insert(uint(r.try_get(0)?)?, r.try_get(1)?);
        }
    }
    let tail = (head_seq > 0).then_some((head_seq, head_hash.as_str()));
    let checked = reconcile(
        tail,
        |seq| Ok::<_, StoreError>(stored.get(&seq).cloned()),
        batch,
    )?;
    let first_new = match checked {
        Ok(i) => i,
        Err(conflicts) => return Ok(AppendOutcome::Conflict(conflicts)),
    };
    let new = batch.get(first_new..).unwrap_or_default();
    let new_bytes: u64 = new.iter().map(|e| e.json.len() as u64).sum();
    if new_bytes > 0 {
        // The developer's row is locked too, so concurrent batches of one developer (on
        // any replica) cannot overshoot the quota together.
        let row = tx.query_one(&lock_developer, &[&developer_id]).await?;
        let used = uint(row.try_get(0)?)?;
        if let Some(quota) = quota_bytes
            && used.saturating_add(new_bytes) > quota
        {
            return Ok(AppendOutcome::QuotaExceeded { used, quota });
        }
        tx.execute(&charge, &[&int(new_bytes), &developer_id])
            .await?;
    }
    if let Some(last) = new.last() {
        let seqs: Vec<i64> = new.iter().map(|e| int(e.seq)).collect();
        let hashes: Vec<&str> = new.iter().map(|e| e.hash.as_str()).collect();
        let jsons: Vec<&str> = new.iter().map(|e| e.json.as_str()).collect();
        tx.execute(&insert, &[&id, &seqs, &hashes, &jsons, &int(now_ms)])
            .await?;
        let count = int(new.len() as u64);
        tx.execute(
            &advance,
            &[&id, &int(last.seq), &last.hash, &count, &int(now_ms)],
        )
        .await?;
    } else {
        tx.execute(&touch, &[&id, &int(now_ms)]).await?;
    }
    tx.commit().await?;
    Ok(AppendOutcome::Accepted {
        stored: new.len(),
        revoked_at,
    })
}
