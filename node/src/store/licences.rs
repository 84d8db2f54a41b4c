//! Signed e-licences by 许可证号 (both roles), each licence's standing (valid, deleted,
//! written off) as this node knows it, and the office's signed statement of it.

use std::collections::BTreeMap;

use exlic_client::licence::Licence;
use redb::ReadableTable;

use super::tables::{LICENCE_PROOFS, LICENCE_STATE, LICENCES, STANDINGS, Txn};
use super::{StoreError, WriteBatch};
use crate::domain::licence_request::Standing;

/// The signed licence `no`.
pub fn file(txn: &impl Txn, no: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn.table(LICENCES)?.get(no)?.map(|v| v.value().to_vec()))
}

/// The licence `no`, decoded from its signed file without checking the signature (the
/// file was checked when it was stored).
pub fn get(txn: &impl Txn, no: &str) -> Result<Option<Licence>, StoreError> {
    Ok(file(txn, no)?.and_then(|f| {
        exlic_client::signed::peek(&f)
            .ok()
            .and_then(|p| Licence::decode(p).ok())
    }))
}

/// Every signed licence, in number order.
pub fn all(txn: &impl Txn) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(LICENCES)?.iter()? {
        let (k, v) = e?;
        out.push((k.value().to_owned(), v.value().to_vec()));
    }
    Ok(out)
}

/// A licence in a list: its number, its signed file and its standing.
pub type ListedLicence = (String, Vec<u8>, Standing);

/// One page of the licences whose number contains `part`, newest number first: `limit`
/// after the newest `offset`, each with its standing, and how many such licences there
/// are in all (only the page's files are read).
pub fn newest_page(
    txn: &impl Txn,
    part: &str,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ListedLicence>, u64), StoreError> {
    let mut out = Vec::with_capacity(limit);
    let mut total = 0u64;
    for e in txn.table(LICENCES)?.iter()?.rev() {
        let (k, v) = e?;
        let no = k.value();
        if !no.contains(part) {
            continue;
        }
        if total as usize >= offset && out.len() < limit {
            out.push((no.to_owned(), v.value().to_vec(), standing(txn, no)?));
        }
        total += 1;
    }
    Ok((out, total))
}

/// The inclusion proof of licence `no` in its office's log, as the office sent it.
pub fn proof(txn: &impl Txn, no: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(LICENCE_PROOFS)?
        .get(no)?
        .map(|v| v.value().to_vec()))
}

/// Keeps the inclusion proof of licence `no`.
pub fn put_proof(w: &WriteBatch<'_>, no: &str, proof: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(LICENCE_PROOFS)?.insert(no, proof)?;
    Ok(())
}

/// Stores the signed licence `no`.
pub fn put(w: &WriteBatch<'_>, no: &str, file: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(LICENCES)?.insert(no, file)?;
    Ok(())
}

/// The standing of licence `no` (valid unless recorded otherwise).
pub fn standing(txn: &impl Txn, no: &str) -> Result<Standing, StoreError> {
    Ok(txn
        .table(LICENCE_STATE)?
        .get(no)?
        .map(|v| Standing::from_tag(v.value()))
        .unwrap_or(Standing::Valid))
}

/// Every recorded standing other than the default.
pub fn standings(txn: &impl Txn) -> Result<BTreeMap<String, Standing>, StoreError> {
    let mut out = BTreeMap::new();
    for e in txn.table(LICENCE_STATE)?.iter()? {
        let (k, v) = e?;
        out.insert(k.value().to_owned(), Standing::from_tag(v.value()));
    }
    Ok(out)
}

/// Records the standing of licence `no`.
pub fn set_standing(w: &WriteBatch<'_>, no: &str, standing: Standing) -> Result<(), StoreError> {
    w.txn()
        .open_table(LICENCE_STATE)?
        .insert(no, standing.tag())?;
    Ok(())
}

/// The office's signed standing statement of licence `no`, if this node holds one.
pub fn statement(txn: &impl Txn, no: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn.table(STANDINGS)?.get(no)?.map(|v| v.value().to_vec()))
}

/// Stores the signed standing statement of licence `no` (replacing an older one).
pub fn put_statement(w: &WriteBatch<'_>, no: &str, signed: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(STANDINGS)?.insert(no, signed)?;
    Ok(())
}
