//! Automerge documents on disk: a snapshot plus incremental change chunks, and the change
//! sequence that records which document changed when.

use automerge::AutoCommit;
use exlic_client::DocId;
use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::StoreError;
use super::tables::*;

/// Loads a document from its snapshot and chunks; `None` if it does not exist.
pub fn load(txn: &impl Txn, id: DocId) -> Result<Option<AutoCommit>, StoreError> {
    let info = txn.table(DOC_INFO)?;
    if info.get(id.0)?.is_none() {
        return Ok(None);
    }
    let snaps = txn.table(DOC_SNAPSHOT)?;
    let damaged = |e: automerge::AutomergeError| StoreError::Document(id, e.to_string());
    let snapshot = snaps.get(id.0)?;
    let chunks = txn.table(DOC_CHUNK)?;
    let mut stored: Vec<u8> = snapshot
        .as_ref()
        .map(|s| s.value().to_vec())
        .unwrap_or_default();
    for entry in chunks.range((id.0, 0)..=(id.0, u64::MAX))? {
        stored.extend_from_slice(entry?.1.value());
    }
    // One load of the snapshot and every chunk after it applies all changes in one batch,
    // much cheaper than one incremental load per chunk; the per-chunk path remains for a
    // file whose chunks do not load together (a chunk whose dependencies come later).
    if let Ok(doc) = AutoCommit::load(&stored) {
        return Ok(Some(doc));
    }
    let mut doc = match snapshot {
        Some(s) => AutoCommit::load(s.value()).map_err(damaged)?,
        None => AutoCommit::new(),
    };
    for entry in chunks.range((id.0, 0)..=(id.0, u64::MAX))? {
        let (_, v) = entry?;
        doc.load_incremental(v.value()).map_err(damaged)?;
    }
    Ok(Some(doc))
}

/// Registers a new document of `kind`.
pub fn create(txn: &WriteTransaction, id: DocId, kind: u8) -> Result<(), StoreError> {
    let mut info = txn.open_table(DOC_INFO)?;
    info.insert(id.0, (kind, 0u32, 0u64))?;
    Ok(())
}

/// Changes the kind tag of an existing document.
pub fn set_kind(w: &super::WriteBatch<'_>, id: DocId, kind: u8) -> Result<(), StoreError> {
    let txn = w.txn();
    let mut info = txn.open_table(DOC_INFO)?;
    let (_, count, next) = info
        .get(id.0)?
        .map(|v| v.value())
        .ok_or(StoreError::Record("doc_info"))?;
    info.insert(id.0, (kind, count, next))?;
    Ok(())
}

/// The highest change seq recorded (0 if none).
pub fn head_seq(txn: &impl Txn) -> Result<u64, StoreError> {
    let changes = txn.table(CHANGES)?;
    Ok(changes.last()?.map(|(k, _)| k.value()).unwrap_or(0))
}

/// How many documents are held (all kinds).
pub fn count(txn: &impl Txn) -> Result<u64, StoreError> {
    Ok(txn.table(DOC_INFO)?.len()?)
}

/// The kind tag of a document, if it exists.
pub fn kind(txn: &impl Txn, id: DocId) -> Result<Option<u8>, StoreError> {
    let info = txn.table(DOC_INFO)?;
    Ok(info.get(id.0)?.map(|v| v.value().0))
}

/// Appends a change chunk; returns the document's chunk count after it.
pub fn append_chunk(txn: &WriteTransaction, id: DocId, chunk: &[u8]) -> Result<u32, StoreError> {
    let mut info = txn.open_table(DOC_INFO)?;
    let (kind, count, next) = info
        .get(id.0)?
        .map(|v| v.value())
        .ok_or(StoreError::Record("doc_info"))?;
    let mut chunks = txn.open_table(DOC_CHUNK)?;
    chunks.insert((id.0, next), chunk)?;
    info.insert(id.0, (kind, count + 1, next + 1))?;
    Ok(count + 1)
}

/// Replaces a document's snapshot and chunks with one new snapshot.
pub fn replace_with_snapshot(
    txn: &WriteTransaction,
    id: DocId,
    snapshot: &[u8],
) -> Result<(), StoreError> {
    let mut info = txn.open_table(DOC_INFO)?;
    let (kind, _, next) = info
        .get(id.0)?
        .map(|v| v.value())
        .ok_or(StoreError::Record("doc_info"))?;
    let mut chunks = txn.open_table(DOC_CHUNK)?;
    chunks.retain_in((id.0, 0)..=(id.0, u64::MAX), |_, _| false)?;
    let mut snaps = txn.open_table(DOC_SNAPSHOT)?;
    snaps.insert(id.0, snapshot)?;
    info.insert(id.0, (kind, 0u32, next))?;
    Ok(())
}

/// Number of change chunks a document has beyond its snapshot.
pub fn chunk_count(txn: &impl Txn, id: DocId) -> Result<u32, StoreError> {
    let info = txn.table(DOC_INFO)?;
    Ok(info.get(id.0)?.map(|v| v.value().1).unwrap_or(0))
}

/// Moves document `id` to the head of the change sequence; returns its new seq.
pub fn record_change(txn: &WriteTransaction, id: DocId) -> Result<u64, StoreError> {
    let seq = super::meta_get(txn, "next_seq")?
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(1);
    let mut doc_seq = txn.open_table(DOC_SEQ)?;
    let mut changes = txn.open_table(CHANGES)?;
    if let Some(old) = doc_seq.insert(id.0, seq)? {
        changes.remove(old.value())?;
    }
    changes.insert(seq, id.0)?;
    txn.open_table(META)?
        .insert("next_seq", (seq + 1).to_be_bytes().as_slice())?;
    Ok(seq)
}

/// The documents changed after `since`, oldest change first, at most `limit`.
pub fn changed_since(
    txn: &impl Txn,
    since: u64,
    limit: usize,
) -> Result<Vec<(u64, DocId)>, StoreError> {
    let changes = txn.table(CHANGES)?;
    let mut out = Vec::new();
    for entry in changes.range(since + 1..)?.take(limit) {
        let (k, v) = entry?;
        out.push((k.value(), DocId(v.value())));
    }
    Ok(out)
}
