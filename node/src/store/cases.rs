//! Authority: one case row per submitted application (who, which number and revision,
//! the review status, the latest seal, when received) and the index of accepted seals.

use exlic_client::DocId;
use exlic_client::status::ApplicationStatus;
use redb::{ReadableTable, ReadableTableMetadata};

use super::tables::{CASES, SUBMISSIONS, Txn};
use super::{StoreError, WriteBatch};

/// An application's case at the authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// The enterprise (USCC) that submitted it.
    pub owner: String,
    /// Its 申请表号.
    pub application_no: String,
    /// The revision under review.
    pub revision: u32,
    /// Where the review stands.
    pub status: ApplicationStatus,
    /// The hash of the seal of that revision.
    pub seal_hash: [u8; 32],
    /// When that revision was received, Unix ms.
    pub received_ms: i64,
}

fn decode(v: (&str, &str, u32, u8, [u8; 32], i64)) -> Result<CaseRow, StoreError> {
    let (owner, no, revision, status, seal_hash, received_ms) = v;
    Ok(CaseRow {
        owner: owner.to_owned(),
        application_no: no.to_owned(),
        revision,
        status: ApplicationStatus::from_tag(status).ok_or(StoreError::Record("cases"))?,
        seal_hash,
        received_ms,
    })
}

/// The case of application `app`.
pub fn get(txn: &impl Txn, app: DocId) -> Result<Option<CaseRow>, StoreError> {
    match txn.table(CASES)?.get(app.0)? {
        Some(v) => Ok(Some(decode(v.value())?)),
        None => Ok(None),
    }
}

/// Stores the case of application `app`.
pub fn put(w: &WriteBatch<'_>, app: DocId, row: &CaseRow) -> Result<(), StoreError> {
    w.txn().open_table(CASES)?.insert(
        app.0,
        (
            row.owner.as_str(),
            row.application_no.as_str(),
            row.revision,
            row.status.tag(),
            row.seal_hash,
            row.received_ms,
        ),
    )?;
    Ok(())
}

/// Every case, in application-id order.
pub fn all(txn: &impl Txn) -> Result<Vec<(DocId, CaseRow)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(CASES)?.iter()? {
        let (k, v) = e?;
        out.push((DocId(k.value()), decode(v.value())?));
    }
    Ok(out)
}

/// Records an accepted submission: its seal hash names `app` at `revision`.
pub fn put_submission(
    w: &WriteBatch<'_>,
    seal_hash: [u8; 32],
    app: DocId,
    revision: u32,
) -> Result<(), StoreError> {
    w.txn()
        .open_table(SUBMISSIONS)?
        .insert(seal_hash, (app.0, revision))?;
    Ok(())
}

/// How many submissions were accepted.
pub fn submission_count(txn: &impl Txn) -> Result<u64, StoreError> {
    Ok(txn.table(SUBMISSIONS)?.len()?)
}
