//! Transparency logs in the redb file, each under a log id ([`OWN`] for an office's own; a
//! bureau keeps a copy of each office's): the Merkle tree's stored hashes, the entries, an
//! index from licence number or certificate serial to its entries, and every signed
//! checkpoint. The tree arithmetic is `tlog_tiles`'s (RFC 6962, c2sp.org/tlog-tiles).

use exlic_client::translog::{Entry, EntryKind, TreeHead};
use redb::ReadableTable;
use tlog_tiles::{Hash, HashReader, Tile};

use super::tables::{TLOG_CHECKPOINTS, TLOG_ENTRIES, TLOG_HASHES, TLOG_INDEX, Txn};
use super::{StoreError, WriteBatch, meta_get, meta_put};

/// The log id of an office's own log.
pub const OWN: u32 = 0;

/// The `META` key of log `log`'s size (entries appended).
fn meta_size(log: u32) -> String {
    format!("tlog.size.{log}")
}
/// The height of the tiles served (c2sp.org/tlog-tiles fixes 8: 256 hashes a tile).
pub use exlic_client::translog::TILE_HEIGHT;

/// The tile a c2sp.org/tlog-tiles path names, relative to the log's prefix:
/// `tile/<L>/<N>[.p/<W>]` (hashes) or `tile/entries/<N>[.p/<W>]` (entries), `<N>` in
/// groups of three digits, all but the last with an `x` (`x001/234`). `None` for any
/// other path, a width outside 1–255 for a partial tile, or a level past 63.
pub fn parse_tile_path(path: &str) -> Option<Tile> {
    let rest = path.strip_prefix("tile/")?;
    let (level, rest) = rest.split_once('/')?;
    let (data, level) = match level {
        "entries" => (true, 0u8),
        l if !l.is_empty() && l.len() <= 2 && l.bytes().all(|b| b.is_ascii_digit()) => {
            (false, l.parse().ok()?)
        }
        _ => return None,
    };
    let (index, width) = match rest.split_once(".p/") {
        Some((n, w)) => {
            if w.is_empty() || w.len() > 3 || !w.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let w: u32 = w.parse().ok()?;
            (n, w)
        }
        None => (rest, 1u32 << TILE_HEIGHT),
    };
    if level > 63 || !(1..=1u32 << TILE_HEIGHT).contains(&width) {
        return None;
    }
    if width == 1 << TILE_HEIGHT && rest.contains(".p/") {
        return None;
    }
    let groups: Vec<&str> = index.split('/').collect();
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            g.strip_prefix('x')?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    let mut t = Tile::new(TILE_HEIGHT, level, n, width, false);
    if data {
        t.set_is_data();
    }
    Some(t)
}

/// Reads stored hashes from a transaction for `tlog_tiles`.
struct Hashes<'a, T: Txn>(&'a T, u32);

