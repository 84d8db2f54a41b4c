//! The append-only audit trail of every node's people: who did what, when, to which case.
//!
//! An action is stored as a code (`report`, `review.second.approve`, …: [`codes`]) and its
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

/// The action codes every node writes: signing in and out, accounts.
pub const EVERYONE: &[&str] = &["login", "logout", "account"];

/// The codes an enterprise node writes (its operators, the gate by route).
pub const ENTERPRISE: &[&str] = &[
    "seal.confirm",
    "seal.refused",
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
];

/// The codes an office writes.
pub const OFFICE: &[&str] = &[
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
];

/// The codes a customs node writes.
pub const CUSTOMS: &[&str] = &[
    "declaration.reserve",
    "declaration.confirm",
    "declaration.cancel",
    "declaration.adjust",
];

/// Every action code a node writes, for the catalogue check (each has `audit.<code>` in
/// both languages, and `audit.<code>.detail` where its detail is structured).
pub fn codes() -> impl Iterator<Item = &'static str> {
    [EVERYONE, ENTERPRISE, OFFICE, CUSTOMS]
        .into_iter()
        .flatten()
        .copied()
}

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

/// Which entries a reader asks for; the default asks for all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Part of the actor's name, any case.
    pub actor: Option<String>,
    /// An action code ([`codes`]); a row written before codes matches by [`code_of`].
    pub action: Option<String>,
    /// From this moment (Unix ms, inclusive).
    pub from_ms: Option<i64>,
    /// Before this moment (Unix ms, exclusive).
    pub until_ms: Option<i64>,
}

impl Filter {
    /// Asks for every entry.
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a stored row is one the reader asks for.
    fn admits(&self, at_ms: i64, actor: &str, action: &str) -> bool {
        self.from_ms.is_none_or(|f| at_ms >= f)
            && self.until_ms.is_none_or(|u| at_ms < u)
            && self.action.as_deref().is_none_or(|a| code_of(action) == a)
            && self
                .actor
                .as_deref()
                .is_none_or(|a| actor.to_lowercase().contains(&a.to_lowercase()))
    }
}

/// One page of the trail, newest first: of the entries `filter` admits, `limit` after
/// the newest `offset`, and how many it admits in all.
pub fn newest_page(
    txn: &impl Txn,
    filter: &Filter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<AuditEntry>, u64), StoreError> {
    let t = txn.table(AUDIT)?;
    let mut out = Vec::with_capacity(limit);
    if filter.is_all() {
        for e in t.iter()?.rev().skip(offset).take(limit) {
            let (k, v) = e?;
            out.push(entry(k.value(), v.value()));
        }
        return Ok((out, t.len()?));
    }
    let mut total = 0u64;
    for e in t.iter()?.rev() {
        let (k, v) = e?;
        let row = v.value();
        if !filter.admits(row.0, row.1, row.3) {
            continue;
        }
        if total as usize >= offset && out.len() < limit {
            out.push(entry(k.value(), row));
        }
        total += 1;
    }
    Ok((out, total))
}

/// The entries from `since_ms` on, newest first, as `(at_ms, action)` (for the dashboard's
/// daily figures). The trail is read from its end and no further back than an hour before
/// `since_ms` (entries are appended in time order; the hour allows for a clock that was
/// set back a little), so the cost follows the period, not the trail's length.
pub fn actions_since(txn: &impl Txn, since_ms: i64) -> Result<Vec<(i64, String)>, StoreError> {
    const SLACK_MS: i64 = 3_600_000;
    let mut out = Vec::new();
    for e in txn.table(AUDIT)?.iter()?.rev() {
        let (_, v) = e?;
        let (at_ms, _, _, action, _) = v.value();
        if at_ms < since_ms.saturating_sub(SLACK_MS) {
            break;
        }
        if at_ms >= since_ms {
            out.push((at_ms, action.to_owned()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_pages_what_it_admits_and_counts_all_of_it() {
        let (_dir, store) = crate::store::Store::temp();
        let w = store.write().unwrap();
        for i in 0..30i64 {
            let (actor, action) = match i % 3 {
                0 => ("Officer Li", "review.initial.approve"),
                1 => ("admin", "login"),
                // Written before codes: its name stands for `review.initial.approve`.
                _ => ("officer wang", "初审通过"),
            };
            append(&w, i * 1_000, actor, DocId([0; 16]), action, "").unwrap();
        }
        w.commit().unwrap();
        let r = store.read().unwrap();
        let recent = actions_since(&r, 27_000).unwrap();
        assert_eq!(
            recent.iter().map(|a| a.0).collect::<Vec<_>>(),
            [29_000, 28_000, 27_000],
            "only the period asked for, newest first"
        );
        let (all, total) = newest_page(&r, &Filter::default(), 0, 5).unwrap();
        assert_eq!((all.len(), total, all[0].seq), (5, 30, 30));

        let approvals = Filter {
            action: Some("review.initial.approve".into()),
            ..Filter::default()
        };
        let (page, total) = newest_page(&r, &approvals, 15, 10).unwrap();
        assert_eq!(total, 20, "coded and named rows alike");
        assert_eq!(page.len(), 5, "the last page holds what is left");

        let officer_li_early = Filter {
            actor: Some("officer li".into()),
            from_ms: Some(3_000),
            until_ms: Some(12_000),
            ..Filter::default()
        };
        let (page, total) = newest_page(&r, &officer_li_early, 0, 10).unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
            [9_000, 6_000, 3_000],
            "newest first, the start inclusive, the end exclusive"
        );
    }
}
