//! The node's redb file: Automerge documents, attachment blobs, index tables, the change
//! sequence, seals and the outbox — one file per node, one transaction per user action.
//!
//! A write goes through a [`WriteBatch`]: it holds the document cache and one redb write
//! transaction, and nothing it did is visible or durable until [`WriteBatch::commit`]
//! returns. If the commit fails (disk full, I/O error) every document the batch touched is
//! dropped from the cache, so memory never runs ahead of disk.
//!
//! Documents are kept as a snapshot plus incremental change chunks ([`docs`]); once a
//! document has many chunks it is queued for compaction, which a background thread does
//! ([`Store::compact_pending`]). Documents are loaded on demand into a bounded LRU cache.

pub mod app_state;
pub mod audit;
pub mod blobs;
pub mod bureau;
pub mod case_doc;
pub mod cases;
pub mod cert_requests;
pub mod certs;
pub mod directory_doc;
mod doc_cache;
pub mod docs;
pub mod dump;
pub mod feed;
pub mod form_doc;
pub mod group;
pub mod index;
pub mod key_records;
pub mod licence_request;
pub mod licences;
pub mod profile_doc;
pub mod raft;
pub mod registry;
pub mod seals;
pub mod staff;
pub mod sync_state;
mod tables;
pub mod tlog;
pub mod unlock_doc;
pub mod usage;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use automerge::{ActorId, AutoCommit};
use exlic_client::DocId;
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, WriteTransaction};

use doc_cache::DocCache;
use tables::*;
pub use tables::{Txn, kind};

/// A storage failure. Every variant leaves the file as it was before the failed action.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// redb reported an error (I/O, disk full, corruption).
    #[error("storage: {0}")]
    Db(#[from] redb::Error),
    /// A stored document does not load.
    #[error("document {0} is damaged: {1}")]
    Document(DocId, String),
    /// A stored blob does not match its hash.
    #[error("attachment {0} is damaged (hash mismatch)")]
    BlobCorrupt(String),
    /// A stored record does not decode.
    #[error("stored record {0} is damaged")]
    Record(&'static str),
    /// A write would break what the stored state must never do (a second licence under
    /// one number, say): refused rather than overwrite.
    #[error("refused to break an invariant: {0}")]
    Invariant(String),
    /// The group-commit batch this write was in failed; nothing of it was committed.
    #[error("{message}")]
    Batch {
        /// What failed the batch.
        message: String,
        /// Whether it failed because the disk is full.
        disk_full: bool,
    },
}

impl StoreError {
    /// The error a batch's other writers get when `cause` failed the batch.
    pub fn batch(cause: &StoreError) -> Self {
        Self::Batch {
            message: cause.to_string(),
            disk_full: cause.is_disk_full(),
        }
    }

    /// Whether the write failed because the disk (or the user's quota) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Db(redb::Error::Io(e)) => matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            Self::Batch { disk_full, .. } => *disk_full,
            _ => false,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Implements `From<E>` for a role's error type, through its `Store(StoreError)` variant,
/// for each redb error type `E` (so `?` works on table operations in role code).
macro_rules! errors_via_store {
    ($target:ty, $($t:ty),*) => {$(
        impl From<$t> for $target {
            fn from(e: $t) -> Self {
                Self::Store(e.into())
            }
        }
    )*};
}
pub(crate) use errors_via_store;

/// Tuning of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Documents kept in memory, at most.
    pub doc_cache: usize,
    /// Their memory, estimated ([`doc_cache::weight`]), at most, bytes.
    pub doc_cache_bytes: usize,
    /// redb page cache, bytes.
    pub page_cache_bytes: usize,
    /// Change chunks after which a document is compacted.
    pub compact_after_chunks: u32,
    /// Whether commits wait for fsync (always true outside benchmarks that say otherwise).
    pub durable: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            doc_cache: 512,
            doc_cache_bytes: 128 << 20,
            page_cache_bytes: 64 << 20,
            compact_after_chunks: 32,
            durable: true,
        }
    }
}

