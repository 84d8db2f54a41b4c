//! The Automerge sync state (shared heads) this node keeps per peer and document, so a
//! restart resumes from what both sides last agreed on.

use exlic_client::DocId;
use redb::ReadableTable;

use super::tables::{SYNC_STATE, Txn};
use super::{StoreError, WriteBatch};

/// The encoded sync state with `peer` for `doc`.
pub fn get(txn: &impl Txn, peer: &[u8; 32], doc: DocId) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(SYNC_STATE)?
        .get((*peer, doc.0))?
        .map(|v| v.value().to_vec()))
}

/// Stores the encoded sync state with `peer` for `doc`.
pub fn put(
    w: &WriteBatch<'_>,
    peer: &[u8; 32],
    doc: DocId,
    state: &[u8],
) -> Result<(), StoreError> {
    w.txn()
        .open_table(SYNC_STATE)?
        .insert((*peer, doc.0), state)?;
    Ok(())
}
