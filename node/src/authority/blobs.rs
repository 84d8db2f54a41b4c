//! Attachment uploads from enterprises, chunk by chunk and resumable, hash-checked before
//! they are stored; a blob is served back only to an enterprise that uploaded it (proving
//! it holds the bytes).

use std::sync::Arc;

use exlic_client::protocol::{BLOB_CHUNK as WIRE_CHUNK, ErrorCode, Response};
use exlic_client::seal::sha256;

use super::command::{Op, Outcome};
use super::office::Office;
use super::{AuthorityError, Handled};
use crate::store::{StoreError, WriteBatch, blobs};

const _: () = assert!(blobs::CHUNK == WIRE_CHUNK);
/// Attachment transfers.
#[derive(Debug, Clone)]
pub struct Blobs {
    pub(super) office: Arc<Office>,
}

impl Blobs {
    /// The refusal for a declared size outside 1 byte to the attachment limit.
    fn size_refused(&self, size: u64) -> Option<Handled> {
        let max = self.office.info.attachment_max_bytes;
        (size == 0 || size > max).then(|| {
            Handled::refuse(
                ErrorCode::BadRequest,
                format!("attachments are 1 to {max} bytes"),
            )
        })
    }

    pub(super) fn status(
        &self,
        e: &str,
        hash: [u8; 32],
        size: u64,
    ) -> Result<Handled, AuthorityError> {
        if let Some(refusal) = self.size_refused(size) {
            return Ok(refusal);
        }
        let txn = self.office.store.read()?;
        // Only an enterprise that uploaded a blob learns that it is here; anyone else must
        // upload the bytes (proving it holds them) like a new blob.
        let owned = blobs::uploaded_by(&txn, &hash, e)?;
        if owned && blobs::info(&txn, &hash)?.is_some_and(|(have, _)| have == size) {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        let (_, received) = blobs::staged(&txn, &hash)?;
        Ok(Handled::ok(Response::BlobHave {
            received: received.min(size),
        }))
    }

    pub(super) fn put(
        &self,
        e: &str,
        hash: [u8; 32],
        size: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Handled, AuthorityError> {
        if let Some(refusal) = self.size_refused(size) {
            return Ok(refusal);
        }
        let expected_len = (size - offset.min(size)).min(WIRE_CHUNK as u64);
        if offset >= size || bytes.len() as u64 != expected_len {
            return Ok(Handled::violation("blob chunk outside the declared size"));
        }
        // A blob this enterprise holds here already is answered without a write.
        if blobs::uploaded_by(&self.office.store.read()?, &hash, e)? {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        // Every replica keeps every chunk: a submission naming the blob may be applied by
        // any of them.
        let done = self.office.run(Op::BlobChunk {
            enterprise: e.to_owned(),
            sha256: hash,
            size,
            offset,
            bytes: bytes.to_vec(),
        })?;
        done.into_handled()
    }

    pub(super) fn get(
        &self,
        e: &str,
        hash: [u8; 32],
        offset: u64,
    ) -> Result<Handled, AuthorityError> {
        let txn = self.office.store.read()?;
        let owned = blobs::uploaded_by(&txn, &hash, e)?;
        let Some((size, _)) = blobs::info(&txn, &hash)?.filter(|_| owned) else {
            return Ok(Handled::refuse(ErrorCode::NotFound, "no such attachment"));
        };
        if offset >= size {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "offset past the end",
            ));
        }
        let i = (offset / WIRE_CHUNK as u64) as u32;
        let bytes =
            blobs::chunk(&txn, &hash, i)?.ok_or(StoreError::BlobCorrupt(hex::encode(hash)))?;
        Ok(Handled::ok(Response::BlobData {
            size,
            offset,
            bytes,
        }))
    }
}

/// Stores one chunk of blob `hash` (`size` bytes) from enterprise `e` at `offset`, checked
/// against the declared size already (see [`Blobs::put`]); the answer for the enterprise.
/// The last chunk assembles the blob and checks its hash; a mismatch discards the chunks.
pub(super) fn apply_chunk(
    w: &mut WriteBatch<'_>,
    e: &str,
    (hash, size, offset): ([u8; 32], u64, u64),
    bytes: &[u8],
) -> Result<Outcome, AuthorityError> {
    let answer = |r: Response| Ok(Outcome::Answered { answer: r.encode() });
    if blobs::uploaded_by(w, &hash, e)? {
        return answer(Response::BlobHave { received: size });
    }
    let chunk = (offset / WIRE_CHUNK as u64) as u32;
    if chunk > blobs::staged(w, &hash)?.0 {
        return answer(Response::error(
            ErrorCode::BadRequest,
            "send chunks in order",
        ));
    }
    blobs::stage(w, &hash, chunk, bytes)?;
    let received = offset + bytes.len() as u64;
    if received == size {
        // Assemble, verify, and move out of staging.
        let all = blobs::take_staged(w, &hash)?;
        if all.len() as u64 != size || sha256(&all) != hash {
            // The staged chunks stay discarded.
            return answer(Response::error(
                ErrorCode::BlobMismatch,
                "the uploaded bytes do not match their hash",
            ));
        }
        blobs::put(w, &all)?; // a no-op when another enterprise uploaded it first
        blobs::add_uploader(w, &hash, e)?;
    }
    answer(Response::BlobHave { received })
}