/// The opened store.
#[derive(Debug)]
pub struct Store {
    db: Database,
    cache: Mutex<DocCache>,
    options: StoreOptions,
    compact_queue: Mutex<HashSet<DocId>>,
    /// Callers of [`Store::commit_shared`] waiting for one durable commit together.
    flushes: group::GroupCommit<(), Result<(), StoreError>>,
    changed: tokio::sync::Notify,
    /// The actor new documents are written as; also held by the cache, which applies it
    /// to loaded documents. Kept here too so documents can be built without the writer.
    actor: Mutex<ActorId>,
}

/// A new document built outside any write (see [`Store::build_doc`]), with the bytes that
/// store it, ready for [`WriteBatch::insert_built_doc`].
#[derive(Debug)]
pub struct BuiltDoc {
    doc: AutoCommit,
    chunk: Vec<u8>,
}

impl Store {
    /// Documents its cache holds.
    pub fn doc_cache_capacity(&self) -> usize {
        self.options.doc_cache.max(1)
    }

    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(options.page_cache_bytes)
            .create(path)?;
        Self::with_database(db, options)
    }

    /// A store in a new temporary directory, for tests (dropping the directory deletes it).
    #[cfg(test)]
    pub fn temp() -> (tempfile::TempDir, Self) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Self::open(&dir.path().join("s.redb"), StoreOptions::default())
            .expect("store in a temporary directory");
        (dir, store)
    }

    /// Opens (or creates) the store on a redb storage backend other than a file (the
    /// simulation tests keep their nodes' stores in memory and reopen them to restart).
    pub fn open_backend(
        backend: impl redb::StorageBackend,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(options.page_cache_bytes)
            .create_with_backend(backend)?;
        Self::with_database(db, options)
    }

    fn with_database(db: Database, options: StoreOptions) -> Result<Self, StoreError> {
        let txn = db.begin_write()?;
        tables::create_all(&txn)?;
        certs::index_existing(&txn)?;
        txn.commit()?;
        let cap = NonZeroUsize::new(options.doc_cache.max(1)).expect("nonzero");
        let actor = ActorId::from(crate::random::bytes::<16>());
        Ok(Self {
            db,
            cache: Mutex::new(DocCache::new(cap, options.doc_cache_bytes, actor.clone())),
            actor: Mutex::new(actor),
            options,
            compact_queue: Mutex::new(HashSet::new()),
            flushes: group::GroupCommit::default(),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// The Automerge actor this node writes as.
    pub fn actor(&self) -> ActorId {
        self.actor.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the Automerge actor this node writes as (its device identity).
    pub fn set_actor(&self, actor: ActorId) {
        *self.actor.lock().unwrap_or_else(|p| p.into_inner()) = actor.clone();
        let mut c = self.lock_cache();
        for (_, d) in c.iter_mut() {
            d.doc.set_actor(actor.clone());
        }
        c.actor = actor;
    }

    fn lock_cache(&self) -> MutexGuard<'_, DocCache> {
        // A panic while holding the lock leaves no half-applied disk state (the
        // transaction aborts), so the cache is cleared and reused.
        self.cache.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.clear();
            g
        })
    }

    /// Begins a write. Writes are serialised; reads go on concurrently.
    pub fn write(&self) -> Result<WriteBatch<'_>, StoreError> {
        let cache = self.lock_cache();
        let mut txn = self.db.begin_write()?;
        if !self.options.durable {
            not_durable(&mut txn)?;
        }
        Ok(WriteBatch {
            store: self,
            cache,
            txn: Some(txn),
            touched: Vec::new(),
            to_compact: Vec::new(),
            saved: false,
        })
    }

    /// Builds a new document with `fill` without holding the writer, so the Automerge work
    /// of many new documents runs in parallel; store it with [`WriteBatch::insert_built_doc`].
    pub fn build_doc<E>(
        &self,
        fill: impl FnOnce(&mut AutoCommit) -> Result<(), E>,
    ) -> Result<BuiltDoc, E> {
        let actor = self.actor.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut doc = AutoCommit::new().with_actor(actor);
        fill(&mut doc)?;
        doc.commit();
        let chunk = doc.save_after(&[]);
        Ok(BuiltDoc { doc, chunk })
    }

    /// Makes every commit so far durable (one empty durable commit), for a store opened
    /// with `durable: false` to fill it quickly.
    pub fn persist(&self) -> Result<(), StoreError> {
        let _cache = self.lock_cache();
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    /// Commits `w` and returns once it is durable, sharing the wait for the disk with
    /// every other caller doing the same at once: each commits its own transaction
    /// without waiting (so a failure rolls back only its own), then one durable commit
    /// serves all of them. Nothing is acknowledged before that commit, so it is as safe as
    /// [`WriteBatch::commit`] and costs one disk flush per group instead of one each.
    pub fn commit_shared(&self, w: WriteBatch<'_>) -> Result<(), StoreError> {
        w.commit_unacknowledged()?;
        if !self.options.durable {
            return Ok(());
        }
        let flushed = self.flushes.run((), |callers| {
            let r = self.persist();
            callers
                .iter()
                .map(|()| r.as_ref().map(|_| ()).map_err(StoreError::batch))
                .collect()
        });
        flushed.map_err(|e| StoreError::Batch {
            message: e.to_string(),
            disk_full: false,
        })?
    }

    /// Begins a read of the last committed state.
    pub fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// Runs `f` on a document (loaded into the cache if needed) without writing.
    pub fn with_doc<T>(
        &self,
        id: DocId,
        f: impl FnOnce(&mut AutoCommit) -> T,
    ) -> Result<Option<T>, StoreError> {
        let mut cache = self.lock_cache();
        let txn = self.read()?;
        let actor = cache.actor.clone();
        let out = match cache.get_mut(&id) {
            Some(c) => f(&mut c.doc),
            None => match docs::load(&txn, id)? {
                Some(mut d) => {
                    d.set_actor(actor);
                    f(&mut cache.put_stored(id, d).doc)
                }
                None => return Ok(None),
            },
        };
        cache.settle(&[id]);
        Ok(Some(out))
    }

    /// Compacts every document queued for it; returns how many were compacted.
    pub fn compact_pending(&self) -> Result<usize, StoreError> {
        let queued: Vec<DocId> = {
            let mut q = self.compact_queue.lock().unwrap_or_else(|p| p.into_inner());
            q.drain().collect()
        };
        let mut n = 0;
        for id in queued {
            let mut w = self.write()?;
            if w.compact(id)? {
                n += 1;
            }
            w.commit()?;
        }
        Ok(n)
    }

    /// Resolves after the next commit that changed a document (for the sync loop).
    pub fn changed(&self) -> &tokio::sync::Notify {
        &self.changed
    }

    /// Documents waiting for compaction.
    pub fn compaction_backlog(&self) -> usize {
        self.compact_queue.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// Documents in the cache.
    pub fn cached_docs(&self) -> usize {
        self.lock_cache().len()
    }

    /// The estimated memory of the documents in the cache, bytes.
    pub fn cached_bytes(&self) -> usize {
        self.lock_cache().bytes()
    }

    /// Checks the file's internal consistency (redb's own check), for tests and `exlic check`.
    pub fn check_integrity(path: &Path) -> Result<bool, StoreError> {
        let mut db = Database::open(path)?;
        Ok(db.check_integrity()?)
    }
}

/// One write transaction plus the document cache.
pub struct WriteBatch<'s> {
    store: &'s Store,
    cache: MutexGuard<'s, DocCache>,
    txn: Option<WriteTransaction>,
    touched: Vec<DocId>,
    to_compact: Vec<DocId>,
    saved: bool,
}

