//! Authority: who owns each replicated document, which documents only the authority writes,
//! and each enterprise's change feed (its documents in the order they last changed).
//!
//! Feed positions are this store's own change sequence, which the enterprises' documents
//! (kept by sync with whoever is connected) advance differently on each replica of an
//! office; so the feed has an id of its own ([`epoch`]), new whenever the store's tables
//! came from elsewhere (a replica made from a copy, a snapshot installed), and a position
//! means something only with the id it was read under.

use exlic_client::DocId;
use redb::ReadableTable;

use super::tables::{AUTHORITY_DOCS, DOC_OWNER, DOC_SEQ, LOCAL, OWNER_FEED, OWNER_FEED_POS, Txn};
use super::{StoreError, WriteBatch};

/// The `LOCAL` key of this store's feed id.
const EPOCH: &str = "feed.epoch";

/// This store's feed id (0 until [`new_epoch`] gave it one).
pub fn epoch(txn: &impl Txn) -> Result<u64, StoreError> {
    Ok(txn
        .table(LOCAL)?
        .get(EPOCH)?
        .and_then(|v| v.value().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

/// Gives this store's feed a new id (never 0): positions read under the old one are
/// read from the start again.
pub fn new_epoch(w: &WriteBatch<'_>) -> Result<u64, StoreError> {
    let id = u64::from_le_bytes(crate::random::bytes::<8>()).max(1);
    w.txn()
        .open_table(LOCAL)?
        .insert(EPOCH, id.to_be_bytes().as_slice())?;
    Ok(id)
}

/// The writer recorded for a change the authority made itself.
pub const AUTHORITY_WRITER: [u8; 32] = [0; 32];

/// The enterprise (USCC, or [`super::directory_doc::PUBLIC`]) that owns `doc`.
pub fn owner(txn: &impl Txn, doc: DocId) -> Result<Option<String>, StoreError> {
    Ok(txn
        .table(DOC_OWNER)?
        .get(doc.0)?
        .map(|v| v.value().to_owned()))
}

/// Records `owner` as the owner of `doc` (a document an enterprise created).
pub fn set_owner(w: &WriteBatch<'_>, doc: DocId, owner: &str) -> Result<(), StoreError> {
    w.txn().open_table(DOC_OWNER)?.insert(doc.0, owner)?;
    Ok(())
}

/// Records `doc` as a document only the authority writes, read by `owner`.
pub fn add_authority_doc(w: &WriteBatch<'_>, doc: DocId, owner: &str) -> Result<(), StoreError> {
    set_owner(w, doc, owner)?;
    w.txn().open_table(AUTHORITY_DOCS)?.insert(doc.0, ())?;
    Ok(())
}

/// Whether only the authority writes `doc`.
pub fn is_authority_doc(txn: &impl Txn, doc: DocId) -> Result<bool, StoreError> {
    Ok(txn.table(AUTHORITY_DOCS)?.get(doc.0)?.is_some())
}

/// Moves `doc` to the head of `owner`'s feed at its current change seq, remembering which
/// device ([`AUTHORITY_WRITER`] for the authority) made the change, so that device is not
/// sent its own change back.
pub fn push(
    w: &WriteBatch<'_>,
    owner: &str,
    doc: DocId,
    writer: [u8; 32],
) -> Result<(), StoreError> {
    let seq = w
        .txn()
        .open_table(DOC_SEQ)?
        .get(doc.0)?
        .map(|v| v.value())
        .ok_or(StoreError::Record("doc_seq"))?;
    let mut pos = w.txn().open_table(OWNER_FEED_POS)?;
    let mut feed = w.txn().open_table(OWNER_FEED)?;
    if let Some(old) = pos.insert(doc.0, seq)? {
        feed.remove((owner, old.value()))?;
    }
    feed.insert((owner, seq), (doc.0, writer))?;
    Ok(())
}

/// One entry of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    /// Its position (the document's change seq).
    pub seq: u64,
    /// The document.
    pub doc: DocId,
    /// The device that made its latest change ([`AUTHORITY_WRITER`]: the authority).
    pub writer: [u8; 32],
}

/// `owner`'s feed after `cursor`, oldest first; after each entry is kept, `go_on` says
/// whether to read another.
pub fn after(
    txn: &impl Txn,
    owner: &str,
    cursor: u64,
    mut go_on: impl FnMut(&FeedEntry) -> bool,
) -> Result<Vec<FeedEntry>, StoreError> {
    let feed = txn.table(OWNER_FEED)?;
    let mut out = Vec::new();
    for entry in feed.range((owner, cursor.saturating_add(1))..=(owner, u64::MAX))? {
        let (k, v) = entry?;
        let (doc, writer) = v.value();
        let e = FeedEntry {
            seq: k.value().1,
            doc: DocId(doc),
            writer,
        };
        out.push(e);
        if !go_on(&e) {
            break;
        }
    }
    Ok(out)
}

/// The position of the newest entry in `owner`'s feed (0 if empty).
pub fn head(txn: &impl Txn, owner: &str) -> Result<u64, StoreError> {
    let feed = txn.table(OWNER_FEED)?;
    let last = feed
        .range((owner, 0)..=(owner, u64::MAX))?
        .next_back()
        .transpose()?;
    Ok(last.map(|(k, _)| k.value().1).unwrap_or(0))
}
