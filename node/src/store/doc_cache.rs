//! The documents a store keeps in memory: the least recently used are dropped first, once
//! the cache holds more documents than its count or more memory than its byte bound (an
//! estimate, [`weight`]), and never while a write holds them.
//!
//! A bound by count alone is no bound on memory: a document grows with every change it
//! takes, so an office whose connected enterprises keep syncing into the same documents
//! grew for as long as it ran (about 2.7 MiB a minute at 5,000 connections, most of it
//! Automerge's history of each change, as a heap profile of the office showed).

use std::num::NonZeroUsize;

use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc};
use exlic_client::DocId;
use lru::LruCache;

/// What an empty document costs in memory, roughly (measured: about 20 KiB for a form
/// of 37 operations in one change, loaded or built).
const BASE: usize = 20 << 10;
/// What each operation adds (measured: about 40 bytes for a row of the goods table).
const PER_OP: usize = 48;
/// What each change adds beside its operations (measured: 100–200 bytes for a change
/// made in place, about 330 for one received over sync, growth slack included).
const PER_CHANGE: usize = 256;

/// An estimate of what `doc` holds in memory, from Automerge's counts (both O(1)).
pub fn weight(doc: &AutoCommit) -> usize {
    let s = doc.stats();
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    BASE.saturating_add(n(s.num_ops).saturating_mul(PER_OP))
        .saturating_add(n(s.num_changes).saturating_mul(PER_CHANGE))
}

/// A document in memory and the heads its stored form already holds, so the next save
/// writes only what came after. Kept here rather than in Automerge's own save cursor,
/// which a freshly loaded document does not have: its first incremental save would
/// re-encode the whole history.
pub(super) struct Cached {
    pub(super) doc: AutoCommit,
    pub(super) saved: Vec<ChangeHash>,
    /// [`weight`] when last measured.
    weight: usize,
}