impl std::fmt::Debug for WriteBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("touched", &self.touched)
            .finish()
    }
}

impl Txn for WriteBatch<'_> {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<'_, K, V>,
    ) -> Result<impl redb::ReadableTable<K, V> + '_, redb::TableError> {
        self.txn().open_table(def)
    }
}

impl<'s> WriteBatch<'s> {
    /// The redb transaction, for the typed records of `store`'s modules.
    pub(in crate::store) fn txn(&self) -> &WriteTransaction {
        self.txn.as_ref().expect("open until commit")
    }

    /// A document for editing, loaded if needed; `None` if it does not exist.
    pub fn doc(&mut self, id: DocId) -> Result<Option<&mut AutoCommit>, StoreError> {
        if !self.cache.contains(&id) {
            let actor = self.cache.actor.clone();
            match docs::load(self.txn(), id)? {
                Some(mut d) => {
                    d.set_actor(actor);
                    self.cache.put_stored(id, d);
                }
                None => return Ok(None),
            }
        }
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
        Ok(self.cache.get_mut(&id).map(|c| &mut c.doc))
    }

    /// Those of `ids` that are in the cache, all at once, for work spread over threads.
    /// Load a document with [`Self::doc`] first: the cache drops nothing during a write.
    pub fn cached_docs_mut(&mut self, ids: &HashSet<DocId>) -> Vec<(DocId, &mut AutoCommit)> {
        self.cache
            .iter_mut()
            .filter(|(id, _)| ids.contains(id))
            .map(|(id, c)| (*id, &mut c.doc))
            .collect()
    }

