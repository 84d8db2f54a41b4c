//! Authority: the append-only audit trail of staff and enterprise actions.

use exlic_client::DocId;
use redb::ReadableTable;

use super::tables::{AUDIT, Txn};
use super::{StoreError, WriteBatch};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number (append-only).
    pub seq: u64,
    /// When, Unix ms (authority clock).
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// Which case (all zero for actions on no case).
    pub subject: DocId,
    /// What.
    pub action: String,
    /// Details.
    pub detail: String,
}

/// Appends an entry: `actor` did `action` on `subject` (all zeros: on no case) at `at_ms`.
pub fn append(
    w: &WriteBatch<'_>,
    at_ms: i64,
    actor: &str,
    subject: DocId,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(AUDIT)?;
    let seq = t.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
    t.insert(seq, (at_ms, actor, subject.0, action, detail))?;
    Ok(())
}

/// The newest `limit` entries, newest first, about `subject` if given.
pub fn newest(
    txn: &impl Txn,
    subject: Option<DocId>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(AUDIT)?.iter()?.rev() {
        if out.len() >= limit {
            break;
        }
        let (k, v) = e?;
        let (at_ms, actor, id, action, detail) = v.value();
        if subject.is_some_and(|s| s.0 != id) {
            continue;
        }
        out.push(AuditEntry {
            seq: k.value(),
            at_ms,
            actor: actor.to_owned(),
            subject: DocId(id),
            action: action.to_owned(),
            detail: detail.to_owned(),
        });
    }
    Ok(out)
}

/// Every entry, oldest first, as `(at_ms, action)` (for the dashboard's daily figures).
pub fn actions(txn: &impl Txn) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(AUDIT)?.iter()? {
        let (_, v) = e?;
        let (at_ms, _, _, action, _) = v.value();
        out.push((at_ms, action.to_owned()));
    }
    Ok(out)
}
