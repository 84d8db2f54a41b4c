//! Replicated office: the rows of the Raft log (index → entry), its state (vote,
//! committed, last purged, applied, membership, snapshot; name → bytes) and the replies of
//! applied commands by request id. The encodings are `cluster`'s.

use std::ops::RangeBounds;

use redb::{ReadableTable, ReadableTableMetadata};

use super::tables::{RAFT_LOG, RAFT_REPLIES, RAFT_STATE, Txn};
use super::{StoreError, WriteBatch};

/// The entries with an index in `range`, in order.
pub fn entries(txn: &impl Txn, range: impl RangeBounds<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for row in txn.table(RAFT_LOG)?.range(range)? {
        out.push(row?.1.value().to_vec());
    }
    Ok(out)
}

/// The last entry, if any.
pub fn last_entry(txn: &impl Txn) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(RAFT_LOG)?
        .last()?
        .map(|(_, v)| v.value().to_vec()))
}

/// Stores entry `index`.
pub fn put_entry(w: &WriteBatch<'_>, index: u64, entry: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(RAFT_LOG)?.insert(index, entry)?;
    Ok(())
}

/// Removes the entries from `from` through `to`.
pub fn remove_entries(w: &WriteBatch<'_>, from: u64, to: u64) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(RAFT_LOG)?;
    let keys: Vec<u64> = t
        .range(from..=to)?
        .map(|r| r.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()?;
    for k in keys {
        t.remove(k)?;
    }
    Ok(())
}

/// State `name`.
pub fn state(txn: &impl Txn, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(RAFT_STATE)?
        .get(name)?
        .map(|v| v.value().to_vec()))
}

/// Sets state `name`.
pub fn put_state(w: &WriteBatch<'_>, name: &str, value: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(RAFT_STATE)?.insert(name, value)?;
    Ok(())
}

/// The reply of the command with `request_id`, if it was applied.
pub fn reply(txn: &impl Txn, request_id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(RAFT_REPLIES)?
        .get(request_id)?
        .map(|v| v.value().to_vec()))
}

/// Keeps the reply of the command with `request_id`.
pub fn put_reply(
    w: &WriteBatch<'_>,
    request_id: &[u8; 16],
    reply: &[u8],
) -> Result<(), StoreError> {
    w.txn()
        .open_table(RAFT_REPLIES)?
        .insert(request_id, reply)?;
    Ok(())
}

/// A command's request id and its reply.
pub type KeptReply = ([u8; 16], Vec<u8>);

/// Every reply kept, by request id.
pub fn replies(txn: &impl Txn) -> Result<Vec<KeptReply>, StoreError> {
    let mut out = Vec::new();
    for row in txn.table(RAFT_REPLIES)?.iter()? {
        let (k, v) = row?;
        out.push((k.value(), v.value().to_vec()));
    }
    Ok(out)
}

/// Forgets every reply (before a snapshot's are put in their place).
pub fn clear_replies(w: &WriteBatch<'_>) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(RAFT_REPLIES)?;
    while t.len()? > 0 {
        t.pop_first()?;
    }
    Ok(())
}
