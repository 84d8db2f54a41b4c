//! The office's transparency log: what it appends (each licence, standing statement,
//! device certificate and revocation, in the transaction that makes it), the checkpoint it
//! signs before that transaction commits, and what it serves — checkpoints, tiles,
//! inclusion and consistency proofs, and the entries in order for the bureau.

use std::sync::Arc;

use exlic_client::protocol::{ErrorCode, Response, TileRef};
use exlic_client::translog::{self, Entry, EntryKind, InclusionProof, Witness};
use tlog_tiles::Tile;

use super::office::Office;
use super::{AuthorityError, Handled};
use crate::store::tlog::{self, OWN};
use crate::store::{StoreError, WriteBatch, key_records, meta_get, meta_put};

/// `META`: the supervising bureau's key (32 bytes), the one peer that may read the log.
const META_BUREAU_KEY: &str = "bureau.key";
/// `META`: the bureau's name (its co-signatures are under `exlic.bureau/<name>`).
const META_BUREAU_NAME: &str = "bureau.name";
/// `META`: the size of the newest checkpoint the bureau co-signed.
const META_COSIGNED: &str = "tlog.cosigned";

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

    /// Registers the supervising bureau: its key (the peer it syncs as) and its name.
    pub fn set_bureau(&self, key: [u8; 32], name: &str) -> Result<(), AuthorityError> {
        if name.is_empty() || !signed_note::is_key_name_valid(&translog::witness_name(name)) {
            return Err(AuthorityError::bad_input(
                "name",
                "the bureau's name must be non-empty, without spaces or '+'",
            ));
        }
        if ed25519_dalek::VerifyingKey::from_bytes(&key).is_err() {
            return Err(AuthorityError::bad_input(
                "key",
                "not an Ed25519 public key",
            ));
        }
        let w = self.office.store.write()?;
        meta_put(&w, META_BUREAU_KEY, &key)?;
        meta_put(&w, META_BUREAU_NAME, name.as_bytes())?;
        w.commit()?;
        Ok(())
    }

    /// The registered bureau, as a witness verifiers may require.
    pub fn bureau(&self) -> Result<Option<Witness>, AuthorityError> {
        let txn = self.office.store.read()?;
        let key = meta_get(&txn, META_BUREAU_KEY)?.and_then(|k| <[u8; 32]>::try_from(k).ok());
        let name = meta_get(&txn, META_BUREAU_NAME)?.and_then(|n| String::from_utf8(n).ok());
        Ok(key.zip(name).map(|(key, name)| Witness {
            name: translog::witness_name(&name),
            key,
        }))
    }

    /// The size of the newest checkpoint the bureau co-signed (0 if none).
    pub fn cosigned_size(&self) -> Result<u64, AuthorityError> {
        Ok(meta_get(&self.office.store.read()?, META_COSIGNED)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// The proof of the newest entry of `kind` about `subject` into the newest checkpoint
    /// the bureau co-signed, if that checkpoint covers it.
    pub fn witnessed_proof(
        &self,
        kind: EntryKind,
        subject: &str,
    ) -> Result<Option<InclusionProof>, AuthorityError> {
        let size = self.cosigned_size()?;
        let txn = self.office.store.read()?;
        let Some(&index) = tlog::find(&txn, OWN, kind, subject)?.last() else {
            return Ok(None);
        };
        if index >= size {
            return Ok(None);
        }
        let Some(note) = tlog::checkpoint_at(&txn, OWN, size)? else {
            return Ok(None);
        };
        Ok(Some(InclusionProof {
            index,
            tree_size: size,
            hashes: tlog::prove(&txn, OWN, index, size)?,
            checkpoint: note,
        }))
    }

    /// Whether `peer` is the registered bureau.
    fn is_bureau(&self, peer: &[u8; 32]) -> Result<bool, AuthorityError> {
        Ok(self.bureau()?.is_some_and(|w| &w.key == peer))
    }

    /// The bureau's read of the log from `from` (any other peer is refused): a page of
    /// entries, the newest checkpoint and the key records.
    pub(super) fn serve_page(&self, peer: [u8; 32], from: u64) -> Result<Handled, AuthorityError> {
        if !self.is_bureau(&peer)? {
            return Ok(Handled::refuse(
                ErrorCode::NotEnrolled,
                "only the supervising bureau reads the log over sync",
            ));
        }
        let page = self.page(from, MAX_PAGE)?;
        let (size, _) =
            tlog::latest_checkpoint(&self.office.store.read()?, OWN)?.unwrap_or((0, Vec::new()));
        let more = page.from + (page.entries.len() as u64) < size;
        Ok(Handled::ok(Response::LogPage {
            entries: page.entries,
            checkpoint: page.checkpoint,
            keys: key_records::all(&self.office.store.read()?)?,
            more,
        }))
    }

    /// Hash tiles of the tree of `size` (0: the newest checkpoint's), with that checkpoint
    /// and the key records, for any enrolled peer (an enterprise's device, a customs node,
    /// the bureau): the tiles are what `GET /log/tile/…` serves to anyone, so a peer whose
    /// only link to the office is sync proves from them itself. A tile not of that tree
    /// is answered `None`.
    pub(super) fn serve_tiles(
        &self,
        peer: [u8; 32],
        size: u64,
        tiles: &[TileRef],
    ) -> Result<Handled, AuthorityError> {
        let txn = self.office.store.read()?;
        let enrolled = crate::store::registry::enterprise_of(&txn, &peer)?.is_some()
            || crate::store::usage::customs_district(&txn, &peer)?.is_some()
            || self.is_bureau(&peer)?;
        if !enrolled {
            return Ok(Handled::refuse(
                ErrorCode::NotEnrolled,
                "this node is not enrolled with this office",
            ));
        }
        let note = if size == 0 {
            tlog::latest_checkpoint(&txn, OWN)?
        } else {
            tlog::checkpoint_at(&txn, OWN, size)?.map(|n| (size, n))
        };
        let Some((size, checkpoint)) = note else {
            if size == 0 {
                return Ok(Handled::ok(Response::LogTiles {
                    checkpoint: Vec::new(),
                    tiles: tiles.iter().map(|_| None).collect(),
                    keys: key_records::all(&txn)?,
                }));
            }
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                format!("this office signed no checkpoint of size {size}"),
            ));
        };
        let mut out = Vec::with_capacity(tiles.len());
        for t in tiles {
            let tile = Tile::new(
                tlog::TILE_HEIGHT,
                t.level,
                t.index,
                u32::from(t.width),
                false,
            );
            out.push(tlog::tile(&txn, OWN, &tile, size)?);
        }
        Ok(Handled::ok(Response::LogTiles {
            checkpoint,
            tiles: out,
            keys: key_records::all(&txn)?,
        }))
    }

    /// Keeps the bureau's co-signature of one of this office's checkpoints: the note must
    /// be a checkpoint the office signed, now also signed by the bureau's key.
    pub(super) fn keep_cosigned(
        &self,
        peer: [u8; 32],
        note: &[u8],
    ) -> Result<Handled, AuthorityError> {
        let Some(witness) = self.bureau()?.filter(|w| w.key == peer) else {
            return Ok(Handled::refuse(
                ErrorCode::NotEnrolled,
                "only the supervising bureau co-signs",
            ));
        };
        let origin = self.office.log_origin();
        let cp =
            match translog::open_checkpoint(note, &origin, &self.office.trust(), Some(&witness)) {
                Ok(cp) => cp,
                Err(e) => {
                    return Ok(Handled::refuse(
                        ErrorCode::BadRequest,
                        format!("co-signature refused: {e}"),
                    ));
                }
            };
        let w = self.office.store.write()?;
        let Some(ours) = tlog::checkpoint_at(&w, OWN, cp.head.size)? else {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                format!("this office signed no checkpoint of size {}", cp.head.size),
            ));
        };
        let same_text = translog::peek_checkpoint(&ours)
            .is_ok_and(|(_, head, at)| head == cp.head && at == cp.at_ms);
        if !same_text {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "not the checkpoint this office signed at that size",
            ));
        }
        tlog::put_checkpoint(&w, OWN, cp.head.size, note)?;
        let newest = meta_get(&w, META_COSIGNED)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if cp.head.size > newest {
            meta_put(&w, META_COSIGNED, &cp.head.size.to_be_bytes())?;
        }
        w.commit()?;
        Ok(Handled::ok(Response::CosignKept))
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
    now_ms: i64,
) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let size = tlog::size(w, OWN)?;
    let last = tlog::latest_checkpoint(w, OWN)?.map_or(0, |(s, _)| s);
    if size == 0 || size == last {
        return Ok(None);
    }
    let head = tlog::head(w, OWN, size)?;
    let (at, key) = office.signer_at(now_ms);
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
