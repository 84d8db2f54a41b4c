//! 企业信息维护 in storage: the enterprise's proposed profile (a document it owns, random
//! id, synced like its other documents) and the authority's acceptance (a document only
//! the authority writes, fed to that enterprise).
//!
//! ```text
//! proposal: { "type": "profile", "json": EnterpriseProfile as JSON, "proposed_ms": int }
//! accepted: { "type": "profile_ack", "json": EnterpriseProfile as JSON, "accepted_ms": int }
//! ```

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};
use exlic_client::profile::EnterpriseProfile;

/// The proposal's `type`.
pub const PROPOSAL: &str = "profile";
/// The acceptance's `type`.
pub const ACCEPTED: &str = "profile_ack";

/// Writes a profile document of `kind` (`PROPOSAL` or `ACCEPTED`) stamped `at_ms`.
pub fn write(
    doc: &mut AutoCommit,
    kind: &str,
    p: &EnterpriseProfile,
    at_ms: i64,
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", kind)?;
    doc.put(
        ROOT,
        "json",
        serde_json::to_string(p).expect("profile serialises"),
    )?;
    doc.put(ROOT, "at_ms", at_ms)?;
    Ok(())
}

/// Reads a profile document of `kind`: the profile and its time.
pub fn read(doc: &AutoCommit, kind: &str) -> Option<(EnterpriseProfile, i64)> {
    let get = |k: &str| doc.get(ROOT, k).ok().flatten();
    let s = |k: &str| match get(k)? {
        (Value::Scalar(v), _) => match v.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    };
    if s("type").as_deref() != Some(kind) {
        return None;
    }
    let at = match get("at_ms") {
        Some((Value::Scalar(v), _)) => match v.as_ref() {
            ScalarValue::Int(i) => *i,
            _ => 0,
        },
        _ => 0,
    };
    Some((serde_json::from_str(&s("json")?).ok()?, at))
}

/// Authority: the enterprise's latest proposal document.
pub fn proposal_of(
    txn: &impl super::tables::Txn,
    uscc: &str,
) -> Result<Option<exlic_client::DocId>, super::StoreError> {
    use redb::ReadableTable;
    Ok(txn
        .table(super::tables::PROFILE_PROPOSALS)?
        .get(uscc)?
        .map(|v| exlic_client::DocId(v.value())))
}

/// Authority: remembers `doc` as the enterprise's latest proposal.
pub fn set_proposal(
    w: &super::WriteBatch<'_>,
    uscc: &str,
    doc: exlic_client::DocId,
) -> Result<(), super::StoreError> {
    w.txn()
        .open_table(super::tables::PROFILE_PROPOSALS)?
        .insert(uscc, doc.0)?;
    Ok(())
}

/// Authority: the acceptance document it writes for the enterprise.
pub fn acceptance_of(
    txn: &impl super::tables::Txn,
    uscc: &str,
) -> Result<Option<exlic_client::DocId>, super::StoreError> {
    use redb::ReadableTable;
    Ok(txn
        .table(super::tables::PROFILE_ACK)?
        .get(uscc)?
        .map(|v| exlic_client::DocId(v.value())))
}

/// Authority: remembers `doc` as the acceptance document for the enterprise.
pub fn set_acceptance(
    w: &super::WriteBatch<'_>,
    uscc: &str,
    doc: exlic_client::DocId,
) -> Result<(), super::StoreError> {
    w.txn()
        .open_table(super::tables::PROFILE_ACK)?
        .insert(uscc, doc.0)?;
    Ok(())
}