impl<T: Txn> HashReader for Hashes<'_, T> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let bad = |_| tlog_tiles::Error::IndexesNotInTree;
        let t = self
            .0
            .table(TLOG_HASHES)
            .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|&i| {
                t.get((self.1, i))
                    .map_err(bad)?
                    .map(|v| Hash(v.value()))
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn damaged(_: tlog_tiles::Error) -> StoreError {
    StoreError::Record("tlog_hashes")
}

/// How many entries log `log` holds.
pub fn size(txn: &impl Txn, log: u32) -> Result<u64, StoreError> {
    Ok(meta_get(txn, &meta_size(log))?
        .and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

/// Appends `entry`, about `subject` (a licence number, a certificate serial), in the
/// batch's transaction; returns its index.
pub fn append(
    w: &WriteBatch<'_>,
    log: u32,
    entry: &Entry,
    subject: &str,
) -> Result<u64, StoreError> {
    let n = size(w, log)?;
    let encoded = entry.encode();
    let leaf = Hash(exlic_client::translog::leaf_hash(&encoded));
    let hashes =
        tlog_tiles::stored_hashes_for_record_hash(n, leaf, &Hashes(w, log)).map_err(damaged)?;
    {
        let mut t = w.txn().open_table(TLOG_HASHES)?;
        let first = tlog_tiles::stored_hash_index(0, n);
        for (i, h) in hashes.iter().enumerate() {
            t.insert((log, first + i as u64), h.0)?;
        }
    }
    w.txn()
        .open_table(TLOG_ENTRIES)?
        .insert((log, n), encoded.as_slice())?;
    w.txn()
        .open_table(TLOG_INDEX)?
        .insert((log, entry.kind as u8, subject, n), ())?;
    meta_put(w, &meta_size(log), &(n + 1).to_be_bytes())?;
    Ok(n)
}

/// The tree head of the first `size` entries.
pub fn head(txn: &impl Txn, log: u32, size: u64) -> Result<TreeHead, StoreError> {
    Ok(TreeHead {
        size,
        hash: tlog_tiles::tree_hash(size, &Hashes(txn, log))
            .map_err(damaged)?
            .0,
    })
}

/// The audit path of entry `index` in the tree of `size` entries.
pub fn prove(txn: &impl Txn, log: u32, index: u64, size: u64) -> Result<Vec<[u8; 32]>, StoreError> {
    Ok(tlog_tiles::prove_record(size, index, &Hashes(txn, log))
        .map_err(damaged)?
        .into_iter()
        .map(|h| h.0)
        .collect())
}

/// The consistency proof from the tree of `old` entries to the tree of `new`.
pub fn consistency(
    txn: &impl Txn,
    log: u32,
    old: u64,
    new: u64,
) -> Result<Vec<[u8; 32]>, StoreError> {
    if old == 0 || old >= new {
        return Ok(Vec::new());
    }
    Ok(tlog_tiles::prove_tree(new, old, &Hashes(txn, log))
        .map_err(damaged)?
        .into_iter()
        .map(|h| h.0)
        .collect())
}

/// The encoded entry at `index`.
pub fn entry(txn: &impl Txn, log: u32, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(TLOG_ENTRIES)?
        .get((log, index))?
        .map(|v| v.value().to_vec()))
}

/// Up to `limit` encoded entries from `from` on, in order.
pub fn entries(
    txn: &impl Txn,
    log: u32,
    from: u64,
    limit: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for e in txn
        .table(TLOG_ENTRIES)?
        .range((log, from)..=(log, u64::MAX))?
        .take(limit)
    {
        out.push(e?.1.value().to_vec());
    }
    Ok(out)
}

/// The indexes of the entries of `kind` about `subject`, oldest first.
pub fn find(
    txn: &impl Txn,
    log: u32,
    kind: EntryKind,
    subject: &str,
) -> Result<Vec<u64>, StoreError> {
    let k = kind as u8;
    let mut out = Vec::new();
    for e in txn
        .table(TLOG_INDEX)?
        .range((log, k, subject, 0)..=(log, k, subject, u64::MAX))?
    {
        out.push(e?.0.value().3);
    }
    Ok(out)
}

/// Keeps the signed checkpoint of tree `size`.
pub fn put_checkpoint(
    w: &WriteBatch<'_>,
    log: u32,
    size: u64,
    note: &[u8],
) -> Result<(), StoreError> {
    w.txn()
        .open_table(TLOG_CHECKPOINTS)?
        .insert((log, size), note)?;
    Ok(())
}

/// The newest signed checkpoint and its tree size.
pub fn latest_checkpoint(txn: &impl Txn, log: u32) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    Ok(txn
        .table(TLOG_CHECKPOINTS)?
        .range((log, 0)..=(log, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(k, v)| (k.value().1, v.value().to_vec())))
}

/// The signed checkpoint of tree `size`, if one was signed at that size.
pub fn checkpoint_at(txn: &impl Txn, log: u32, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(TLOG_CHECKPOINTS)?
        .get((log, size))?
        .map(|v| v.value().to_vec()))
}

/// The bytes of a tile (c2sp.org/tlog-tiles) of the tree of `size` entries: a hash tile
/// is its hashes; a data tile (`level` -1, `tile/entries/…`) is its entries, each as a
/// big-endian `u16` length and the bytes. `None` if the tile is not in that tree.
pub fn tile(txn: &impl Txn, log: u32, t: &Tile, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let w = u64::from(t.width());
    // The tile's last entry (at level 0) must be in the tree.
    let span = 1u64 << (u32::from(t.height()) * u32::from(t.level()));
    let last_leaf = ((t.level_index() << t.height()) + w) * span;
    if last_leaf > size {
        return Ok(None);
    }
    if t.is_data() {
        let first = t.level_index() << t.height();
        let mut out = Vec::new();
        for e in entries(txn, log, first, w as usize)? {
            let len = u16::try_from(e.len()).map_err(|_| StoreError::Record("tlog entry size"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&e);
        }
        return Ok(Some(out));
    }
    Ok(Some(t.read_data(&Hashes(txn, log)).map_err(damaged)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use exlic_client::translog::{InclusionProof, check_consistency};

    fn entry(i: u64) -> Entry {
        Entry::new(EntryKind::Licence, format!("licence {i}").as_bytes())
    }

    #[test]
    fn appended_entries_prove_into_every_later_tree_and_trees_stay_consistent() {
        let (_dir, store) = Store::temp();
        let mut heads = Vec::new();
        for i in 0..300u64 {
            let w = store.write().unwrap();
            assert_eq!(append(&w, OWN, &entry(i), &format!("L{i}")).unwrap(), i);
            heads.push(head(&w, OWN, i + 1).unwrap());
            w.commit().unwrap();
        }
        let txn = store.read().unwrap();
        assert_eq!(size(&txn, OWN).unwrap(), 300);
        for (size, h) in [
            (1u64, heads[0]),
            (77, heads[76]),
            (256, heads[255]),
            (300, heads[299]),
        ] {
            for i in [0, size / 2, size - 1] {
                let p = InclusionProof {
                    index: i,
                    tree_size: size,
                    hashes: prove(&txn, OWN, i, size).unwrap(),
                    checkpoint: Vec::new(),
                };
                p.check_path(&entry(i), h).unwrap();
                assert!(p.check_path(&entry(i + 1), h).is_err());
            }
            check_consistency(h, heads[299], &consistency(&txn, OWN, size, 300).unwrap()).unwrap();
        }
        assert_eq!(find(&txn, OWN, EntryKind::Licence, "L7").unwrap(), vec![7]);
        assert_eq!(
            entry(7).encode(),
            super::entry(&txn, OWN, 7).unwrap().unwrap()
        );
        assert_eq!(entries(&txn, OWN, 298, 10).unwrap().len(), 2);
    }

    #[test]
    fn c2sp_tile_paths_parse_and_bad_ones_do_not() {
        let t = parse_tile_path("tile/0/x001/234.p/5").unwrap();
        assert_eq!(
            (t.level(), t.level_index(), t.width(), t.is_data()),
            (0, 1234, 5, false)
        );
        let t = parse_tile_path("tile/entries/000").unwrap();
        assert_eq!((t.level_index(), t.width(), t.is_data()), (0, 256, true));
        for bad in [
            "tile/0/1234",
            "tile/x/000",
            "tiles/0/000",
            "tile/0/000.p/0",
            "tile/0/000.p/257",
        ] {
            assert!(parse_tile_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tiles_are_served_only_when_complete_in_the_tree_and_hash_to_its_head() {
        let (_dir, store) = Store::temp();
        let w = store.write().unwrap();
        for i in 0..300u64 {
            append(&w, OWN, &entry(i), "x").unwrap();
        }
        w.commit().unwrap();
        let txn = store.read().unwrap();
        let full = Tile::new(TILE_HEIGHT, 0, 0, 256, false);
        let data = tile(&txn, OWN, &full, 300).unwrap().unwrap();
        assert_eq!(data.len(), 256 * 32);
        // The full tile's subtree hash is the root of the first 256 entries.
        assert_eq!(
            Tile::subtree_hash(&data).0,
            head(&txn, OWN, 256).unwrap().hash
        );
        // A partial tile of 44 and the entries bundle of the first tile.
        let partial = Tile::new(TILE_HEIGHT, 0, 1, 44, false);
        assert_eq!(
            tile(&txn, OWN, &partial, 300).unwrap().unwrap().len(),
            44 * 32
        );
        assert!(
            tile(&txn, OWN, &Tile::new(TILE_HEIGHT, 0, 1, 45, false), 300)
                .unwrap()
                .is_none()
        );
        let mut bundle = Tile::new(TILE_HEIGHT, 0, 0, 256, false);
        bundle.set_is_data();
        let b = tile(&txn, OWN, &bundle, 300).unwrap().unwrap();
        let first = entry(0).encode();
        assert_eq!(&b[..2], &(first.len() as u16).to_be_bytes());
        assert_eq!(&b[2..2 + first.len()], &first[..]);
    }
}