    /// Creates a new, empty document of `kind` and returns it for filling in.
    pub fn create_doc(&mut self, id: DocId, kind: u8) -> Result<&mut AutoCommit, StoreError> {
        docs::create(self.txn(), id, kind)?;
        let doc = AutoCommit::new().with_actor(self.cache.actor.clone());
        self.touched.push(id);
        Ok(&mut self.cache.put_stored(id, doc).doc)
    }

    /// Stores a document built by [`Store::build_doc`] as the new document `id` of `kind`
    /// (the caller checked that `id` does not exist yet).
    pub fn insert_built_doc(
        &mut self,
        id: DocId,
        kind: u8,
        built: BuiltDoc,
    ) -> Result<(), StoreError> {
        docs::create(self.txn(), id, kind)?;
        self.append(id, &built.chunk)?;
        self.cache.put_stored(id, built.doc);
        self.touched.push(id);
        Ok(())
    }

    /// Replaces the still-empty document `id` with `doc`, loaded from `bytes` (a peer's
    /// first sync of it), and stores those bytes as they are: the document is not
    /// re-encoded. The caller checked that `id` exists and holds no changes.
    pub fn adopt_doc(
        &mut self,
        id: DocId,
        doc: AutoCommit,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.append(id, bytes)?;
        let mut doc = doc;
        doc.set_actor(self.cache.actor.clone());
        self.cache.put_stored(id, doc);
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
        Ok(())
    }

    /// Persists what changed in document `id` since it was last saved, as one change
    /// chunk, and records the change in the change sequence. Returns false if nothing changed.
    pub fn save_doc(&mut self, id: DocId) -> Result<bool, StoreError> {
        let Some(c) = self.cache.get_mut(&id) else {
            return Ok(false);
        };
        let chunk = c.doc.save_after(&c.saved);
        if chunk.is_empty() {
            return Ok(false);
        }
        c.saved = c.doc.get_heads();
        self.append(id, &chunk)?;
        Ok(true)
    }

