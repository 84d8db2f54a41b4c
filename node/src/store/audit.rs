//! The append-only audit trail of every node's people: who did what, when, to which case.
//!
//! An action is stored as a code (`report`, `review.second.approve`, …: [`CODES`]) and its
//! detail either as free text or, for what the node writes itself, language-neutral values
//! (`@revision=2`, `@result=ok;from=127.0.0.1`); the UI renders both in the reader's
//! language (`ui::audit_line`). Rows written before codes carry a name instead;
//! [`code_of`] reads them as their code.

use exlic_client::DocId;
use redb::{ReadableTable, ReadableTableMetadata};

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

/// Every action code a node writes, for the catalogue check (each has `audit.<code>` in
/// both languages, and `audit.<code>.detail` where its detail is structured).
pub const CODES: &[&str] = &[
    // Everyone: signing in and out.
    "login",
    "logout",
    "account",
    "seal.confirm",
    "seal.refused",
    // The enterprise's operators (the gate, by route).
    "create",
    "save",
    "delete_draft",
    "copy",
    "attach",
    "detach",
    "seal",
    "report",
    "unseal",
    "licence_request",
    "cert_request",
    "profile",
    "unlock_request",
    "refused",
    "other",
    // The office.
    "review.initial.approve",
    "review.initial.reject",
    "review.second.approve",
    "review.second.reject",
    "licence_request.delete",
    "licence_request.write_off",
    "licence_request.delete.approve",
    "licence_request.delete.reject",
    "licence_request.write_off.approve",
    "licence_request.write_off.reject",
    "reference.publish",
    "key.rotate",
    "profile.accept",
    "directory.publish",
    "unlock.grant",
    "invite",
    // Customs.
    "declaration.reserve",
    "declaration.confirm",
    "declaration.cancel",
    "declaration.adjust",
];

/// The code of a stored action: itself, or for a row written before codes, the code its
/// name stands for.
pub fn code_of(action: &str) -> &str {
    match action {
        "sign-in" => "login",
        "seal confirmation" => "seal.confirm",
        "seal refused" => "seal.refused",
        "新增申请" => "create",
        "暂存" => "save",
        "删除草稿" => "delete_draft",
        "复制为新申请" => "copy",
        "上传附件" => "attach",
        "删除附件" => "detach",
        "退出" => "logout",
        "保存并盖章" => "seal",
        "上报" => "report",
        "退回暂存" => "unseal",
        "删证/核销申请" => "licence_request",
        "手机证书授权" => "cert_request",
        "企业信息维护" => "profile",
        "电子钥匙解锁申请" => "unlock_request",
        "其他操作" => "other",
        "初审通过" => "review.initial.approve",
        "初审不予通过" => "review.initial.reject",
        "复审通过" => "review.second.approve",
        "复审不予通过" => "review.second.reject",
        "删证申请" => "licence_request.delete",
        "核销申请" => "licence_request.write_off",
        "删证申请 审核通过" => "licence_request.delete.approve",
        "删证申请 审核不通过" => "licence_request.delete.reject",
        "核销申请 审核通过" => "licence_request.write_off.approve",
        "核销申请 审核不通过" => "licence_request.write_off.reject",
        "参考数据发布" => "reference.publish",
        "密钥轮换" => "key.rotate",
        "企业信息维护 accepted" => "profile.accept",
        "办事指南/联系方式" => "directory.publish",
        "电子钥匙解锁" => "unlock.grant",
        other => other,
    }
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
        let row = v.value();
        if subject.is_some_and(|s| s.0 != row.2) {
            continue;
        }
        out.push(entry(k.value(), row));
    }
    Ok(out)
}

/// A stored row as an entry.
fn entry(
    seq: u64,
    (at_ms, actor, id, action, detail): (i64, &str, [u8; 16], &str, &str),
) -> AuditEntry {
    AuditEntry {
        seq,
        at_ms,
        actor: actor.to_owned(),
        subject: DocId(id),
        action: action.to_owned(),
        detail: detail.to_owned(),
    }
}

/// One page of the trail, newest first: `limit` entries after the newest `offset`, and
/// how many entries there are in all.
pub fn newest_page(
    txn: &impl Txn,
    offset: usize,
    limit: usize,
) -> Result<(Vec<AuditEntry>, u64), StoreError> {
    let t = txn.table(AUDIT)?;
    let total = t.len()?;
    let mut out = Vec::with_capacity(limit);
    for e in t.iter()?.rev().skip(offset).take(limit) {
        let (k, v) = e?;
        out.push(entry(k.value(), v.value()));
    }
    Ok((out, total))
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
