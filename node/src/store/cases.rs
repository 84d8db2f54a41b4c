//! Authority: one case row per submitted application (who, which number and revision,
//! the review status, the latest seal, when received), its inbox summary, the index of
//! cases by status for paged inboxes, and the index of accepted seals.

use std::collections::BTreeMap;

use exlic_client::DocId;
use exlic_client::status::ApplicationStatus;
use redb::{ReadableTable, ReadableTableMetadata};

use super::tables::{CASE_SUMMARY, CASES, CASES_BY_STATUS, SUBMISSIONS, Txn};
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

/// What an inbox shows of a case besides its row: from the form of its latest revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseSummary {
    /// 出口商 name.
    pub exporter: String,
    /// 商品编码.
    pub commodity_code: String,
    /// Total quantity of the goods rows.
    pub quantity: String,
    /// Their unit (of the first row).
    pub unit: String,
    /// Total amount.
    pub amount: String,
    /// Its currency.
    pub currency: String,
}

/// Which cases of a status an inbox lists; the default lists all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// The enterprise: the start of its USCC, or part of the 出口商's name.
    pub enterprise: Option<String>,
    /// The start of the 商品编码.
    pub commodity: Option<String>,
}

impl CaseFilter {
    /// Lists every case.
    pub fn is_all(&self) -> bool {
        self.enterprise.is_none() && self.commodity.is_none()
    }

