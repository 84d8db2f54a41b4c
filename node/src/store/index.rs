//! The list rows and secondary indexes of applications, written in the same transaction
//! as the document, and the queries answered from them without loading any document.

use exlic_client::DocId;
use exlic_client::application::ApplicationSummary;
use exlic_client::status::ApplicationStatus;
use redb::{ReadableTable, ReadableTableMetadata};

use super::StoreError;
use super::tables::*;

/// A query after parsing: every filter optional; the date range is a half-open range of
/// creation instants (Unix ms), from the start of the first day to the end of the last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Created at or after (Unix ms).
    pub from: Option<i64>,
    /// Created before (Unix ms).
    pub to: Option<i64>,
    /// Status.
    pub status: Option<ApplicationStatus>,
    /// 商品编码 or a leading part of it.
    pub commodity: Option<String>,
    /// 贸易方式.
    pub trade_mode: Option<String>,
    /// 配额年度.
    pub year: Option<u16>,
    /// Any part of the 申请表号.
    pub application_no: Option<String>,
}

fn date_of(s: &ApplicationSummary) -> i64 {
    s.created_at_ms
}

fn year_of(s: &ApplicationSummary) -> Option<u16> {
    crate::domain::rules::parse_year(&s.quota_year)
}

impl Filter {
    fn matches(&self, s: &ApplicationSummary) -> bool {
        let d = date_of(s);
        self.from.is_none_or(|f| d >= f)
            && self.to.is_none_or(|t| d < t)
            && self.status.is_none_or(|st| s.status == st)
            && self
                .commodity
                .as_deref()
                .is_none_or(|c| s.commodity_code.starts_with(c))
            && self.trade_mode.as_deref().is_none_or(|t| s.trade_mode == t)
            && self.year.is_none_or(|y| year_of(s) == Some(y))
            && self
                .application_no
                .as_deref()
                .is_none_or(|n| s.application_no.as_deref().is_some_and(|a| a.contains(n)))
    }
}

/// Replaces the list row and index entries of `id` (`None` removes them).
pub fn put_summary(
    w: &super::WriteBatch<'_>,
    id: DocId,
    new: Option<&ApplicationSummary>,
) -> Result<(), StoreError> {
    let txn = w.txn();
    let mut rows = txn.open_table(SUMMARY)?;
    let old: Option<ApplicationSummary> = rows
        .get(id.0)?
        .map(|v| serde_json::from_slice(v.value()))
        .transpose()
        .map_err(|_| StoreError::Record("summary"))?;
    if old.as_ref() == new {
        return Ok(());
    }
    let mut by_date = txn.open_table(IDX_DATE)?;
    let mut by_status = txn.open_table(IDX_STATUS)?;
    let mut by_commodity = txn.open_table(IDX_COMMODITY)?;
    let mut by_trade = txn.open_table(IDX_TRADE_MODE)?;
    let mut by_year = txn.open_table(IDX_YEAR)?;
    let mut by_no = txn.open_table(IDX_APP_NO)?;
    if let Some(o) = &old {
        let d = date_of(o);
        by_date.remove((d, id.0))?;
        by_status.remove((o.status.tag(), d, id.0))?;
        by_commodity.remove((o.commodity_code.as_str(), d, id.0))?;
        by_trade.remove((o.trade_mode.as_str(), d, id.0))?;
        if let Some(y) = year_of(o) {
            by_year.remove((y, d, id.0))?;
        }
        if let Some(n) = &o.application_no {
            by_no.remove(n.as_str())?;
        }
    }
    match new {
        Some(n) => {
            let d = date_of(n);
            by_date.insert((d, id.0), ())?;
            by_status.insert((n.status.tag(), d, id.0), ())?;
            by_commodity.insert((n.commodity_code.as_str(), d, id.0), ())?;
            by_trade.insert((n.trade_mode.as_str(), d, id.0), ())?;
            if let Some(y) = year_of(n) {
                by_year.insert((y, d, id.0), ())?;
            }
            if let Some(no) = &n.application_no {
                by_no.insert(no.as_str(), id.0)?;
            }
            let bytes = serde_json::to_vec(n).expect("summary serialises");
            rows.insert(id.0, bytes.as_slice())?;
        }
        None => {
            rows.remove(id.0)?;
        }
    }
    Ok(())
}

/// The list row of `id`.
pub fn get_summary(txn: &impl Txn, id: DocId) -> Result<Option<ApplicationSummary>, StoreError> {
    let rows = txn.table(SUMMARY)?;
    rows.get(id.0)?
        .map(|v| serde_json::from_slice(v.value()))
        .transpose()
        .map_err(|_| StoreError::Record("summary"))
}

const MIN_ID: Id = [0; 16];
const MAX_ID: Id = [0xff; 16];

/// One past the last string starting with `prefix` (for range scans).
fn prefix_end(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(char::MAX);
    s
}

