//! A replica's whole state as bytes and back: every table but its own (the Raft log's,
//! `RAFT_*`, and `LOCAL`), row by row in redb's encoding, for the replicated office's snapshots.
//!
//! The form: per table its name, its row count, then each row's key and value, every
//! string of bytes prefixed with its length (u32, big-endian) and counts as u64. Tables
//! are visited through [`every_table`](super::tables::every_table), so a new table is in
//! the snapshot as soon as it exists.

use std::collections::HashMap;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};

use super::tables::*;
use super::{StoreError, WriteBatch};

/// A row of a table: its key and value in redb's encoding.
pub type Row = (Vec<u8>, Vec<u8>);

/// A dump's rows by table name.
type Rows<'a> = HashMap<&'a str, Vec<(&'a [u8], &'a [u8])>>;

/// Whether `name` is one of the replica's own tables (the Raft log's and `LOCAL`), which a
/// snapshot leaves alone.
fn own_table(name: &str) -> bool {
    [
        RAFT_LOG.name(),
        RAFT_STATE.name(),
        RAFT_REPLIES.name(),
        LOCAL.name(),
    ]
    .contains(&name)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend((b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn dump_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    r: &ReadTransaction,
    def: TableDefinition<'_, K, V>,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    if own_table(def.name()) {
        return Ok(());
    }
    let t = r.open_table(def)?;
    put_bytes(out, def.name().as_bytes());
    out.extend(t.len()?.to_be_bytes());
    for row in t.iter()? {
        let (k, v) = row?;
        put_bytes(out, K::as_bytes(&k.value()).as_ref());
        put_bytes(out, V::as_bytes(&v.value()).as_ref());
    }
    Ok(())
}

/// Every table but the Raft log's, as of `r`.
pub fn all(r: &ReadTransaction) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    macro_rules! dump {
        ($($t:ident),*) => {
            $(dump_table(r, $t, &mut out)?;)*
        };
    }
    every_table!(dump);
    Ok(out)
}

/// Reads a dump into its tables' rows, by table name.
fn parse(mut b: &[u8]) -> Result<Rows<'_>, StoreError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], StoreError> {
        if b.len() < n {
            return Err(StoreError::Record("snapshot: cut short"));
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    fn bytes<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
        let n = u32::from_be_bytes(take(b, 4)?.try_into().expect("4 bytes"));
        take(b, n as usize)
    }
    let mut tables = HashMap::new();
    while !b.is_empty() {
        let name = std::str::from_utf8(bytes(&mut b)?)
            .map_err(|_| StoreError::Record("snapshot: table name"))?;
        let count = u64::from_be_bytes(take(&mut b, 8)?.try_into().expect("8 bytes"));
        let mut rows = Vec::new();
        for _ in 0..count {
            let k = bytes(&mut b)?;
            rows.push((k, bytes(&mut b)?));
        }
        if tables.insert(name, rows).is_some() {
            return Err(StoreError::Record("snapshot: a table twice"));
        }
    }
    Ok(tables)
}

/// The rows of table `name` in `dump` (from [`all`]), in key order: for comparing
/// replicas table by table.
pub fn table(dump: &[u8], name: &str) -> Result<Vec<Row>, StoreError> {
    Ok(parse(dump)?
        .remove(name)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect())
}

fn restore_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    w: &WriteBatch<'_>,
    def: TableDefinition<'_, K, V>,
    rows: &mut Rows<'_>,
) -> Result<(), StoreError> {
    if own_table(def.name()) {
        return Ok(());
    }
    let rows = rows.remove(def.name()).unwrap_or_default();
    w.txn().delete_table(def)?;
    let mut t = w.txn().open_table(def)?;
    for (k, v) in rows {
        t.insert(K::from_bytes(k), V::from_bytes(v))?;
    }
    Ok(())
}

/// Replaces every table but the Raft log's with the rows of `dump` (from [`all`]); a table
/// the dump does not name is left empty. Documents cached from before are dropped.
pub fn restore(w: &mut WriteBatch<'_>, dump: &[u8]) -> Result<(), StoreError> {
    let mut rows = parse(dump)?;
    {
        let w = &*w;
        macro_rules! restore {
            ($($t:ident),*) => {
                $(restore_table(w, $t, &mut rows)?;)*
            };
        }
        every_table!(restore);
    }
    if !rows.is_empty() {
        return Err(StoreError::Record(
            "snapshot: a table this node does not have",
        ));
    }
    w.forget_cached_docs();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, meta_get, meta_put};

    #[test]
    fn a_dump_restored_elsewhere_holds_the_same_rows_and_leaves_the_raft_tables_alone() {
        let (_a, a) = Store::temp();
        let (_b, b) = Store::temp();
        let w = a.write().unwrap();
        meta_put(&w, "serial", b"7").unwrap();
        crate::store::raft::put_entry(&w, 1, b"a's own log").unwrap();
        w.commit().unwrap();
        let w = b.write().unwrap();
        meta_put(&w, "stale", b"gone after restore").unwrap();
        crate::store::raft::put_entry(&w, 1, b"b's own log").unwrap();
        w.commit().unwrap();

        let dump = all(&a.read().unwrap()).unwrap();
        let mut w = b.write().unwrap();
        restore(&mut w, &dump).unwrap();
        w.commit().unwrap();
        let r = b.read().unwrap();
        assert_eq!(meta_get(&r, "serial").unwrap().as_deref(), Some(&b"7"[..]));
        assert_eq!(meta_get(&r, "stale").unwrap(), None);
        assert_eq!(
            crate::store::raft::entries(&r, 1..=1).unwrap(),
            vec![b"b's own log".to_vec()]
        );
        assert_eq!(
            all(&r).unwrap(),
            dump,
            "a dump of the restored store is the same"
        );
    }

    #[test]
    fn a_dump_cut_short_is_refused_and_changes_nothing() {
        let (_a, a) = Store::temp();
        let w = a.write().unwrap();
        meta_put(&w, "serial", b"7").unwrap();
        w.commit().unwrap();
        let dump = all(&a.read().unwrap()).unwrap();
        let mut w = a.write().unwrap();
        assert!(restore(&mut w, &dump[..dump.len() - 1]).is_err());
        drop(w);
        assert!(meta_get(&a.read().unwrap(), "serial").unwrap().is_some());
    }
}