/// Documents in memory, most recently used kept.
pub(super) struct DocCache {
    docs: LruCache<DocId, Cached>,
    /// The actor documents are written as (set on every document loaded).
    pub(super) actor: ActorId,
    /// The sum of the documents' weights.
    bytes: usize,
    max_docs: NonZeroUsize,
    max_bytes: usize,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("len", &self.docs.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl DocCache {
    /// At most `max_docs` documents and about `max_bytes` of them between writes.
    pub(super) fn new(max_docs: NonZeroUsize, max_bytes: usize, actor: ActorId) -> Self {
        Self {
            docs: LruCache::unbounded(),
            actor,
            bytes: 0,
            max_docs,
            max_bytes,
        }
    }

    /// Whether `id` is in memory (without making it the most recently used).
    pub(super) fn contains(&self, id: &DocId) -> bool {
        self.docs.contains(id)
    }

    /// Document `id`, made the most recently used.
    pub(super) fn get_mut(&mut self, id: &DocId) -> Option<&mut Cached> {
        self.docs.get_mut(id)
    }

    /// Keeps `doc`, every change of which is stored, as document `id`.
    pub(super) fn put_stored(&mut self, id: DocId, mut doc: AutoCommit) -> &mut Cached {
        let saved = doc.get_heads();
        let weight = weight(&doc);
        self.bytes += weight;
        if let Some(old) = self.docs.put(id, Cached { doc, saved, weight }) {
            self.bytes -= old.weight;
        }
        self.docs.get_mut(&id).expect("just put")
    }

    /// Drops document `id` (its changes in memory were not stored).
    pub(super) fn remove(&mut self, id: &DocId) {
        if let Some(old) = self.docs.pop(id) {
            self.bytes -= old.weight;
        }
    }

    /// Drops every document.
    pub(super) fn clear(&mut self) {
        self.docs.clear();
        self.bytes = 0;
    }

    /// Documents in memory.
    pub(super) fn len(&self) -> usize {
        self.docs.len()
    }

    /// The estimated memory of the documents in memory.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Every document in memory, in no useful order.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&DocId, &mut Cached)> {
        self.docs.iter_mut()
    }

    /// Measures again the documents in `changed` (a write is done with them), then drops
    /// the least recently used until the cache is within both bounds. The most recently
    /// used document always stays, however large.
    pub(super) fn settle(&mut self, changed: &[DocId]) {
        for id in changed {
            if let Some(c) = self.docs.peek_mut(id) {
                let w = weight(&c.doc);
                self.bytes = self.bytes - c.weight + w;
                c.weight = w;
            }
        }
        while self.docs.len() > 1
            && (self.docs.len() > self.max_docs.get() || self.bytes > self.max_bytes)
        {
            if let Some((_, old)) = self.docs.pop_lru() {
                self.bytes -= old.weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc(ops: usize) -> AutoCommit {
        let mut d = AutoCommit::new();
        for i in 0..ops {
            d.put(automerge::ROOT, format!("k{i}"), i as i64).unwrap();
        }
        d.commit();
        d
    }

    fn id(n: u8) -> DocId {
        DocId([n; 16])
    }

    #[test]
    fn the_least_recently_used_go_first_once_over_the_byte_bound() {
        let one = weight(&doc(10));
        let mut c = DocCache::new(NonZeroUsize::new(100).unwrap(), one * 3, ActorId::random());
        for n in 0..3 {
            c.put_stored(id(n), doc(10));
        }
        c.settle(&[]);
        assert_eq!((c.len(), c.bytes()), (3, one * 3));
        c.get_mut(&id(0)); // 1 is now the least recently used
        c.put_stored(id(3), doc(10));
        c.settle(&[]);
        assert_eq!(c.len(), 3);
        assert!(!c.contains(&id(1)) && c.contains(&id(0)) && c.contains(&id(3)));
        assert_eq!(c.bytes(), one * 3);
    }

    #[test]
    fn a_document_that_grew_is_weighed_again_when_its_write_is_done() {
        let small = weight(&doc(1));
        let mut c = DocCache::new(
            NonZeroUsize::new(100).unwrap(),
            small * 2,
            ActorId::random(),
        );
        c.put_stored(id(0), doc(1));
        c.put_stored(id(1), doc(1));
        c.settle(&[]);
        assert_eq!(c.len(), 2);
        // Document 0 takes changes in place, as a write does; nothing is dropped meanwhile.
        let d = &mut c.get_mut(&id(0)).unwrap().doc;
        for i in 0..200 {
            d.put(automerge::ROOT, format!("more{i}"), i).unwrap();
            d.commit();
        }
        assert_eq!(c.len(), 2);
        c.settle(&[id(0)]);
        // Over the bound: 1, the least recently used, goes; 0, however large, stays.
        assert_eq!(c.len(), 1);
        assert!(c.contains(&id(0)));
        assert_eq!(c.bytes(), weight(&c.get_mut(&id(0)).unwrap().doc));
        assert!(c.bytes() > small * 2);
    }

    #[test]
    fn the_count_bounds_it_too_and_removal_gives_back_the_weight() {
        let mut c = DocCache::new(NonZeroUsize::new(2).unwrap(), usize::MAX, ActorId::random());
        for n in 0..4 {
            c.put_stored(id(n), doc(5));
        }
        c.settle(&[]);
        assert_eq!(c.len(), 2);
        c.remove(&id(3));
        assert_eq!(c.bytes(), weight(&doc(5)));
        c.put_stored(id(2), doc(50));
        assert_eq!(
            c.bytes(),
            weight(&doc(50)),
            "a replaced document's weight goes"
        );
        c.clear();
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    #[test]
    fn weight_grows_with_operations_and_changes() {
        let a = doc(1);
        let mut b = doc(1);
        b.put(automerge::ROOT, "x", 1).unwrap();
        b.commit();
        assert!(weight(&b) >= weight(&a) + PER_OP + PER_CHANGE);
        assert!(weight(&doc(100)) >= BASE + 100 * PER_OP);
    }
}