/// Runs a query newest-first and returns one page and how many rows match in all.
pub fn query(
    txn: &impl Txn,
    f: &Filter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<ApplicationSummary>, u64), StoreError> {
    let skip = (page.saturating_sub(1) as usize).saturating_mul(per_page as usize);
    let want = per_page as usize;
    let (from, to) = (
        f.from.unwrap_or(i64::MIN),
        f.to.map(|t| t - 1).unwrap_or(i64::MAX),
    );
    let rows = txn.table(SUMMARY)?;
    let mut out = Vec::with_capacity(want);
    // Every match is counted (the list shows its total); only the page's are kept.
    let mut seen = 0usize;
    // Visits candidate ids in index order; returns false to stop.
    let mut visit = |id: Id| -> Result<bool, StoreError> {
        let Some(v) = rows.get(id)? else {
            return Ok(true);
        };
        let s: ApplicationSummary =
            serde_json::from_slice(v.value()).map_err(|_| StoreError::Record("summary"))?;
        if !f.matches(&s) {
            return Ok(true);
        }
        seen += 1;
        if seen > skip && out.len() < want {
            out.push(s);
        }
        Ok(true)
    };
    macro_rules! scan {
        ($iter:expr, $id:expr) => {
            for entry in $iter {
                let (k, _) = entry?;
                #[allow(clippy::redundant_closure_call)]
                let id = ($id)(k.value());
                if !visit(id)? {
                    break;
                }
            }
        };
    }
    if let Some(part) = f.application_no.as_deref().filter(|p| !p.is_empty()) {
        let t = txn.table(IDX_APP_NO)?;
        for entry in t.iter()?.rev() {
            let (k, v) = entry?;
            if k.value().contains(part) && !visit(v.value())? {
                break;
            }
        }
    } else if let Some(code) = f.commodity.as_deref().filter(|c| c.len() == 10) {
        let t = txn.table(IDX_COMMODITY)?;
        scan!(
            t.range((code, from, MIN_ID)..=(code, to, MAX_ID))?.rev(),
            |k: (&str, i64, Id)| k.2
        );
    } else if let Some(st) = f.status {
        let t = txn.table(IDX_STATUS)?;
        let tag = st.tag();
        scan!(
            t.range((tag, from, MIN_ID)..=(tag, to, MAX_ID))?.rev(),
            |k: (u8, i64, Id)| k.2
        );
    } else if let Some(tm) = f.trade_mode.as_deref() {
        let t = txn.table(IDX_TRADE_MODE)?;
        scan!(
            t.range((tm, from, MIN_ID)..=(tm, to, MAX_ID))?.rev(),
            |k: (&str, i64, Id)| k.2
        );
    } else if let Some(prefix) = f.commodity.as_deref() {
        let t = txn.table(IDX_COMMODITY)?;
        let end = prefix_end(prefix);
        scan!(
            t.range((prefix, i64::MIN, MIN_ID)..(end.as_str(), i64::MIN, MIN_ID))?
                .rev(),
            |k: (&str, i64, Id)| k.2
        );
    } else if let Some(y) = f.year {
        let t = txn.table(IDX_YEAR)?;
        scan!(
            t.range((y, from, MIN_ID)..=(y, to, MAX_ID))?.rev(),
            |k: (u16, i64, Id)| k.2
        );
    } else {
        let t = txn.table(IDX_DATE)?;
        scan!(t.range((from, MIN_ID)..=(to, MAX_ID))?.rev(), |k: (
            i64,
            Id
        )| k
            .1);
    }
    Ok((out, seen as u64))
}

/// Every (id, summary) pair, for consistency checks.
pub fn all_summaries(txn: &impl Txn) -> Result<Vec<(DocId, ApplicationSummary)>, StoreError> {
    let rows = txn.table(SUMMARY)?;
    let mut out = Vec::new();
    for entry in rows.iter()? {
        let (k, v) = entry?;
        let s = serde_json::from_slice(v.value()).map_err(|_| StoreError::Record("summary"))?;
        out.push((DocId(k.value()), s));
    }
    Ok(out)
}

/// Checks that every index holds exactly the entries the list rows call for.
pub fn check_consistency(txn: &impl Txn) -> Result<Vec<String>, StoreError> {
    let rows = all_summaries(txn)?;
    let mut problems = Vec::new();
    let count = |n: u64, want: usize, name: &str, problems: &mut Vec<String>| {
        if n as usize != want {
            problems.push(format!("{name} has {n} entries, rows call for {want}"));
        }
    };
    let by_date = txn.table(IDX_DATE)?;
    let by_status = txn.table(IDX_STATUS)?;
    let by_commodity = txn.table(IDX_COMMODITY)?;
    let by_trade = txn.table(IDX_TRADE_MODE)?;
    let by_year = txn.table(IDX_YEAR)?;
    let by_no = txn.table(IDX_APP_NO)?;
    let mut years = 0;
    let mut nos = 0;
    for (id, s) in &rows {
        let d = date_of(s);
        let mut ok = by_date.get((d, id.0))?.is_some()
            && by_status.get((s.status.tag(), d, id.0))?.is_some()
            && by_commodity
                .get((s.commodity_code.as_str(), d, id.0))?
                .is_some()
            && by_trade.get((s.trade_mode.as_str(), d, id.0))?.is_some();
        if let Some(y) = year_of(s) {
            years += 1;
            ok &= by_year.get((y, d, id.0))?.is_some();
        }
        if let Some(n) = &s.application_no {
            nos += 1;
            ok &= by_no.get(n.as_str())?.is_some_and(|v| v.value() == id.0);
        }
        if !ok {
            problems.push(format!("index entries missing for {id}"));
        }
    }
    count(by_date.len()?, rows.len(), "idx_date", &mut problems);
    count(by_status.len()?, rows.len(), "idx_status", &mut problems);
    count(
        by_commodity.len()?,
        rows.len(),
        "idx_commodity",
        &mut problems,
    );
    count(by_trade.len()?, rows.len(), "idx_trade_mode", &mut problems);
    count(by_year.len()?, years, "idx_year", &mut problems);
    count(by_no.len()?, nos, "idx_app_no", &mut problems);
    Ok(problems)
}
