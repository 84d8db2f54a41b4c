//! 删证/核销 requests in storage: the request document the enterprise writes (synced to the
//! authority like any document it owns) and the per-node record of each request.
//!
//! ```text
//! document: { "type": "licence_request", "kind": "delete" | "write_off",
//!             "licence_no": str, "created_ms": int }
//! record (LICENCE_REQUESTS): v1, kind tag, licence_no, status tag, created ms, decided ms,
//!                        reason, owner USCC
//! ```

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};
use exlic_client::encoding::{Reader, Writer};

use exlic_client::DocId;
use redb::ReadableTable;

use super::tables::{LICENCE_REQUESTS, Txn};
use super::{StoreError, WriteBatch};
use crate::domain::licence_request::Kind;

/// The `type` of request documents.
pub const TYPE: &str = "licence_request";

/// What a request document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDoc {
    /// 删证 or 核销.
    pub kind: Kind,
    /// 出口许可证号.
    pub licence_no: String,
    /// When it was made (the enterprise's clock; informational).
    pub created_ms: i64,
}

/// Writes a new request document.
pub fn write(doc: &mut AutoCommit, r: &RequestDoc) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", TYPE)?;
    doc.put(ROOT, "kind", r.kind.code())?;
    doc.put(ROOT, "licence_no", r.licence_no.as_str())?;
    doc.put(ROOT, "created_ms", r.created_ms)?;
    Ok(())
}

fn str_of(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a request document; `None` for any other document.
pub fn read(doc: &AutoCommit) -> Option<RequestDoc> {
    if str_of(doc, "type").as_deref() != Some(TYPE) {
        return None;
    }
    let created_ms = match doc.get(ROOT, "created_ms").ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            _ => 0,
        },
        _ => 0,
    };
    Some(RequestDoc {
        kind: Kind::parse(&str_of(doc, "kind")?)?,
        licence_no: str_of(doc, "licence_no")?,
        created_ms,
    })
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 待审核 (on the enterprise: also while it waits to reach the authority).
    Pending,
    /// 审核通过.
    Approved,
    /// 审核不通过.
    Rejected,
}

impl Status {
    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Status::Pending),
            "approved" => Some(Status::Approved),
            "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Status::Pending => 1,
            Status::Approved => 2,
            Status::Rejected => 3,
        }
    }

    fn from_tag(t: u8) -> Option<Self> {
        match t {
            1 => Some(Status::Pending),
            2 => Some(Status::Approved),
            3 => Some(Status::Rejected),
            _ => None,
        }
    }
}

/// A node's record of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 删证 or 核销.
    pub kind: Kind,
    /// 出口许可证号.
    pub licence_no: String,
    /// Where it stands.
    pub status: Status,
    /// Made (enterprise) or received (authority), Unix ms.
    pub created_ms: i64,
    /// Decided, Unix ms (0 while pending).
    pub decided_ms: i64,
    /// The authority's reason, or why it was refused.
    pub reason: String,
    /// The enterprise (USCC).
    pub owner: String,
}

const RECORD_V1: u8 = 1;

impl Record {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(RECORD_V1)
            .u8(self.kind.tag())
            .str(&self.licence_no)
            .u8(self.status.tag())
            .i64(self.created_ms)
            .i64(self.decided_ms)
            .str(&self.reason)
            .str(&self.owner);
        w.finish()
    }

    /// Reads a record.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader::new(b);
        r.version(RECORD_V1).ok()?;
        let rec = Record {
            kind: Kind::from_tag(r.u8("kind").ok()?)?,
            licence_no: r.str("licence_no", 64).ok()?.to_owned(),
            status: Status::from_tag(r.u8("status").ok()?)?,
            created_ms: r.i64("created_ms").ok()?,
            decided_ms: r.i64("decided_ms").ok()?,
            reason: r.str("reason", 4096).ok()?.to_owned(),
            owner: r.str("owner", 64).ok()?.to_owned(),
        };
        r.end().ok()?;
        Some(rec)
    }
}

/// The record of request `id`.
pub fn get(txn: &impl Txn, id: DocId) -> Result<Option<Record>, StoreError> {
    match txn.table(LICENCE_REQUESTS)?.get(id.0)? {
        Some(v) => Ok(Some(
            Record::decode(v.value()).ok_or(StoreError::Record("licence_requests"))?,
        )),
        None => Ok(None),
    }
}

/// Stores the record of request `id`.
pub fn put(w: &WriteBatch<'_>, id: DocId, r: &Record) -> Result<(), StoreError> {
    w.txn()
        .open_table(LICENCE_REQUESTS)?
        .insert(id.0, r.encode().as_slice())?;
    Ok(())
}

/// Every request record (those that do not decode are skipped), in id order.
pub fn all(txn: &impl Txn) -> Result<Vec<(DocId, Record)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(LICENCE_REQUESTS)?.iter()? {
        let (k, v) = e?;
        if let Some(r) = Record::decode(v.value()) {
            out.push((DocId(k.value()), r));
        }
    }
    Ok(out)
}

/// Whether a request for `licence_no` waits for a decision.
pub fn open_for(txn: &impl Txn, licence_no: &str) -> Result<bool, StoreError> {
    Ok(all(txn)?
        .iter()
        .any(|(_, r)| r.licence_no == licence_no && r.status == Status::Pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_records_round_trip() {
        let r = RequestDoc {
            kind: Kind::WriteOff,
            licence_no: "26AA000001".into(),
            created_ms: 5,
        };
        let mut d = AutoCommit::new();
        write(&mut d, &r).unwrap();
        assert_eq!(read(&d), Some(r));
        assert_eq!(read(&AutoCommit::new()), None);
        let rec = Record {
            kind: Kind::Delete,
            licence_no: "26AA000001".into(),
            status: Status::Rejected,
            created_ms: 1,
            decided_ms: 2,
            reason: "配额已使用".into(),
            owner: "913502000728319549".into(),
        };
        assert_eq!(Record::decode(&rec.encode()), Some(rec));
    }
}