    /// Appends `chunk` to document `id`'s stored form, records the change in the change
    /// sequence, and queues the document for compaction once it has enough chunks.
    fn append(&mut self, id: DocId, chunk: &[u8]) -> Result<(), StoreError> {
        let txn = self.txn.as_ref().expect("open until commit");
        let chunks = docs::append_chunk(txn, id, chunk)?;
        docs::record_change(txn, id)?;
        self.saved = true;
        if chunks >= self.store.options.compact_after_chunks {
            self.to_compact.push(id);
        }
        Ok(())
    }

    /// Drops every cached document, after the tables under them were replaced (a
    /// snapshot restored): the next use loads them again.
    pub(in crate::store) fn forget_cached_docs(&mut self) {
        self.touched.clear();
        self.cache.clear();
    }

    /// Rewrites document `id` as one snapshot and drops its chunks.
    pub fn compact(&mut self, id: DocId) -> Result<bool, StoreError> {
        if self.doc(id)?.is_none() {
            return Ok(false);
        }
        let c = self.cache.get_mut(&id).expect("loaded");
        let snapshot = c.doc.save();
        c.saved = c.doc.get_heads();
        docs::replace_with_snapshot(self.txn(), id, &snapshot)?;
        Ok(true)
    }

    /// Ends a batch that only read documents (sync message generation): the transaction
    /// is dropped without a commit and the cached documents are kept, since nothing in
    /// them changed.
    pub fn finish_read_only(mut self) {
        let touched = std::mem::take(&mut self.touched);
        self.cache.settle(&touched);
        self.txn.take();
    }

    /// Commits without waiting for the disk, for a write that acknowledges nothing to
    /// anyone (a sync answer that stored no change): the next durable commit makes it
    /// durable with its own; a crash before that loses it, which costs a peer a resend.
    pub fn commit_unacknowledged(mut self) -> Result<(), StoreError> {
        not_durable(self.txn.as_mut().expect("open until commit"))?;
        self.commit()
    }

    /// Commits durably. On failure every touched document is evicted from the cache.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let txn = self.txn.take().expect("open until commit");
        match txn.commit() {
            Ok(()) => {
                let touched = std::mem::take(&mut self.touched);
                self.cache.settle(&touched);
                if self.saved {
                    self.store.changed.notify_one();
                }
                if !self.to_compact.is_empty() {
                    let mut q = self
                        .store
                        .compact_queue
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    q.extend(self.to_compact.drain(..));
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        // Not committed (error or early return) or commit failed: the transaction aborts
        // and the in-memory documents it changed are discarded.
        for id in std::mem::take(&mut self.touched) {
            self.cache.remove(&id);
        }
        self.cache.settle(&[]);
    }
}

/// Lets `txn` commit without waiting for the disk.
fn not_durable(txn: &mut WriteTransaction) -> Result<(), StoreError> {
    txn.set_durability(Durability::None).map_err(|e| {
        StoreError::Db(redb::Error::from(redb::StorageError::from(
            std::io::Error::other(e.to_string()),
        )))
    })
}

/// Reads the `META` entry `key`.
pub fn meta_get(txn: &impl Txn, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    use redb::ReadableTable;
    let t = txn.table(META)?;
    Ok(t.get(key)?.map(|v| v.value().to_vec()))
}

/// Writes the `META` entry `key`.
pub fn meta_put(w: &WriteBatch<'_>, key: &str, value: &[u8]) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(META)?;
    t.insert(key, value)?;
    Ok(())
}

/// Removes the `META` entry `key`.
pub fn meta_remove(w: &WriteBatch<'_>, key: &str) -> Result<(), StoreError> {
    w.txn().open_table(META)?.remove(key)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;

    fn edit(w: &mut WriteBatch<'_>, id: DocId, text: &str) {
        let d = w.doc(id).unwrap().unwrap();
        d.put(automerge::ROOT, "remarks", text).unwrap();
        d.commit();
        assert!(w.save_doc(id).unwrap());
    }

    #[test]
    fn writes_committed_together_are_all_kept_and_a_failed_one_alone_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            std::thread::scope(|s| {
                for t in 0..8u8 {
                    let store = &store;
                    s.spawn(move || {
                        for i in 0..25u8 {
                            let w = store.write().unwrap();
                            meta_put(&w, &format!("k{t}-{i}"), &[t, i]).unwrap();
                            store.commit_shared(w).unwrap();
                        }
                    });
                }
            });
            // A write dropped before its commit (a peer's request refused midway).
            let w = store.write().unwrap();
            meta_put(&w, "refused", b"x").unwrap();
            drop(w);
        }
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let txn = store.read().unwrap();
        for t in 0..8u8 {
            for i in 0..25u8 {
                assert_eq!(
                    meta_get(&txn, &format!("k{t}-{i}")).unwrap(),
                    Some(vec![t, i])
                );
            }
        }
        assert_eq!(meta_get(&txn, "refused").unwrap(), None);
    }

