//! Sealed submissions by application and revision, the receipts that answered them, and
//! (enterprise) the outbox of sealed submissions waiting to be delivered and the office's
//! refusals at receipt.

use exlic_client::DocId;
use redb::ReadableTable;

use super::tables::{OUTBOX, RECEIPTS, REFUSALS, SEALS, Txn};
use super::{StoreError, WriteBatch};

/// The sealed submission envelope of `app` at `revision`.
pub fn get(txn: &impl Txn, app: DocId, revision: u32) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(SEALS)?
        .get((app.0, revision))?
        .map(|v| v.value().to_vec()))
}

/// The length of the sealed envelope of `app` at `revision`, without copying it.
pub fn len(txn: &impl Txn, app: DocId, revision: u32) -> Result<Option<usize>, StoreError> {
    Ok(txn
        .table(SEALS)?
        .get((app.0, revision))?
        .map(|v| v.value().len()))
}

/// Every sealed envelope of `app`, oldest revision first.
pub fn all_of(txn: &impl Txn, app: DocId) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(SEALS)?.range((app.0, 0)..=(app.0, u32::MAX))? {
        let (k, v) = e?;
        out.push((k.value().1, v.value().to_vec()));
    }
    Ok(out)
}

/// Stores the sealed envelope of `app` at `revision`.
pub fn put(
    w: &WriteBatch<'_>,
    app: DocId,
    revision: u32,
    envelope: &[u8],
) -> Result<(), StoreError> {
    w.txn()
        .open_table(SEALS)?
        .insert((app.0, revision), envelope)?;
    Ok(())
}

/// The signed receipt for the seal hashing to `seal_hash`.
pub fn receipt(txn: &impl Txn, seal_hash: [u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(RECEIPTS)?
        .get(seal_hash)?
        .map(|v| v.value().to_vec()))
}

/// Stores the signed receipt for the seal hashing to `seal_hash`.
pub fn put_receipt(
    w: &WriteBatch<'_>,
    seal_hash: [u8; 32],
    receipt: &[u8],
) -> Result<(), StoreError> {
    w.txn().open_table(RECEIPTS)?.insert(seal_hash, receipt)?;
    Ok(())
}

/// The office's latest signed refusal at receipt of `app` (as verified when stored).
pub fn refusal(txn: &impl Txn, app: DocId) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn.table(REFUSALS)?.get(app.0)?.map(|v| v.value().to_vec()))
}

/// Stores the office's signed refusal at receipt of `app`, replacing an earlier one.
pub fn put_refusal(w: &WriteBatch<'_>, app: DocId, refusal: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(REFUSALS)?.insert(app.0, refusal)?;
    Ok(())
}

/// One sealed submission waiting in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// Its place in the outbox.
    pub seq: u64,
    /// The application.
    pub app: DocId,
    /// The sealed revision.
    pub revision: u32,
}

/// The outbox, oldest first.
pub fn outbox(txn: &impl Txn) -> Result<Vec<Queued>, StoreError> {
    outbox_page(txn, None, usize::MAX)
}

/// Enterprise: at most `limit` outbox entries after position `after` (from the first
/// with `None`), oldest first.
pub fn outbox_page(
    txn: &impl Txn,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<Queued>, StoreError> {
    let t = txn.table(OUTBOX)?;
    let range = match after {
        Some(a) => t.range(a.saturating_add(1)..)?,
        None => t.range(0..)?,
    };
    let mut out = Vec::new();
    for e in range.take(limit) {
        let (k, v) = e?;
        let (app, revision) = v.value();
        out.push(Queued {
            seq: k.value(),
            app: DocId(app),
            revision,
        });
    }
    Ok(out)
}

/// Queues `app` at `revision` for delivery at outbox position `seq`.
pub fn enqueue(w: &WriteBatch<'_>, seq: u64, app: DocId, revision: u32) -> Result<(), StoreError> {
    w.txn().open_table(OUTBOX)?.insert(seq, (app.0, revision))?;
    Ok(())
}

/// Takes the entry at `seq` out of the outbox (delivered or refused).
pub fn dequeue(w: &WriteBatch<'_>, seq: u64) -> Result<(), StoreError> {
    w.txn().open_table(OUTBOX)?.remove(seq)?;
    Ok(())
}
