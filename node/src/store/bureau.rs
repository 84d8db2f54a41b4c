//! The bureau's records: the offices it follows (with how far it has read and co-signed
//! each one's log), the alarms its monitors raised, every licence number of every office,
//! and licences issued per office and day.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::tables::{
    BUREAU_ALARMS, BUREAU_DAILY, BUREAU_LICENCE_ROWS, BUREAU_LICENCES, BUREAU_OFFICES,
    BUREAU_SEARCH, Txn,
};
use super::{StoreError, WriteBatch};

/// An office the bureau follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeRow {
    /// Its agency code (its log is `exlic.office/<agency>`).
    pub agency: String,
    /// Its name.
    pub name: String,
    /// Its identity key (hex): the root of its key chain and its libp2p peer.
    pub root_key: String,
    /// Its libp2p addresses.
    pub addrs: Vec<String>,
    /// Its key rollover records as last received, oldest first (hex).
    #[serde(default)]
    pub key_records: Vec<String>,
    /// The size of the newest of its checkpoints the bureau co-signed.
    #[serde(default)]
    pub cosigned: u64,
    /// That checkpoint's signed note (with the co-signature).
    #[serde(default)]
    pub cosigned_note: String,
    /// When the bureau last read its log (bureau clock, ms; 0 never).
    #[serde(default)]
    pub last_read_ms: i64,
    /// Set when a monitor found the log forked or its checkpoint false: the bureau stops
    /// reading and co-signing it until an administrator looks.
    #[serde(default)]
    pub halted: String,
}

/// An alarm a monitor raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// Its number (1, 2, …).
    pub seq: u64,
    /// When (bureau clock, ms).
    pub at_ms: i64,
    /// The office it is about.
    pub office: u32,
    /// `fork`, `duplicate_licence_no`, `bad_checkpoint`, `bad_entry`, `bad_licence`,
    /// `bad_standing`, `licence_not_logged`.
    pub kind: String,
    /// What was seen, language-neutral (`@key=value;…`: `ui::detail_parts` renders it
    /// through the catalogue's `bureau.detail.…`).
    pub detail: String,
}

impl Alarm {
    /// The catalogue key of the words its detail is shown in.
    pub fn detail_template(&self) -> String {
        let variant = match self.kind.as_str() {
            "fork" if self.detail.contains("cosigned=") => "fork_shrank",
            "bad_checkpoint" if self.detail.contains("held=") => "bad_checkpoint_short",
            k => k,
        };
        format!("bureau.detail.{variant}")
    }
}

/// Every office, by number.
pub fn offices(txn: &impl Txn) -> Result<Vec<(u32, OfficeRow)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(BUREAU_OFFICES)?.iter()? {
        let (k, v) = e?;
        let row =
            serde_json::from_slice(v.value()).map_err(|_| StoreError::Record("bureau_offices"))?;
        out.push((k.value(), row));
    }
    Ok(out)
}

/// Office `id`.
pub fn office(txn: &impl Txn, id: u32) -> Result<Option<OfficeRow>, StoreError> {
    match txn.table(BUREAU_OFFICES)?.get(id)? {
        Some(v) => Ok(Some(
            serde_json::from_slice(v.value()).map_err(|_| StoreError::Record("bureau_offices"))?,
        )),
        None => Ok(None),
    }
}

/// Stores office `id`.
pub fn put_office(w: &WriteBatch<'_>, id: u32, row: &OfficeRow) -> Result<(), StoreError> {
    let json = serde_json::to_vec(row).map_err(|_| StoreError::Record("bureau_offices"))?;
    w.txn()
        .open_table(BUREAU_OFFICES)?
        .insert(id, json.as_slice())?;
    Ok(())
}

/// The number the next office gets (from 1; 0 is an office's own log).
pub fn next_office_id(txn: &impl Txn) -> Result<u32, StoreError> {
    Ok(txn
        .table(BUREAU_OFFICES)?
        .last()?
        .map_or(1, |(k, _)| k.value() + 1))
}

/// Raises an alarm.
pub fn raise(
    w: &WriteBatch<'_>,
    at_ms: i64,
    office: u32,
    kind: &str,
    detail: &str,
) -> Result<u64, StoreError> {
    let mut t = w.txn().open_table(BUREAU_ALARMS)?;
    let seq = t.last()?.map_or(1, |(k, _)| k.value() + 1);
    t.insert(seq, (at_ms, office, kind, detail))?;
    Ok(seq)
}

/// Every alarm, newest first.
pub fn alarms(txn: &impl Txn) -> Result<Vec<Alarm>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(BUREAU_ALARMS)?.iter()?.rev() {
        let (k, v) = e?;
        let (at_ms, office, kind, detail) = v.value();
        out.push(Alarm {
            seq: k.value(),
            at_ms,
            office,
            kind: kind.to_owned(),
            detail: detail.to_owned(),
        });
    }
    Ok(out)
}

