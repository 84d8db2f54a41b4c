//! The authority's public document: 发证机构联系方式 and 办事指南, and the chain of its
//! key rollover records. One per authority, written only by it, readable by every enrolled
//! enterprise. Its id is derived from the office's root key, so both sides agree.
//!
//! ```text
//! { "type": "directory", "json": the `exlic_client::directory::Directory` as JSON,
//!   "keys": [ signed `KeyRecord`, oldest first ],
//!   "reference": the newest signed `ReferenceRelease` (bytes) }
//! ```
//! The authority is the only writer, so each part is one value; a later edit replaces it.
//! The key records need no trust in the carrier: each must be signed by the key before it;
//! nor does the reference release, which must be signed by a key of that chain.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};
use exlic_client::DocId;
use exlic_client::directory::Directory;

/// The `type` of the directory document.
pub const TYPE: &str = "directory";

/// The owner recorded for documents every enterprise may read (never an USCC).
pub const PUBLIC: &str = "*";

/// The directory document's id for the office whose identity (root) key is `root`: each
/// office has its own, so an enterprise that syncs with several offices holds each one's
/// directory, keys and reference release apart.
pub fn id(root: &[u8; 32]) -> DocId {
    let mut input = b"exlic/directory/v2/".to_vec();
    input.extend_from_slice(root);
    let h = exlic_client::seal::sha256(&input);
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[..16]);
    DocId(id)
}

/// The id every office's directory had before ids were per office (one office per
/// enterprise): an office still holding it moves it to [`id`] when it opens.
pub fn legacy_id() -> DocId {
    let h = exlic_client::seal::sha256(b"exlic/directory/v1");
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[..16]);
    DocId(id)
}

/// Writes the directory.
pub fn write(doc: &mut AutoCommit, d: &Directory) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", TYPE)?;
    doc.put(
        ROOT,
        "json",
        serde_json::to_string(d).expect("directory serialises"),
    )?;
    Ok(())
}

/// Reads it; `None` for another document or unreadable content.
pub fn read(doc: &AutoCommit) -> Option<Directory> {
    let s = |k: &str| match doc.get(ROOT, k).ok()?? {
        (Value::Scalar(v), _) => match v.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    };
    if s("type").as_deref() != Some(TYPE) {
        return None;
    }
    serde_json::from_str(&s("json")?).ok()
}

/// Writes the key rollover records (the whole chain, oldest first).
pub fn write_keys(
    doc: &mut AutoCommit,
    records: &[Vec<u8>],
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", TYPE)?;
    let list = doc.put_object(ROOT, "keys", automerge::ObjType::List)?;
    for (i, r) in records.iter().enumerate() {
        doc.insert(&list, i, ScalarValue::Bytes(r.clone()))?;
    }
    Ok(())
}

/// The key rollover records, oldest first (empty if none).
pub fn read_keys(doc: &AutoCommit) -> Vec<Vec<u8>> {
    let Ok(Some((Value::Object(automerge::ObjType::List), list))) = doc.get(ROOT, "keys") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i).ok()?? {
            (Value::Scalar(v), _) => match v.as_ref() {
                ScalarValue::Bytes(b) => Some(b.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Writes the newest signed reference release.
pub fn write_reference(
    doc: &mut AutoCommit,
    signed: &[u8],
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", TYPE)?;
    doc.put(ROOT, "reference", ScalarValue::Bytes(signed.to_vec()))?;
    Ok(())
}

/// The newest signed reference release, if one was published.
pub fn read_reference(doc: &AutoCommit) -> Option<Vec<u8>> {
    match doc.get(ROOT, "reference").ok()?? {
        (Value::Scalar(v), _) => match v.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}