    /// Whether case `id` is one the filter lists (it reads the case and its summary).
    fn admits(&self, txn: &impl Txn, id: DocId) -> Result<bool, StoreError> {
        let sum = summary(txn, id)?.unwrap_or_default();
        if let Some(c) = &self.commodity
            && !sum.commodity_code.starts_with(c.as_str())
        {
            return Ok(false);
        }
        if let Some(e) = &self.enterprise {
            let owner = get(txn, id)?.map(|r| r.owner).unwrap_or_default();
            if !owner.starts_with(&e.to_uppercase()) && !sum.exporter.contains(e.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Stores the case of application `app`, keeping the by-status index in step.
pub fn put(w: &WriteBatch<'_>, app: DocId, row: &CaseRow) -> Result<(), StoreError> {
    let mut index = w.txn().open_table(CASES_BY_STATUS)?;
    if let Some(prior) = get(w, app)? {
        index.remove((prior.status.tag(), prior.received_ms, app.0))?;
    }
    index.insert((row.status.tag(), row.received_ms, app.0), ())?;
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

/// Stores the inbox summary of application `app`.
pub fn put_summary(w: &WriteBatch<'_>, app: DocId, s: &CaseSummary) -> Result<(), StoreError> {
    w.txn().open_table(CASE_SUMMARY)?.insert(
        app.0,
        (
            s.exporter.as_str(),
            s.commodity_code.as_str(),
            s.quantity.as_str(),
            s.unit.as_str(),
            s.amount.as_str(),
            s.currency.as_str(),
        ),
    )?;
    Ok(())
}

/// The inbox summary of application `app` (none for cases received before summaries).
pub fn summary(txn: &impl Txn, app: DocId) -> Result<Option<CaseSummary>, StoreError> {
    Ok(txn.table(CASE_SUMMARY)?.get(app.0)?.map(|v| {
        let (exporter, code, quantity, unit, amount, currency) = v.value();
        CaseSummary {
            exporter: exporter.into(),
            commodity_code: code.into(),
            quantity: quantity.into(),
            unit: unit.into(),
            amount: amount.into(),
            currency: currency.into(),
        }
    }))
}

/// One page of the cases in `status`, oldest received first: `limit` from `offset` on,
/// with how many there are in all.
pub fn page(
    txn: &impl Txn,
    status: ApplicationStatus,
    filter: &CaseFilter,
    offset: usize,
    limit: usize,
) -> Result<(u64, Vec<(DocId, CaseRow)>), StoreError> {
    let index = txn.table(CASES_BY_STATUS)?;
    let t = status.tag();
    let range = index.range((t, i64::MIN, [0u8; 16])..=(t, i64::MAX, [0xff; 16]))?;
    let mut total = 0u64;
    let mut ids = Vec::new();
    for e in range {
        let (k, _) = e?;
        let id = DocId(k.value().2);
        if !filter.is_all() && !filter.admits(txn, id)? {
            continue;
        }
        if total as usize >= offset && ids.len() < limit {
            ids.push(id);
        }
        total += 1;
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = get(txn, id)? {
            out.push((id, row));
        }
    }
    Ok((total, out))
}

/// How many cases are in each status.
pub fn counts(txn: &impl Txn) -> Result<BTreeMap<ApplicationStatus, u64>, StoreError> {
    let mut out = BTreeMap::new();
    for e in txn.table(CASES_BY_STATUS)?.iter()? {
        let (k, _) = e?;
        if let Some(s) = ApplicationStatus::from_tag(k.value().0) {
            *out.entry(s).or_insert(0) += 1;
        }
    }
    Ok(out)
}

/// Builds the by-status index from the case rows if a store from before it has none.
pub fn ensure_status_index(w: &WriteBatch<'_>) -> Result<(), StoreError> {
    let mut index = w.txn().open_table(CASES_BY_STATUS)?;
    if !index.is_empty()? {
        return Ok(());
    }
    for (id, row) in all(w)? {
        index.insert((row.status.tag(), row.received_ms, id.0), ())?;
    }
    Ok(())
}

/// Whether [`ensure_status_index`] has work to do: cases without their index (a store
/// from before it). Read-only, so an office that has it opens without a write.
pub fn needs_status_index(txn: &impl Txn) -> Result<bool, StoreError> {
    fn has_rows<T: redb::ReadableTableMetadata>(
        t: Result<T, redb::TableError>,
    ) -> Result<bool, StoreError> {
        match t {
            Ok(t) => Ok(!t.is_empty()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    Ok(!has_rows(txn.table(CASES_BY_STATUS))? && has_rows(txn.table(CASES))?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u8, status: ApplicationStatus) -> CaseRow {
        CaseRow {
            owner: format!("OWNER{n}"),
            application_no: format!("no{n}"),
            revision: 1,
            status,
            seal_hash: [n; 32],
            received_ms: 1_000 + i64::from(n),
        }
    }

    #[test]
    fn an_inbox_reads_a_page_at_a_time_and_follows_each_decision() {
        let (_dir, store) = crate::store::Store::temp();
        let initial = ApplicationStatus::PendingInitial;
        let second = ApplicationStatus::PendingSecond;
        let w = store.write().unwrap();
        // Stored out of order of receipt.
        for n in (0..120u8).rev() {
            put(&w, DocId([n; 16]), &row(n, initial)).unwrap();
        }
        for n in 0..5u8 {
            put(&w, DocId([n; 16]), &row(n, second)).unwrap();
        }
        w.commit().unwrap();
        let r = store.read().unwrap();
        let (total, page2) = page(&r, initial, &CaseFilter::default(), 50, 50).unwrap();
        assert_eq!(total, 115);
        let nos: Vec<_> = page2
            .iter()
            .map(|(_, c)| c.application_no.clone())
            .collect();
        let want: Vec<String> = (55..105).map(|n| format!("no{n}")).collect();
        assert_eq!(nos, want, "page 2, in order of receipt");
        let (_, last) = page(&r, initial, &CaseFilter::default(), 100, 50).unwrap();
        assert_eq!(last.len(), 15);
        assert_eq!(
            page(&r, second, &CaseFilter::default(), 0, 50).unwrap().0,
            5
        );
        // Filtered by the start of the USCC: OWNER11 and OWNER110–119, in order of receipt.
        let one = CaseFilter {
            enterprise: Some("owner11".into()),
            ..CaseFilter::default()
        };
        let (total, rows) = page(&r, initial, &one, 10, 50).unwrap();
        assert_eq!((total, rows.len()), (11, 1));
        assert_eq!(rows[0].1.owner, "OWNER119");
        let none = CaseFilter {
            commodity: Some("29".into()),
            ..CaseFilter::default()
        };
        assert_eq!(
            page(&r, initial, &none, 0, 50).unwrap().0,
            0,
            "no summaries here"
        );
        let c = counts(&r).unwrap();
        assert_eq!((c[&initial], c[&second]), (115, 5));
        assert!(
            !needs_status_index(&r).unwrap(),
            "indexed: opening writes nothing"
        );
        drop(r);
        // A store from before the index gets it built once.
        let w = store.write().unwrap();
        w.txn().delete_table(CASES_BY_STATUS).unwrap();
        w.commit().unwrap();
        assert!(needs_status_index(&store.read().unwrap()).unwrap());
        let w = store.write().unwrap();
        ensure_status_index(&w).unwrap();
        w.commit().unwrap();
        assert!(!needs_status_index(&store.read().unwrap()).unwrap());
        assert_eq!(counts(&store.read().unwrap()).unwrap()[&initial], 115);
    }
}