/// Records licence `no` at entry `index` of office `office`'s log; returns where else the
/// same number was already seen.
pub fn add_licence(
    w: &WriteBatch<'_>,
    no: &str,
    office: u32,
    index: u64,
) -> Result<Vec<(u32, u64)>, StoreError> {
    let before = licence(w, no)?;
    w.txn()
        .open_table(BUREAU_LICENCES)?
        .insert((no, office, index), ())?;
    Ok(before)
}

/// Where licence `no` is: (office, entry index), for every office that logged it.
pub fn licence(txn: &impl Txn, no: &str) -> Result<Vec<(u32, u64)>, StoreError> {
    let mut out = Vec::new();
    for e in txn
        .table(BUREAU_LICENCES)?
        .range((no, 0, 0)..=(no, u32::MAX, u64::MAX))?
    {
        let (k, _) = e?;
        let (_, office, index) = k.value();
        out.push((office, index));
    }
    Ok(out)
}

/// A licence as the national view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceRow {
    /// 许可证号.
    pub licence_no: String,
    /// The exporter's 统一社会信用代码.
    pub enterprise_uscc: String,
    /// The exporter's name.
    pub enterprise_name: String,
    /// 商品编码.
    pub commodity_code: String,
    /// 商品名称.
    pub commodity_name: String,
    /// When the office signed it, Unix ms.
    pub issued_at_ms: i64,
}

/// What the national view searches by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchBy {
    /// The start of the exporter's USCC.
    Enterprise = 1,
    /// The start of the commodity code.
    Commodity = 2,
}

/// Keeps licence `row` of entry `index` of office `office` for the national view.
pub fn put_licence_row(
    w: &WriteBatch<'_>,
    office: u32,
    index: u64,
    row: &LicenceRow,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(row).map_err(|_| StoreError::Record("bureau_licence_rows"))?;
    w.txn()
        .open_table(BUREAU_LICENCE_ROWS)?
        .insert((office, index), bytes.as_slice())?;
    let mut t = w.txn().open_table(BUREAU_SEARCH)?;
    t.insert(
        (
            SearchBy::Enterprise as u8,
            row.enterprise_uscc.as_str(),
            office,
            index,
        ),
        (),
    )?;
    t.insert(
        (
            SearchBy::Commodity as u8,
            row.commodity_code.as_str(),
            office,
            index,
        ),
        (),
    )?;
    Ok(())
}

/// The licence of entry `index` of office `office`, if one is kept.
pub fn licence_row(
    txn: &impl Txn,
    office: u32,
    index: u64,
) -> Result<Option<LicenceRow>, StoreError> {
    txn.table(BUREAU_LICENCE_ROWS)?
        .get((office, index))?
        .map(|v| {
            serde_json::from_slice(v.value()).map_err(|_| StoreError::Record("bureau_licence_rows"))
        })
        .transpose()
}

/// A licence found: (office number, entry index, the licence).
pub type Found = (u32, u64, LicenceRow);

/// Up to `limit` licences whose `by` starts with `prefix` (in code order, then office and
/// entry), and whether more match.
pub fn search(
    txn: &impl Txn,
    by: SearchBy,
    prefix: &str,
    limit: usize,
) -> Result<(Vec<Found>, bool), StoreError> {
    let t = txn.table(BUREAU_SEARCH)?;
    let mut out = Vec::new();
    for e in t.range((by as u8, prefix, 0, 0)..)? {
        let (k, _) = e?;
        let (tag, value, office, index) = k.value();
        if tag != by as u8 || !value.starts_with(prefix) {
            break;
        }
        if out.len() == limit {
            return Ok((out, true));
        }
        if let Some(row) = licence_row(txn, office, index)? {
            out.push((office, index, row));
        }
    }
    Ok((out, false))
}

/// Counts one licence of office `office` issued on China day `day` (YYYYMMDD).
pub fn count_day(w: &WriteBatch<'_>, day: u32, office: u32) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(BUREAU_DAILY)?;
    let n = t.get((day, office))?.map_or(0, |v| v.value());
    t.insert((day, office), n + 1)?;
    Ok(())
}

/// Licences issued on a day (YYYYMMDD) by an office: ((day, office), count).
pub type DayCount = ((u32, u32), u64);

/// Licences issued per (day, office), from day `from` on.
pub fn daily(txn: &impl Txn, from: u32) -> Result<Vec<DayCount>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(BUREAU_DAILY)?.range((from, 0)..)? {
        let (k, v) = e?;
        out.push((k.value(), v.value()));
    }
    Ok(out)
}
