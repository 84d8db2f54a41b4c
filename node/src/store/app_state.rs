//! The node's record of one application: status, revision, 申请表号, dates and history.
//! Stored in `APP_STATE` in the canonical encoding of `exlic_client::encoding`.

use exlic_client::DocId;
use exlic_client::application::HistoryEntry;
use exlic_client::encoding::{DecodeError, Reader, Writer};
use exlic_client::status::ApplicationStatus;
use redb::ReadableTable;

use super::tables::{APP_STATE, Txn};
use super::{StoreError, WriteBatch};

/// Where one application stands on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    /// Status.
    pub status: ApplicationStatus,
    /// Seals made so far.
    pub revision: u32,
    /// 申请表号 once sealed.
    pub application_no: Option<String>,
    /// 许可证号 once issued.
    pub licence_no: Option<String>,
    /// 申请日期 as YYYYMMDD.
    pub application_date: u32,
    /// Creation time, Unix ms.
    pub created_at_ms: i64,
    /// Last change, Unix ms.
    pub updated_at_ms: i64,
    /// Events, oldest first.
    pub history: Vec<HistoryEntry>,
}

const VERSION: u8 = 1;
/// History entries kept per application.
pub const MAX_HISTORY: usize = 200;

fn opt(w: &mut Writer, v: &Option<String>) {
    match v {
        Some(s) => {
            w.u8(1).str(s);
        }
        None => {
            w.u8(0);
        }
    }
}

fn read_opt(r: &mut Reader<'_>, field: &'static str) -> Result<Option<String>, DecodeError> {
    Ok(match r.u8(field)? {
        0 => None,
        _ => Some(r.str(field, 256)?.to_owned()),
    })
}

impl AppState {
    /// Appends a history entry (keeping at most [`MAX_HISTORY`]). `event` is a code;
    /// `detail` is either free text (an officer's reason, as written) or, starting with
    /// `@`, language-neutral values `key=value;…` (`reason=` and `rules=` run to the end)
    /// that the UI renders in the reader's language.
    pub fn log(&mut self, at_ms: i64, event: &str, detail: impl Into<String>) {
        self.history.push(HistoryEntry {
            at_ms,
            event: event.into(),
            detail: detail.into(),
        });
        if self.history.len() > MAX_HISTORY {
            self.history.remove(0);
        }
        self.updated_at_ms = at_ms;
    }

    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION).u8(self.status.tag()).u32(self.revision);
        opt(&mut w, &self.application_no);
        opt(&mut w, &self.licence_no);
        w.u32(self.application_date)
            .i64(self.created_at_ms)
            .i64(self.updated_at_ms)
            .count(self.history.len());
        for h in &self.history {
            w.i64(h.at_ms).str(&h.event).str(&h.detail);
        }
        w.finish()
    }

    /// Decodes a record.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        if r.u8("version")? != VERSION {
            return Err(DecodeError::Invalid {
                field: "version",
                reason: "unknown",
            });
        }
        let status = ApplicationStatus::from_tag(r.u8("status")?).ok_or(DecodeError::Invalid {
            field: "status",
            reason: "unknown tag",
        })?;
        let revision = r.u32("revision")?;
        let application_no = read_opt(&mut r, "application_no")?;
        let licence_no = read_opt(&mut r, "licence_no")?;
        let application_date = r.u32("application_date")?;
        let created_at_ms = r.i64("created_at_ms")?;
        let updated_at_ms = r.i64("updated_at_ms")?;
        let n = r.count("history", 10_000, 16)?;
        let mut history = Vec::with_capacity(n);
        for _ in 0..n {
            history.push(HistoryEntry {
                at_ms: r.i64("history.at_ms")?,
                event: r.str("history.event", 64)?.to_owned(),
                detail: r.str("history.detail", 4096)?.to_owned(),
            });
        }
        r.end()?;
        Ok(Self {
            status,
            revision,
            application_no,
            licence_no,
            application_date,
            created_at_ms,
            updated_at_ms,
            history,
        })
    }
}

/// The state of application `id`, if this node holds it.
pub fn get(txn: &impl Txn, id: DocId) -> Result<Option<AppState>, StoreError> {
    match txn.table(APP_STATE)?.get(id.0)? {
        Some(v) => Ok(Some(
            AppState::decode(v.value()).map_err(|_| StoreError::Record("app_state"))?,
        )),
        None => Ok(None),
    }
}

/// Stores the state of application `id`.
pub fn put(w: &WriteBatch<'_>, id: DocId, s: &AppState) -> Result<(), StoreError> {
    w.txn()
        .open_table(APP_STATE)?
        .insert(id.0, s.encode().as_slice())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut s = AppState {
            status: ApplicationStatus::Sealed,
            revision: 2,
            application_no: Some("249999400000560600096".into()),
            licence_no: None,
            application_date: 20241211,
            created_at_ms: 1,
            updated_at_ms: 2,
            history: vec![],
        };
        s.log(3, "sealed", "revision 2");
        assert_eq!(AppState::decode(&s.encode()).unwrap(), s);
        assert!(AppState::decode(&s.encode()[..10]).is_err());
    }
}
