//! Content-addressed attachment blobs: SHA-256 → bytes, stored in 256 KiB chunks and
//! hash-checked on every read.

use exlic_client::seal::sha256;
use redb::{ReadableTable, WriteTransaction};

use super::StoreError;
use super::tables::*;

/// Bytes per stored chunk.
pub const CHUNK: usize = 256 * 1024;

/// Stores `bytes` under their SHA-256 (nothing is written if already present).
pub fn put(txn: &WriteTransaction, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
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