    #[test]
    fn a_write_over_both_cache_bounds_keeps_every_document_it_changed_until_it_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            doc_cache: 2,
            doc_cache_bytes: 1,
            ..StoreOptions::default()
        };
        let store = Store::open(&dir.path().join("s.redb"), options).unwrap();
        let ids: Vec<DocId> = (0..6).map(|n| DocId([n; 16])).collect();
        let mut w = store.write().unwrap();
        for &id in &ids {
            w.create_doc(id, 0).unwrap();
        }
        w.commit().unwrap();
        assert_eq!(store.cached_docs(), 1, "only the most recent stays");
        // Every document changed in memory first, then saved, as a sync batch does: a
        // cache that dropped one before its save would lose its change without a word.
        let mut w = store.write().unwrap();
        for &id in &ids {
            let d = w.doc(id).unwrap().unwrap();
            d.put(automerge::ROOT, "remarks", "kept").unwrap();
            d.commit();
        }
        let all: HashSet<DocId> = ids.iter().copied().collect();
        assert_eq!(w.cached_docs_mut(&all).len(), ids.len());
        for &id in &ids {
            assert!(
                w.save_doc(id).unwrap(),
                "{id:?} was dropped before its save"
            );
        }
        w.commit().unwrap();
        assert_eq!(store.cached_docs(), 1);
        for id in ids {
            let v = store
                .with_doc(id, |d| d.get(automerge::ROOT, "remarks").unwrap().is_some())
                .unwrap();
            assert_eq!(v, Some(true));
        }
        assert_eq!(store.cached_docs(), 1);
        assert!(store.cached_bytes() > 1);
    }

    fn chunk_sizes(store: &Store, id: DocId) -> Vec<usize> {
        let txn = store.read().unwrap();
        let t = txn.open_table(tables::DOC_CHUNK).unwrap();
        t.range((id.0, 0)..=(id.0, u64::MAX))
            .unwrap()
            .map(|e| e.unwrap().1.value().len())
            .collect()
    }

    #[test]
    fn a_document_loaded_from_disk_saves_only_its_new_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let id = DocId([9; 16]);
        {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let mut w = store.write().unwrap();
            w.create_doc(id, 0).unwrap();
            for i in 0..40 {
                edit(&mut w, id, &format!("history line {i} {}", "x".repeat(64)));
            }
            w.commit().unwrap();
        }
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        let before: usize = chunk_sizes(&store, id).iter().sum();
        let mut w = store.write().unwrap();
        edit(&mut w, id, "one more");
        w.commit().unwrap();
        let sizes = chunk_sizes(&store, id);
        let last = *sizes.last().unwrap();
        // One change of a few bytes, not the forty before it again.
        assert!(
            last * 10 < before,
            "last chunk {last} bytes, history {before} bytes"
        );
        let txn = store.read().unwrap();
        let mut d = docs::load(&txn, id).unwrap().unwrap();
        assert_eq!(d.get_heads().len(), 1);
        assert_eq!(d.get_changes(&[]).len(), 41);
    }
}
