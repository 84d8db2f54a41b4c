//! The office's transparency log: what it appends (each licence, standing statement,
//! device certificate and revocation, in the transaction that makes it), the checkpoint it
//! signs before that transaction commits, and what it serves — checkpoints, tiles,
//! inclusion and consistency proofs, and the entries in order for the bureau.

use std::sync::Arc;

use exlic_client::translog::{self, Entry, EntryKind, InclusionProof};

use super::AuthorityError;
use super::office::Office;
use crate::store::tlog::{self, OWN};
use crate::store::{StoreError, WriteBatch};

/// At most this many entries in one page of the log read in order.
pub const MAX_PAGE: usize = 1024;

/// The log, read side.
#[derive(Debug, Clone)]
pub struct Translog {
    pub(super) office: Arc<Office>,
}

/// One page of the log read in order, with the checkpoint it is proved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The first entry's index.
    pub from: u64,
    /// The encoded entries, from `from` on.
    pub entries: Vec<Vec<u8>>,
    /// The newest signed checkpoint (its size is at least `from + entries.len()`).
    pub checkpoint: Vec<u8>,
}

impl Translog {
    /// The log's origin (its checkpoints' first line and the key name they are signed under).
    pub fn origin(&self) -> String {
        self.office.log_origin()
    }

    /// The newest signed checkpoint, or `None` while the log is empty.
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, AuthorityError> {
        Ok(tlog::latest_checkpoint(&self.office.store.read()?, OWN)?.map(|(_, n)| n))
    }

    /// The signed checkpoint of tree `size`, if the office signed one at that size.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, AuthorityError> {
        Ok(tlog::checkpoint_at(&self.office.store.read()?, OWN, size)?)
    }

    /// The bytes of the tile a c2sp.org/tlog-tiles path names, in the tree of the newest
    /// checkpoint; `None` for a path that is not a tile of it.
    pub fn tile(&self, path: &str) -> Result<Option<Vec<u8>>, AuthorityError> {
        let Some(t) = tlog::parse_tile_path(path) else {
            return Ok(None);
        };
        let txn = self.office.store.read()?;
        let Some((size, _)) = tlog::latest_checkpoint(&txn, OWN)? else {
            return Ok(None);
        };
        Ok(tlog::tile(&txn, OWN, &t, size)?)
    }

    /// The proof that the newest entry of `kind` about `subject` (a licence number, a
    /// certificate serial) is in the tree of the newest checkpoint.
    pub fn proof(
        &self,
        kind: EntryKind,
        subject: &str,
    ) -> Result<Option<InclusionProof>, AuthorityError> {
        let txn = self.office.store.read()?;
        let Some(&index) = tlog::find(&txn, OWN, kind, subject)?.last() else {
            return Ok(None);
        };
        let Some((size, note)) = tlog::latest_checkpoint(&txn, OWN)? else {
            return Ok(None);
        };
        Ok(Some(InclusionProof {
            index,
            tree_size: size,
            hashes: tlog::prove(&txn, OWN, index, size)?,
            checkpoint: note,
        }))
    }

    /// The consistency proof from tree `old` to tree `new` (`new` at most the log's size).
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, AuthorityError> {
        let txn = self.office.store.read()?;
        if old > new || new > tlog::size(&txn, OWN)? {
            return Err(AuthorityError::bad_input(
                "size",
                format!("no tree of {new} entries to prove {old} against"),
            ));
        }
        Ok(tlog::consistency(&txn, OWN, old, new)?)
    }

    /// Up to `limit` (at most [`MAX_PAGE`]) entries from `from` on, with the newest
    /// checkpoint.
    pub fn page(&self, from: u64, limit: usize) -> Result<LogPage, AuthorityError> {
        let txn = self.office.store.read()?;
        let (size, checkpoint) = tlog::latest_checkpoint(&txn, OWN)?.unwrap_or((0, Vec::new()));
        let limit = limit.min(MAX_PAGE);
        let entries = if from < size {
            let mut e = tlog::entries(&txn, OWN, from, limit)?;
            e.truncate(usize::try_from(size - from).unwrap_or(usize::MAX));
            e
        } else {
            Vec::new()
        };
        Ok(LogPage {
            from,
            entries,
            checkpoint,
        })
    }

    /// How many entries the log holds.
    pub fn size(&self) -> Result<u64, AuthorityError> {
        Ok(tlog::size(&self.office.store.read()?, OWN)?)
    }
}

/// Appends `object` of `kind`, about `subject`, to the log in the batch's transaction.
/// The transaction must then [`sign_head`] before it commits.
pub(super) fn append(
    w: &WriteBatch<'_>,
    kind: EntryKind,
    object: &[u8],
    subject: &str,
) -> Result<u64, StoreError> {
    tlog::append(w, OWN, &Entry::new(kind, object), subject)
}

/// Signs a checkpoint of the whole log as the batch leaves it, if anything was appended
/// since the last one; returns the tree size and the signed note. Called by every
/// transaction that appended, before it commits, so nothing the office signs leaves it
/// without being in a signed tree.
pub(super) fn sign_head(
    office: &Office,
    w: &WriteBatch<'_>,
) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let size = tlog::size(w, OWN)?;
    let last = tlog::latest_checkpoint(w, OWN)?.map_or(0, |(s, _)| s);
    if size == 0 || size == last {
        return Ok(None);
    }
    let head = tlog::head(w, OWN, size)?;
    let (at, key) = office.signer();
    let note = translog::sign_checkpoint(&office.log_origin(), head, at, &key);
    tlog::put_checkpoint(w, OWN, size, &note)?;
    Ok(Some((size, note)))
}

/// The proof of entry `index` in the tree `sign_head` just signed (`size`, `note`).
pub(super) fn prove_in(
    w: &WriteBatch<'_>,
    index: u64,
    size: u64,
    note: Vec<u8>,
) -> Result<InclusionProof, StoreError> {
    Ok(InclusionProof {
        index,
        tree_size: size,
        hashes: tlog::prove(w, OWN, index, size)?,
        checkpoint: note,
    })
}

/// Whether `path` names a tile (for the HTTP layer's routing).
pub fn is_tile_path(path: &str) -> bool {
    tlog::parse_tile_path(path).is_some()
}
