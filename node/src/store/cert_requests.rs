//! Enterprise: its device-certificate requests (手机证书授权), oldest first, with where each
//! stands and the authority's answer.

use exlic_client::cert_request::RequestKind;
use redb::ReadableTable;

use super::tables::{CERT_REQUESTS, Txn};
use super::{StoreError, WriteBatch};

/// Status of a certificate request on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// 已提交: waiting for the authority.
    Submitted = 1,
    /// 证书已签发 / 已完成.
    Issued = 2,
    /// Refused by the authority.
    Refused = 3,
    /// 请求待提交: signed, waiting for the user's 提交/确认提交 before it is sent.
    PendingSubmit = 4,
}

/// One row of the request history (请求时间, 请求类型, 手机号码, 请求状态…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Position.
    pub seq: u64,
    /// Type.
    pub kind: RequestKind,
    /// The (new) number.
    pub mobile: String,
    /// The replaced number.
    pub old_mobile: String,
    /// When made, Unix ms.
    pub created_ms: i64,
    /// Where it stands.
    pub status: RequestStatus,
    /// The authority's answer, if refused.
    pub outcome: String,
    /// The signed request.
    pub signed: Vec<u8>,
}

fn kind_of(v: u8) -> RequestKind {
    match v {
        2 => RequestKind::NumberChange,
        3 => RequestKind::DeviceChange,
        4 => RequestKind::Renew,
        5 => RequestKind::Revoke,
        _ => RequestKind::New,
    }
}

fn status_of(v: u8) -> RequestStatus {
    match v {
        2 => RequestStatus::Issued,
        3 => RequestStatus::Refused,
        4 => RequestStatus::PendingSubmit,
        _ => RequestStatus::Submitted,
    }
}

fn decode(seq: u64, v: (u8, &str, &str, i64, u8, &[u8], &str)) -> RequestRow {
    let (kind, mobile, old, created, status, signed, outcome) = v;
    RequestRow {
        seq,
        kind: kind_of(kind),
        mobile: mobile.into(),
        old_mobile: old.into(),
        created_ms: created,
        status: status_of(status),
        outcome: outcome.into(),
        signed: signed.to_vec(),
    }
}

fn put(w: &WriteBatch<'_>, r: &RequestRow) -> Result<(), StoreError> {
    w.txn().open_table(CERT_REQUESTS)?.insert(
        r.seq,
        (
            r.kind as u8,
            r.mobile.as_str(),
            r.old_mobile.as_str(),
            r.created_ms,
            r.status as u8,
            r.signed.as_slice(),
            r.outcome.as_str(),
        ),
    )?;
    Ok(())
}

/// Request `seq`.
pub fn get(txn: &impl Txn, seq: u64) -> Result<Option<RequestRow>, StoreError> {
    Ok(txn
        .table(CERT_REQUESTS)?
        .get(seq)?
        .map(|v| decode(seq, v.value())))
}

/// Every request, oldest first.
pub fn all(txn: &impl Txn) -> Result<Vec<RequestRow>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(CERT_REQUESTS)?.iter()? {
        let (k, v) = e?;
        out.push(decode(k.value(), v.value()));
    }
    Ok(out)
}

/// Appends a request after the last one; its `seq` is set here and returned.
pub fn append(w: &WriteBatch<'_>, mut r: RequestRow) -> Result<RequestRow, StoreError> {
    r.seq = w
        .txn()
        .open_table(CERT_REQUESTS)?
        .last()?
        .map(|(k, _)| k.value() + 1)
        .unwrap_or(1);
    put(w, &r)?;
    Ok(r)
}

/// Rewrites request `seq` with a new status (and outcome, when given).
pub fn set_status(
    w: &WriteBatch<'_>,
    seq: u64,
    status: RequestStatus,
    outcome: Option<&str>,
) -> Result<(), StoreError> {
    let mut r = get(w, seq)?.ok_or(StoreError::Record("cert_requests"))?;
    r.status = status;
    if let Some(o) = outcome {
        r.outcome = o.to_owned();
    }
    put(w, &r)
}
