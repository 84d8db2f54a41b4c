//! The attachment transfers of a session, as small state machines of their own: blobs
//! going up (each asks where to resume, then sends chunks) and blobs coming down (chunk by
//! chunk from where the staged bytes end, hash-checked by the store before they count).

use std::collections::VecDeque;

use exlic_client::protocol::{BLOB_CHUNK, ErrorCode, Request, Response};

use super::{Answer, SessionError};
use crate::enterprise::Enterprise;

/// One blob going up: asks where to resume, then sends chunks.
#[derive(Debug)]
struct Upload {
    hash: [u8; 32],
    size: u64,
    asked: bool,
}

impl Upload {
    fn new((hash, size): ([u8; 32], u64)) -> Self {
        Self {
            hash,
            size,
            asked: false,
        }
    }

    /// The next request, given the answer to the last one; `None` when uploaded.
    fn step(
        &mut self,
        ent: &Enterprise,
        answer: Option<Answer>,
    ) -> Result<Option<Request>, SessionError> {
        let offset = match answer {
            None => {
                return Ok(Some(Request::BlobStatus {
                    sha256: self.hash,
                    size: self.size,
                }));
            }
            Some(Ok(Response::BlobHave { received })) => {
                if std::mem::replace(&mut self.asked, true) {
                    received
                } else {
                    received - received % BLOB_CHUNK as u64
                }
            }
            Some(Ok(_)) => return Err(SessionError::Unexpected),
            Some(Err((code, m))) => return Err(SessionError::Refused(code, m)),
        };
        if offset >= self.size {
            return Ok(None);
        }
        Ok(Some(Request::BlobPut {
            sha256: self.hash,
            size: self.size,
            offset,
            bytes: ent.replica.blob_chunk(&self.hash, offset)?,
        }))
    }
}

/// Blobs going up, one after another.
#[derive(Debug)]
pub(super) struct Uploads {
    queue: VecDeque<([u8; 32], u64)>,
    current: Option<Upload>,
    /// Record each finished blob as uploaded (the attachment relay's queue); a delivery's
    /// uploads only have to be there before its seal.
    mark_uploaded: bool,
}

impl Uploads {
    /// Uploads of `blobs` (hash, size), in order.
    pub(super) fn new(
        blobs: impl IntoIterator<Item = ([u8; 32], u64)>,
        mark_uploaded: bool,
    ) -> Self {
        Self {
            queue: blobs.into_iter().collect(),
            current: None,
            mark_uploaded,
        }
    }

    /// Whether every blob is up.
    pub(super) fn done(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// The next request, given the answer to the last one; `None` when all are up.
    pub(super) fn step(
        &mut self,
        ent: &Enterprise,
        mut answer: Option<Answer>,
    ) -> Result<Option<Request>, SessionError> {
        loop {
            if self.current.is_none() {
                match self.queue.pop_front() {
                    Some(next) => self.current = Some(Upload::new(next)),
                    None => return Ok(None),
                }
            }
            let u = self.current.as_mut().expect("set above");
            if let Some(r) = u.step(ent, answer.take())? {
                return Ok(Some(r));
            }
            if self.mark_uploaded {
                ent.blobs.uploaded(&u.hash)?;
            }
            self.current = None;
        }
    }
}

/// Blobs coming down: (hash, size) still to fetch, and the one in flight with its offset.
#[derive(Debug)]
pub(super) struct Fetches {
    queue: VecDeque<([u8; 32], u64)>,
    current: Option<([u8; 32], u64, u64)>,
}

impl Fetches {
    /// Fetches of `blobs` (hash, size), in order.
    pub(super) fn new(blobs: impl IntoIterator<Item = ([u8; 32], u64)>) -> Self {
        Self {
            queue: blobs.into_iter().collect(),
            current: None,
        }
    }

    /// The next request, given the answer to the last one; `None` when the queue is done.
    /// A blob the authority does not hold, or whose bytes fail, is left for a later round.
    pub(super) fn step(
        &mut self,
        ent: &Enterprise,
        mut answer: Option<Answer>,
    ) -> Result<Option<Request>, SessionError> {
        loop {
            let (hash, size, offset) = match self.current.take() {
                Some(c) => c,
                None => {
                    let Some((hash, size)) = self.queue.pop_front() else {
                        return Ok(None);
                    };
                    (hash, size, ent.blobs.fetch_offset(&hash)?)
                }
            };
            let offset = match answer.take() {
                None => offset,
                Some(Ok(Response::BlobData {
                    size: s,
                    offset: o,
                    bytes,
                })) if s == size && o == offset => {
                    match ent.blobs.store_chunk(&hash, size, offset, &bytes) {
                        Ok(next) => next,
                        Err(err) => {
                            // Bytes that fail their hash, or a local failure: the store
                            // kept or discarded the staged part; a later round retries.
                            tracing::warn!(blob = %hex::encode(hash), %err, "attachment fetch stopped");
                            continue;
                        }
                    }
                }
                Some(Ok(Response::BlobData { size: s, .. })) => {
                    tracing::warn!(blob = %hex::encode(hash), listed = size, held = s, "attachment size differs from its listing; not fetched");
                    continue;
                }
                Some(Ok(_)) => return Err(SessionError::Unexpected),
                Some(Err((ErrorCode::NotFound, _))) => continue,
                Some(Err((c, m))) => return Err(SessionError::Refused(c, m)),
            };
            if offset < size {
                self.current = Some((hash, size, offset));
                return Ok(Some(Request::BlobGet {
                    sha256: hash,
                    offset,
                }));
            }
        }
    }
}
