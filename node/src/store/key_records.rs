//! Authority: its signing-key rollover records, in order (each a `KeyRecord` signed by the
//! key before it).

use redb::{ReadableTable, ReadableTableMetadata};

use super::tables::{KEY_RECORDS, Txn};
use super::{StoreError, WriteBatch};

/// Every record, oldest first.
pub fn all(txn: &impl Txn) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for r in txn.table(KEY_RECORDS)?.iter()? {
        out.push(r?.1.value().to_vec());
    }
    Ok(out)
}

/// Appends a record after the last one.
pub fn append(w: &WriteBatch<'_>, record: &[u8]) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(KEY_RECORDS)?;
    let n = t.len()?;
    t.insert(n, record)?;
    Ok(())
}
