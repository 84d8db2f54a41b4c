//! Content-addressed attachment blobs: SHA-256 → bytes, stored in 256 KiB chunks and
//! hash-checked on every read; transfers staged chunk by chunk until complete; which
//! enterprises uploaded a blob (authority); and the upload and download queues
//! (enterprise).

use exlic_client::seal::sha256;
use redb::{ReadableTable, WriteTransaction};

use super::tables::*;
use super::{StoreError, WriteBatch};

/// Bytes per stored chunk.
pub const CHUNK: usize = 256 * 1024;

/// Stores `bytes` under their SHA-256 (nothing is written if already present).
pub fn put(w: &WriteBatch<'_>, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    put_in(w.txn(), bytes)
}

/// [`put`] inside the store.
pub(super) fn put_in(txn: &WriteTransaction, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    let hash = sha256(bytes);
    let mut info = txn.open_table(BLOB_INFO)?;
    if info.get(hash)?.is_some() {
        return Ok(hash);
    }
    let mut chunks = txn.open_table(BLOB_CHUNK)?;
    let mut n = 0u32;
    for (i, c) in bytes.chunks(CHUNK).enumerate() {
        chunks.insert((hash, i as u32), c)?;
        n += 1;
    }
    info.insert(hash, (bytes.len() as u64, n))?;
    Ok(hash)
}

/// Size and chunk count of a stored blob.
pub fn info(txn: &impl Txn, hash: &[u8; 32]) -> Result<Option<(u64, u32)>, StoreError> {
    let info = txn.table(BLOB_INFO)?;
    Ok(info.get(*hash)?.map(|v| v.value()))
}

/// The whole blob, verified against its hash; `None` if not stored.
pub fn get(txn: &impl Txn, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
    let Some((size, n)) = info(txn, hash)? else {
        return Ok(None);
    };
    let chunks = txn.table(BLOB_CHUNK)?;
    let mut out = Vec::with_capacity(size as usize);
    for i in 0..n {
        let c = chunks
            .get((*hash, i))?
            .ok_or_else(|| StoreError::BlobCorrupt(hex::encode(hash)))?;
        out.extend_from_slice(c.value());
    }
    if out.len() as u64 != size || sha256(&out) != *hash {
        return Err(StoreError::BlobCorrupt(hex::encode(hash)));
    }
    Ok(Some(out))
}

/// Stored chunk `i` of blob `hash` (chunks of [`CHUNK`] bytes).
pub fn chunk(txn: &impl Txn, hash: &[u8; 32], i: u32) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(BLOB_CHUNK)?
        .get((*hash, i))?
        .map(|v| v.value().to_vec()))
}

/// The chunks of a transfer of `hash` staged so far, in order: `(count, bytes)` of the
/// unbroken run from chunk 0.
pub fn staged(txn: &impl Txn, hash: &[u8; 32]) -> Result<(u32, u64), StoreError> {
    let stage = txn.table(BLOB_STAGE)?;
    let (mut n, mut bytes) = (0u32, 0u64);
    while let Some(c) = stage.get((*hash, n))? {
        bytes += c.value().len() as u64;
        n += 1;
    }
    Ok((n, bytes))
}

/// Stages chunk `i` of a transfer of `hash`.
pub fn stage(w: &WriteBatch<'_>, hash: &[u8; 32], i: u32, bytes: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(BLOB_STAGE)?.insert((*hash, i), bytes)?;
    Ok(())
}

/// Takes every staged chunk of `hash` out of staging, joined in order.
pub fn take_staged(w: &WriteBatch<'_>, hash: &[u8; 32]) -> Result<Vec<u8>, StoreError> {
    let mut stage = w.txn().open_table(BLOB_STAGE)?;
    let mut all = Vec::new();
    for c in stage.range((*hash, 0)..=(*hash, u32::MAX))? {
        all.extend_from_slice(c?.1.value());
    }
    stage.retain_in((*hash, 0)..=(*hash, u32::MAX), |_, _| false)?;
    Ok(all)
}

/// Authority: whether enterprise `uscc` uploaded `hash` (proving it holds the bytes).
pub fn uploaded_by(txn: &impl Txn, hash: &[u8; 32], uscc: &str) -> Result<bool, StoreError> {
    Ok(txn.table(BLOB_OWNER)?.get((*hash, uscc))?.is_some())
}

/// Authority: records that enterprise `uscc` uploaded `hash`.
pub fn add_uploader(w: &WriteBatch<'_>, hash: &[u8; 32], uscc: &str) -> Result<(), StoreError> {
    w.txn().open_table(BLOB_OWNER)?.insert((*hash, uscc), ())?;
    Ok(())
}

/// Enterprise: which transfer queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Attached here, not yet confirmed uploaded.
    Up,
    /// Listed by a synced document, not held here.
    Down,
}

impl Queue {
    fn table(self) -> redb::TableDefinition<'static, [u8; 32], u64> {
        match self {
            Queue::Up => BLOB_UP,
            Queue::Down => BLOB_DOWN,
        }
    }
}

/// Enterprise: the blobs in `queue`, with their sizes.
pub fn queued(txn: &impl Txn, queue: Queue) -> Result<Vec<([u8; 32], u64)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(queue.table())?.iter()? {
        let (k, v) = e?;
        out.push((k.value(), v.value()));
    }
    Ok(out)
}

/// Enterprise: whether `hash` is in `queue`.
pub fn is_queued(txn: &impl Txn, queue: Queue, hash: &[u8; 32]) -> Result<bool, StoreError> {
    Ok(txn.table(queue.table())?.get(hash)?.is_some())
}

/// Enterprise: puts `hash` of `size` bytes in `queue`.
pub fn enqueue(
    w: &WriteBatch<'_>,
    queue: Queue,
    hash: [u8; 32],
    size: u64,
) -> Result<(), StoreError> {
    w.txn().open_table(queue.table())?.insert(hash, size)?;
    Ok(())
}

/// Enterprise: takes `hash` out of `queue`.
pub fn dequeue(w: &WriteBatch<'_>, queue: Queue, hash: &[u8; 32]) -> Result<(), StoreError> {
    w.txn().open_table(queue.table())?.remove(*hash)?;
    Ok(())
}
