//! Attachment relay between the devices of one enterprise: a blob attached on one device
//! is uploaded in the next sync round (not only when the application is reported), and a
//! device that receives an application listing an attachment it lacks fetches the bytes
//! from the authority, chunk by chunk, resumable, hash-checked before they are stored.
//!
//! Two queues, each written in the same transaction as the change that created the need:
//! `BLOB_UP` (attached here, not yet confirmed uploaded) and `BLOB_DOWN` (listed by a synced
//! document, not stored here). A download stages its chunks in `BLOB_STAGE`, one durable
//! transaction per chunk, so a dropped link resumes where it stopped.

use exlic_client::attachment::AttachmentRef;
use exlic_client::seal::sha256;

use super::{EnterpriseError, Result};
use crate::store::blobs::{self, CHUNK, Queue};
use crate::store::{StoreError, WriteBatch};

/// Queues every attachment of a synced document that this device does not hold (and that
/// is within `max_bytes`) for download.
pub(crate) fn want_missing(
    w: &WriteBatch<'_>,
    attachments: &[AttachmentRef],
    max_bytes: u64,
) -> Result<(), StoreError> {
    for a in attachments {
        let mut hash = [0u8; 32];
        if hex::decode_to_slice(&a.sha256, &mut hash).is_err() || a.size == 0 || a.size > max_bytes
        {
            continue;
        }
        if blobs::info(w, &hash)?.is_none() {
            blobs::enqueue(w, Queue::Down, hash, a.size)?;
        }
    }
    Ok(())
}

/// Attachment relay between the devices of one enterprise.
#[derive(Debug, Clone)]
pub struct BlobRelay {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl BlobRelay {
    /// Blobs attached here and not yet confirmed uploaded.
    pub fn to_upload(&self) -> Result<Vec<([u8; 32], u64)>> {
        Ok(blobs::queued(&self.device.store.read()?, Queue::Up)?)
    }

    /// The authority holds `hash`: it leaves the upload queue.
    pub fn uploaded(&self, hash: &[u8; 32]) -> Result<()> {
        let w = self.device.store.write()?;
        blobs::dequeue(&w, Queue::Up, hash)?;
        w.commit()?;
        Ok(())
    }

    /// Blobs listed by synced documents and missing here, with their sizes.
    pub fn wanted(&self) -> Result<Vec<([u8; 32], u64)>> {
        Ok(blobs::queued(&self.device.store.read()?, Queue::Down)?)
    }

    /// Where the download of `hash` resumes: the bytes already staged.
    pub fn fetch_offset(&self, hash: &[u8; 32]) -> Result<u64> {
        let (n, _) = blobs::staged(&self.device.store.read()?, hash)?;
        Ok(u64::from(n) * CHUNK as u64)
    }

    /// Stores one fetched chunk at `offset` of the blob `hash` of `size` bytes; the last
    /// one assembles the blob, checks its hash and stores it. Returns the next offset
    /// (`size` once stored). A blob whose bytes do not match its hash is discarded and
    /// fetched again from the start.
    pub fn store_chunk(
        &self,
        hash: &[u8; 32],
        size: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64> {
        let expected = (size.saturating_sub(offset)).min(CHUNK as u64);
        if !offset.is_multiple_of(CHUNK as u64) || offset >= size || bytes.len() as u64 != expected
        {
            return Err(EnterpriseError::BadInput {
                field: "blob".into(),
                message: "a chunk outside the attachment's declared size".into(),
            });
        }
        let i = (offset / CHUNK as u64) as u32;
        let w = self.device.store.write()?;
        blobs::stage(&w, hash, i, bytes)?;
        let next = offset + bytes.len() as u64;
        if next == size {
            let all = blobs::take_staged(&w, hash)?;
            if all.len() as u64 != size || sha256(&all) != *hash {
                w.commit()?; // the staged chunks are discarded
                return Err(StoreError::BlobCorrupt(hex::encode(hash)).into());
            }
            blobs::put(&w, &all)?;
            blobs::dequeue(&w, Queue::Down, hash)?;
        }
        w.commit()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use crate::enterprise::tests::{fx, open};
    use crate::store::blobs::CHUNK;

    #[test]
    fn an_attached_blob_is_queued_for_upload_until_confirmed() {
        let f = fx();
        let v = f
            .ent
            .applications
            .create(&crate::domain::rules::tests_support::seed_form())
            .unwrap();
        let a = f
            .ent
            .attachments
            .add(v.id, "a.pdf", "application/pdf", b"contract")
            .unwrap();
        let up = f.ent.blobs.to_upload().unwrap();
        assert_eq!(up.len(), 1);
        assert_eq!(hex::encode(up[0].0), a.sha256);
        assert_eq!(up[0].1, 8);
        f.ent.blobs.uploaded(&up[0].0).unwrap();
        assert!(f.ent.blobs.to_upload().unwrap().is_empty());
    }

    #[test]
    fn a_fetch_resumes_after_a_restart_and_checks_the_hash() {
        let f = fx();
        let bytes: Vec<u8> = (0..(2 * CHUNK + 100))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let hash = exlic_client::seal::sha256(&bytes);
        let size = bytes.len() as u64;
        {
            let w = f.ent.store().write().unwrap();
            crate::store::blobs::enqueue(&w, crate::store::blobs::Queue::Down, hash, size).unwrap();
            w.commit().unwrap();
        }
        // A chunk of the wrong length is refused and changes nothing.
        assert!(
            f.ent
                .blobs
                .store_chunk(&hash, size, 0, &bytes[..10])
                .is_err()
        );
        assert_eq!(f.ent.blobs.fetch_offset(&hash).unwrap(), 0);
        let next = f
            .ent
            .blobs
            .store_chunk(&hash, size, 0, &bytes[..CHUNK])
            .unwrap();
        assert_eq!(next, CHUNK as u64);
        // The link drops and the node restarts: the fetch resumes after the first chunk.
        let dir = f.dir;
        drop(f.ent);
        let ent = open(dir.path());
        let mut offset = ent.blobs.fetch_offset(&hash).unwrap();
        assert_eq!(offset, CHUNK as u64);
        while offset < size {
            let end = (offset as usize + CHUNK).min(bytes.len());
            offset = ent
                .blobs
                .store_chunk(&hash, size, offset, &bytes[offset as usize..end])
                .unwrap();
        }
        assert!(ent.replica.has_blob(&hash).unwrap());
        assert!(ent.blobs.wanted().unwrap().is_empty());

        // Bytes that do not match the hash are discarded; nothing is stored.
        let other = [9u8; 32];
        let err = ent.blobs.store_chunk(&other, 5, 0, b"abcde").unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert!(!ent.replica.has_blob(&other).unwrap());
        assert_eq!(ent.blobs.fetch_offset(&other).unwrap(), 0);
    }
}
