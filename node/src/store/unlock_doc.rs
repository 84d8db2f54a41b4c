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
