//! An office's signing-key rollover records, in order (each a `KeyRecord` signed by the
//! key before it): the authority's own, and on a client node each office it follows (the
//! home office's in `KEY_RECORDS`, any other's in `OFFICE_KEY_RECORDS` by agency code).

use redb::{ReadableTable, ReadableTableMetadata};

use super::tables::{KEY_RECORDS, OFFICE_KEY_RECORDS, Txn};
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

/// Every record of an office a client node follows, oldest first: `office` is another
/// office's agency code, `None` the home office.
pub fn all_of(txn: &impl Txn, office: Option<&str>) -> Result<Vec<Vec<u8>>, StoreError> {
    let Some(code) = office else {
        return all(txn);
    };
    let mut out = Vec::new();
    for r in txn
        .table(OFFICE_KEY_RECORDS)?
        .range((code, 0)..=(code, u64::MAX))?
    {
        out.push(r?.1.value().to_vec());
    }
    Ok(out)
}

/// Appends the records of `records` this node does not hold yet for `office` (as in
/// [`all_of`]; the office sends its whole chain, and the ones held are a prefix of it).
pub fn extend(
    w: &WriteBatch<'_>,
    office: Option<&str>,
    records: &[Vec<u8>],
) -> Result<(), StoreError> {
    let have = all_of(w, office)?.len();
    for (i, r) in records.iter().enumerate().skip(have) {
        match office {
            None => append(w, r)?,
            Some(code) => {
                w.txn()
                    .open_table(OFFICE_KEY_RECORDS)?
                    .insert((code, i as u64), r.as_slice())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions};

    #[test]
    fn each_office_keeps_its_own_chain() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("k.redb"), StoreOptions::default()).unwrap();
        let aa = Some("AA");
        let w = s.write().unwrap();
        extend(&w, None, &[vec![1], vec![2]]).unwrap();
        extend(&w, aa, &[vec![9]]).unwrap();
        extend(&w, aa, &[vec![9], vec![8]]).unwrap();
        w.commit().unwrap();
        let r = s.read().unwrap();
        assert_eq!(all(&r).unwrap(), vec![vec![1], vec![2]]);
        assert_eq!(all_of(&r, aa).unwrap(), vec![vec![9], vec![8]]);
        assert_eq!(all_of(&r, None).unwrap(), vec![vec![1], vec![2]]);
        assert!(all_of(&r, Some("31")).unwrap().is_empty());
    }
}
