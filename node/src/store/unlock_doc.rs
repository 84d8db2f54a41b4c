//! Unlocking a locked e-key through the issuing office, as documents: the enterprise's
//! request (it owns it) and the office's signed unlock (it alone writes it, fed to that
//! enterprise).
//!
//! ```text
//! request: { "type": "ekey_unlock_request", "master_key": hex, "at_ms": int }
//! unlock:  { "type": "ekey_unlock", "object": bytes (ekey::unlock_object), "at_ms": int }
//! ```

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};

/// The request's `type`.
pub const REQUEST: &str = "ekey_unlock_request";
/// The unlock's `type`.
pub const UNLOCK: &str = "ekey_unlock";

fn scalar(doc: &AutoCommit, k: &str) -> Option<ScalarValue> {
    match doc.get(ROOT, k).ok()?? {
        (Value::Scalar(v), _) => Some(v.into_owned()),
        _ => None,
    }
}

fn kind(doc: &AutoCommit) -> Option<String> {
    match scalar(doc, "type")? {
        ScalarValue::Str(t) => Some(t.to_string()),
        _ => None,
    }
}

/// Writes a request for the e-key with public key `master_key`.
pub fn write_request(
    doc: &mut AutoCommit,
    master_key: &[u8; 32],
    at_ms: i64,
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", REQUEST)?;
    doc.put(ROOT, "master_key", hex::encode(master_key))?;
    doc.put(ROOT, "at_ms", at_ms)?;
    Ok(())
}

/// Reads a request: the e-key's public key and when it was made.
pub fn read_request(doc: &AutoCommit) -> Option<([u8; 32], i64)> {
    if kind(doc)?.as_str() != REQUEST {
        return None;
    }
    let key = match scalar(doc, "master_key")? {
        ScalarValue::Str(t) => {
            let mut k = [0u8; 32];
            hex::decode_to_slice(t.as_str(), &mut k).ok()?;
            k
        }
        _ => return None,
    };
    let at = match scalar(doc, "at_ms") {
        Some(ScalarValue::Int(i)) => i,
        _ => 0,
    };
    Some((key, at))
}

/// Writes the office's signed unlock.
pub fn write_unlock(
    doc: &mut AutoCommit,
    object: &[u8],
    at_ms: i64,
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", UNLOCK)?;
    doc.put(ROOT, "object", ScalarValue::Bytes(object.to_vec()))?;
    doc.put(ROOT, "at_ms", at_ms)?;
    Ok(())
}

/// Reads the signed unlock object.
pub fn read_unlock(doc: &AutoCommit) -> Option<Vec<u8>> {
    if kind(doc)?.as_str() != UNLOCK {
        return None;
    }
    match scalar(doc, "object")? {
        ScalarValue::Bytes(b) => Some(b),
        _ => None,
    }
}

/// Authority: the pending unlock requests, as (USCC, request document, the e-key it names).
pub fn pending(
    txn: &impl super::tables::Txn,
) -> Result<Vec<(String, exlic_client::DocId, [u8; 32])>, super::StoreError> {
    use redb::ReadableTable;
    let mut out = Vec::new();
    for e in txn.table(super::tables::UNLOCK_REQS)?.iter()? {
        let (k, v) = e?;
        let (doc, key) = v.value();
        out.push((k.value().to_owned(), exlic_client::DocId(doc), key));
    }
    Ok(out)
}

/// Authority: records the enterprise's pending unlock request.
pub fn set_pending(
    w: &super::WriteBatch<'_>,
    uscc: &str,
    doc: exlic_client::DocId,
    key: [u8; 32],
) -> Result<(), super::StoreError> {
    w.txn()
        .open_table(super::tables::UNLOCK_REQS)?
        .insert(uscc, (doc.0, key))?;
    Ok(())
}

/// Authority: takes the enterprise's pending request away; false if there was none.
pub fn take_pending(w: &super::WriteBatch<'_>, uscc: &str) -> Result<bool, super::StoreError> {
    Ok(w.txn()
        .open_table(super::tables::UNLOCK_REQS)?
        .remove(uscc)?
        .is_some())
}
