//! Automerge's sync protocol for one document against one peer, on top of a
//! [`WriteBatch`]: states live in memory for a session and their shared heads are
//! persisted in `SYNC_STATE`, so a restart resumes from what both sides last agreed on.
//!
//! Messages from a peer are untrusted: decoding and applying run under `catch_unwind`, and
//! any failure leaves the document as it was (the batch evicts what it touched).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, LoadOptions, OnPartialLoad};
use exlic_client::DocId;

use crate::store::{StoreError, WriteBatch, sync_state};
use exlic_client::inflate::Budget;

/// Why a peer's message was not applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocSyncError {
    /// The message does not decode.
    #[error("malformed sync message for {0}: {1}")]
    Malformed(DocId, String),
    /// Automerge refused the changes (or panicked on them).
    #[error("sync message for {0} refused: {1}")]
    Refused(DocId, String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A peer's first sync of a document this node holds nothing of yet, already loaded from
/// the bytes its message carries (see [`preload`]). Adopting it skips applying every
/// change into an empty document and re-encoding them all for the store.
#[derive(Debug)]
pub struct Preloaded {
    doc: AutoCommit,
    bytes: Vec<u8>,
}

/// Documents handled per parallel step ([`preload`], [`PeerStates::generate_many`]): enough
/// to keep every core busy, few enough that the documents waiting in between stay a small
/// part of memory.
pub const WINDOW: usize = 128;

/// Loads, spread over the machine's cores, the contents of those `msgs` that carry changes
/// for documents that are absent or empty in `w`: a first sync, typically Automerge's
/// whole-document form. Content that does not load in full is left out here and goes
/// through the ordinary path, which reports it.
pub fn preload(
    w: &mut WriteBatch<'_>,
    msgs: &[(DocId, sync::Message)],
) -> Result<HashMap<DocId, Preloaded>, StoreError> {
    let mut wanted = Vec::new();
    for (doc, msg) in msgs {
        if msg.changes.is_empty() {
            continue;
        }
        let blank = match w.doc(*doc)? {
            None => true,
            Some(d) => d.get_heads().is_empty(),
        };
        if blank {
            let bytes: Vec<u8> = msg.changes.iter().flatten().copied().collect();
            wanted.push((*doc, bytes));
        }
    }
    let loaded = crate::par::par_map(wanted, |(id, bytes)| {
        let doc = catch_unwind(AssertUnwindSafe(|| {
            let strict = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
            AutoCommit::load_with_options(&bytes, strict)
        }))
        .ok()?
        .ok()?;
        Some((id, Preloaded { doc, bytes }))
    });
    Ok(loaded.into_iter().flatten().collect())
}

/// Automerge's receive step, with a refusal or a panic inside Automerge reported as
/// [`DocSyncError::Refused`].
fn apply(
    d: &mut AutoCommit,
    doc: DocId,
    state: &mut sync::State,
    msg: sync::Message,
) -> Result<(), DocSyncError> {
    match catch_unwind(AssertUnwindSafe(|| {
        d.sync().receive_sync_message(state, msg)
    })) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DocSyncError::Refused(doc, e.to_string())),
        Err(_) => Err(DocSyncError::Refused(doc, "automerge panicked".into())),
    }
}

/// The sync states of one peer's documents for one session.
#[derive(Debug)]
pub struct PeerStates {
    peer: [u8; 32],
    states: HashMap<DocId, sync::State>,
    /// Documents whose state the current request used (see [`Self::begin_request`]).
    touched: Vec<DocId>,
}

impl PeerStates {
    /// Empty states for `peer` (loaded lazily from the store).
    pub fn new(peer: [u8; 32]) -> Self {
        Self {
            peer,
            states: HashMap::new(),
            touched: Vec::new(),
        }
    }

    /// The peer's key.
    pub fn peer(&self) -> [u8; 32] {
        self.peer
    }

    /// Forgets in-memory state (after a disconnect) so the next session starts from the
    /// persisted shared heads.
    pub fn reset(&mut self) {
        self.states.clear();
    }

    /// Starts a request: what it does to the states can be undone with
    /// [`Self::undo_request`] if its transaction is aborted.
    pub fn begin_request(&mut self) {
        self.touched.clear();
    }

    /// Undoes in memory what the current request did, its transaction having been
    /// aborted: the states it used are read again from the store, which holds them as
    /// they were before it (a fresh session's starting point, from which sync resumes).
    pub fn undo_request(&mut self) {
        for doc in self.touched.drain(..) {
            self.states.remove(&doc);
        }
    }

    fn state(&mut self, w: &WriteBatch<'_>, doc: DocId) -> Result<&mut sync::State, StoreError> {
        self.touched.push(doc);
        if !self.states.contains_key(&doc) {
            let s = sync_state::get(w, &self.peer, doc)?
                .and_then(|v| sync::State::decode(&v).ok())
                .unwrap_or_default();
            self.states.insert(doc, s);
        }
        Ok(self.states.get_mut(&doc).expect("inserted"))
    }

    fn persist(&self, w: &WriteBatch<'_>, doc: DocId) -> Result<(), StoreError> {
        if let Some(s) = self.states.get(&doc) {
            sync_state::put(w, &self.peer, doc, &s.encode())?;
        }
        Ok(())
    }

    /// Our next message for `doc`, if we have anything to say. `None` also if the document
    /// does not exist here.
    pub fn generate(
        &mut self,
        w: &mut WriteBatch<'_>,
        doc: DocId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if w.doc(doc)?.is_none() {
            return Ok(None);
        }
        let mut state = std::mem::take(self.state(w, doc)?);
        let d = w.doc(doc)?.expect("exists");
        let msg = d
            .sync()
            .generate_sync_message(&mut state)
            .map(|m| m.encode());
        self.states.insert(doc, state);
        Ok(msg)
    }

    /// Our next messages for `docs`, in order, generated spread over the machine's cores
    /// (a first sync's whole-document messages are worth it). Documents that do not exist
    /// here, or have nothing to say, are left out.
    pub fn generate_many(
        &mut self,
        w: &mut WriteBatch<'_>,
        docs: &[DocId],
    ) -> Result<Vec<(DocId, Vec<u8>)>, StoreError> {
        let mut out = Vec::with_capacity(docs.len());
        for window in docs.chunks(WINDOW) {
            let mut states = HashMap::new();
            for &d in window {
                if w.doc(d)?.is_some() {
                    states.insert(d, std::mem::take(self.state(w, d)?));
                }
            }
            // The cache drops nothing while a write holds it, so every document loaded
            // above is here; one that were not would be generated alone below.
            let jobs: Vec<_> = w
                .cached_docs_mut(&states.keys().copied().collect())
                .into_iter()
                .map(|(d, doc)| (d, states.remove(&d).expect("taken above"), doc))
                .collect();
            let done = crate::par::par_map(jobs, |(d, mut state, doc)| {
                let msg = doc.sync().generate_sync_message(&mut state);
                (d, state, msg.map(|m| m.encode()))
            });
            let mut msgs = HashMap::new();
            for (d, state, msg) in done {
                self.states.insert(d, state);
                if let Some(m) = msg {
                    msgs.insert(d, m);
                }
            }
            for (d, state) in states {
                self.states.insert(d, state);
                if let Some(m) = self.generate(w, d)? {
                    msgs.insert(d, m);
                }
            }
            out.extend(window.iter().filter_map(|d| Some((*d, msgs.remove(d)?))));
        }
        Ok(out)
    }

    /// Decodes a peer's message without applying it (for authorisation checks), charging
    /// what its compressed content inflates to against the request's `budget`.
    pub fn decode(
        doc: DocId,
        msg: &[u8],
        budget: &mut Budget,
    ) -> Result<sync::Message, DocSyncError> {
        let m = match catch_unwind(|| sync::Message::decode(msg)) {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(DocSyncError::Malformed(doc, e.to_string())),
            Err(_) => return Err(DocSyncError::Malformed(doc, "decoder panicked".into())),
        };
        for chunk in m.changes.iter() {
            budget
                .charge(chunk)
                .map_err(|e| DocSyncError::Malformed(doc, e.to_string()))?;
        }
        Ok(m)
    }

    /// Applies a peer's message to `doc` (which must exist in the batch) and persists the
    /// document's new changes and the shared heads. Returns whether the document changed.
    /// `pre` is the message's content loaded by [`preload`], if it was.
    pub fn receive(
        &mut self,
        w: &mut WriteBatch<'_>,
        doc: DocId,
        msg: sync::Message,
        pre: Option<Preloaded>,
    ) -> Result<bool, DocSyncError> {
        let mut state = std::mem::take(self.state(w, doc)?);
        let msg = match pre {
            Some(pre) => match self.adopt(w, doc, &mut state, msg, pre)? {
                None => return Ok(true),
                Some(msg) => msg,
            },
            None => msg,
        };
        let d = w
            .doc(doc)?
            .ok_or(DocSyncError::Refused(doc, "no such document".into()))?;
        let before = d.get_heads();
        apply(d, doc, &mut state, msg)?;
        let changed = d.get_heads() != before;
        self.states.insert(doc, state);
        if changed {
            w.save_doc(doc)?;
        }
        self.persist(w, doc)?;
        Ok(changed)
    }

    /// The fast path of [`Self::receive`]: the document is still empty and `pre` holds
    /// everything the message's heads name, so the loaded document replaces it and the
    /// message is applied without its changes, leaving the sync state exactly as applying
    /// them would have. Returns the message back if the fast path does not apply.
    fn adopt(
        &mut self,
        w: &mut WriteBatch<'_>,
        doc: DocId,
        state: &mut sync::State,
        msg: sync::Message,
        mut pre: Preloaded,
    ) -> Result<Option<sync::Message>, DocSyncError> {
        let blank = w.doc(doc)?.is_some_and(|d| d.get_heads().is_empty());
        let heads = pre.doc.get_heads();
        if !blank || !msg.heads.iter().all(|h| heads.contains(h)) {
            return Ok(Some(msg));
        }
        w.adopt_doc(doc, pre.doc, &pre.bytes)?;
        let d = w.doc(doc)?.expect("adopted");
        let stripped = sync::Message {
            changes: sync::ChunkList::empty(),
            ..msg
        };
        // Applying the changes would leave what we last sent untouched; receiving the
        // message with heads we already hold would move it.
        let last_sent = state.last_sent_heads.clone();
        apply(d, doc, state, stripped)?;
        state.last_sent_heads = last_sent;
        self.states.insert(doc, std::mem::take(state));
        self.persist(w, doc)?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    //! Seeds for the fuzz corpora (`client-lib/fuzz/corpus/`): real messages of every
    //! inbound decoder. `EXLIC_WRITE_CORPUS=1 cargo test -p exlic-node corpus` rewrites them.
    use automerge::sync::{self, SyncDoc};
    use automerge::transaction::Transactable;
    use exlic_client::DocId;
    use exlic_client::protocol::{DocReply, ErrorCode, Request, Response};

    fn sync_messages() -> Vec<Vec<u8>> {
        let mut a = automerge::AutoCommit::new();
        a.put(automerge::ROOT, "remarks", "seed").unwrap();
        a.commit();
        let mut b = automerge::AutoCommit::new();
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        let mut out = Vec::new();
        for _ in 0..4 {
            if let Some(m) = a.sync().generate_sync_message(&mut sa) {
                let e = m.encode();
                out.push(e.clone());
                b.sync()
                    .receive_sync_message(&mut sb, sync::Message::decode(&e).unwrap())
                    .unwrap();
            }
            if let Some(m) = b.sync().generate_sync_message(&mut sb) {
                let e = m.encode();
                out.push(e.clone());
                a.sync()
                    .receive_sync_message(&mut sa, sync::Message::decode(&e).unwrap())
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn corpus_seeds_decode() {
        let msgs = sync_messages();
        assert!(msgs.len() >= 2);
        let id = DocId([3; 16]);
        let reqs = vec![
            Request::Sync {
                feed: 0,
                cursor: 7,
                docs: msgs.iter().map(|m| (id, m.clone())).collect(),
            },
            Request::Enrol {
                secret: [1; 32],
                master_key: [2; 32],
            },
            Request::BlobStatus {
                sha256: [4; 32],
                size: 9,
            },
            Request::BlobPut {
                sha256: [4; 32],
                size: 9,
                offset: 0,
                bytes: vec![1; 9],
            },
            Request::BlobGet {
                sha256: [4; 32],
                offset: 0,
            },
            Request::Submit(vec![1, 0, 0, 0, 0]),
        ];
        let resps = [
            Response::Sync {
                feed: 0,
                cursor: 3,
                more: false,
                docs: vec![
                    (id, DocReply::Message(msgs[0].clone())),
                    (id, DocReply::Done),
                    (id, DocReply::NotFound),
                ],
            },
            Response::BlobHave { received: 3 },
            Response::error(ErrorCode::BadSeal, "no"),
            Response::Enrolled {
                enterprise_uscc: "913502000728319549".into(),
            },
        ];
        for r in &reqs {
            assert_eq!(&Request::decode(&r.encode()).unwrap(), r);
        }
        if std::env::var_os("EXLIC_WRITE_CORPUS").is_none() {
            return;
        }
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../client-lib/fuzz/corpus");
        let write = |target: &str, name: String, bytes: &[u8]| {
            let dir = format!("{root}/{target}");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(format!("{dir}/{name}"), bytes).unwrap();
        };
        for (i, m) in msgs.iter().enumerate() {
            write("automerge_sync", format!("msg{i}"), m);
        }
        for (i, r) in reqs.iter().enumerate() {
            write("protocol_request", format!("req{i}"), &r.encode());
        }
        for (i, r) in resps.iter().enumerate() {
            write("protocol_response", format!("resp{i}"), &r.encode());
        }
        let vector: serde_json::Value =
            serde_json::from_str(include_str!("../../../client-lib/vectors/seal-v1.json")).unwrap();
        let env = hex::decode(vector["envelope_hex"].as_str().unwrap()).unwrap();
        write("sealed_submission", "vector".into(), &env);
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let receipt = exlic_client::receipt::Receipt {
            seal_hash: [1; 32],
            application_id: id,
            application_no: "269999400000560600000".into(),
            revision: 1,
            enterprise_uscc: "913502000728319549".into(),
            received_at_ms: 1,
            authority_key: key.verifying_key().to_bytes(),
        }
        .sign(&key);
        write("signed_objects", "receipt".into(), &receipt);
    }
}

#[cfg(test)]
mod fast_path_tests {
    //! The first-sync fast path ([`preload`] and adoption) and parallel generation, each
    //! against the ordinary one-by-one path.
    use super::*;
    use crate::store::{Store, StoreOptions};
    use automerge::transaction::Transactable;

    const DOC: DocId = DocId([5; 16]);

    fn open(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(&dir.path().join(name), StoreOptions::default()).unwrap()
    }

    /// A sender holding `DOC` with 30 changes.
    fn sender(dir: &tempfile::TempDir) -> Store {
        let s = open(dir, "sender.redb");
        let mut w = s.write().unwrap();
        let d = w.create_doc(DOC, 0).unwrap();
        for i in 0..30 {
            d.put(automerge::ROOT, format!("f{i}"), "x".repeat(40))
                .unwrap();
            d.commit();
        }
        w.save_doc(DOC).unwrap();
        w.commit().unwrap();
        s
    }

    #[test]
    fn a_request_undone_after_an_abort_is_answered_again_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let a = sender(&dir);
        let mut peer = PeerStates::new([9; 32]);
        // The peer has none of its changes (and one of its own): the answer carries every
        // change, and remembers them as sent.
        let mut other = automerge::AutoCommit::new();
        other.put(automerge::ROOT, "own", "y").unwrap();
        other.commit();
        let hello = other
            .sync()
            .generate_sync_message(&mut sync::State::new())
            .unwrap();
        let answer = |peer: &mut PeerStates| {
            let mut w = a.write().unwrap();
            peer.begin_request();
            peer.receive(&mut w, DOC, hello.clone(), None).unwrap();
            peer.generate(&mut w, DOC).unwrap().unwrap()
            // dropped uncommitted: the transaction is aborted
        };
        let first = answer(&mut peer);
        assert!(!sync::Message::decode(&first).unwrap().changes.is_empty());
        peer.undo_request();
        assert_eq!(answer(&mut peer), first, "the changes are sent again");
    }

    /// Syncs `DOC` from `a` to the blank `b` until both are quiet; returns the sync states
    /// `b` held for `a` after its first message with changes, and the rounds taken.
    fn sync(a: &Store, b: &Store, fast: bool) -> (sync::State, usize) {
        let (mut sa, mut sb) = (PeerStates::new([1; 32]), PeerStates::new([2; 32]));
        {
            let mut w = b.write().unwrap();
            w.create_doc(DOC, 0).unwrap();
            w.commit().unwrap();
        }
        let mut state_after_changes = None;
        for round in 0..10 {
            let mut w = a.write().unwrap();
            let m = sa.generate(&mut w, DOC).unwrap();
            w.commit().unwrap();
            let mut quiet = m.is_none();
            if let Some(m) = m {
                let msg = PeerStates::decode(DOC, &m, &mut Budget::default()).unwrap();
                let carries = !msg.changes.is_empty();
                let mut w = b.write().unwrap();
                let mut pre = if fast {
                    preload(&mut w, &[(DOC, msg.clone())]).unwrap()
                } else {
                    HashMap::new()
                };
                assert_eq!(pre.contains_key(&DOC), fast && carries);
                sb.receive(&mut w, DOC, msg, pre.remove(&DOC)).unwrap();
                if carries {
                    state_after_changes = Some(sb.states[&DOC].clone());
                }
                w.commit().unwrap();
            }
            let mut w = b.write().unwrap();
            let r = sb.generate(&mut w, DOC).unwrap();
            w.commit().unwrap();
            if let Some(r) = r {
                quiet = false;
                let msg = PeerStates::decode(DOC, &r, &mut Budget::default()).unwrap();
                let mut w = a.write().unwrap();
                sa.receive(&mut w, DOC, msg, None).unwrap();
                w.commit().unwrap();
            }
            if quiet {
                return (state_after_changes.expect("changes were sent"), round);
            }
        }
        panic!("sync did not settle");
    }

    fn heads(s: &Store) -> Vec<automerge::ChangeHash> {
        let mut w = s.write().unwrap();
        let h = w.doc(DOC).unwrap().unwrap().get_heads();
        w.finish_read_only();
        h
    }

    #[test]
    fn a_first_sync_adopts_the_senders_bytes_and_ends_like_the_ordinary_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = sender(&dir);
        let fast = open(&dir, "fast.redb");
        let slow = open(&dir, "slow.redb");
        let (fast_state, fast_rounds) = sync(&a, &fast, true);
        let (slow_state, slow_rounds) = sync(&a, &slow, false);
        assert_eq!(heads(&fast), heads(&a));
        assert_eq!(heads(&slow), heads(&a));
        // The same protocol state, so the conversation that follows is the same.
        assert_eq!(fast_state.shared_heads, slow_state.shared_heads);
        assert_eq!(fast_state.last_sent_heads, slow_state.last_sent_heads);
        assert_eq!(fast_state.their_heads, slow_state.their_heads);
        assert_eq!(fast_state.their_need, slow_state.their_need);
        assert_eq!(fast_rounds, slow_rounds);
        // Stored as received (one chunk), and it loads back from disk at the same heads.
        let txn = fast.read().unwrap();
        assert_eq!(crate::store::docs::chunk_count(&txn, DOC).unwrap(), 1);
        let mut loaded = crate::store::docs::load(&txn, DOC).unwrap().unwrap();
        assert_eq!(loaded.get_heads(), heads(&a));
        drop(txn);
        // A later edit at the receiver is saved as a change of its own.
        let mut w = fast.write().unwrap();
        let d = w.doc(DOC).unwrap().unwrap();
        d.put(automerge::ROOT, "later", "y").unwrap();
        d.commit();
        w.save_doc(DOC).unwrap();
        w.commit().unwrap();
        let txn = fast.read().unwrap();
        assert_eq!(crate::store::docs::chunk_count(&txn, DOC).unwrap(), 2);
        let mut loaded = crate::store::docs::load(&txn, DOC).unwrap().unwrap();
        assert_eq!(loaded.get_changes(&[]).len(), 31);
    }

    #[test]
    fn messages_generated_in_parallel_match_those_generated_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        // A cache much smaller than a window, so some documents drop out again.
        let opts = StoreOptions {
            doc_cache: 4,
            ..StoreOptions::default()
        };
        let s = Store::open(&dir.path().join("s.redb"), opts).unwrap();
        let ids: Vec<DocId> = (0..200u8).map(|i| DocId([i; 16])).collect();
        let mut w = s.write().unwrap();
        for (n, id) in ids.iter().enumerate() {
            let d = w.create_doc(*id, 0).unwrap();
            for k in 0..=n % 5 {
                d.put(automerge::ROOT, format!("k{k}"), n as i64).unwrap();
                d.commit();
            }
            w.save_doc(*id).unwrap();
        }
        w.commit().unwrap();
        let mut asked: Vec<DocId> = ids.clone();
        asked.insert(7, DocId([0xee; 16])); // not held here: left out
        let mut w = s.write().unwrap();
        let many = PeerStates::new([1; 32])
            .generate_many(&mut w, &asked)
            .unwrap();
        let mut one = PeerStates::new([1; 32]);
        let singly: Vec<_> = asked
            .iter()
            .filter_map(|d| Some((*d, one.generate(&mut w, *d).unwrap()?)))
            .collect();
        w.finish_read_only();
        assert_eq!(many.len(), ids.len());
        assert_eq!(many, singly);
    }

    #[test]
    fn content_that_does_not_load_is_not_preloaded_and_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let b = open(&dir, "b.redb");
        let mut w = b.write().unwrap();
        w.create_doc(DOC, 0).unwrap();
        let a = sender(&dir);
        let mut aw = a.write().unwrap();
        let whole = aw.doc(DOC).unwrap().unwrap().save();
        aw.finish_read_only();
        let mut broken = whole;
        let n = broken.len();
        broken[n / 2] ^= 0xff;
        let msg = sync::Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: vec![broken].into(),
            flags: None,
            version: sync::MessageVersion::V2,
        };
        let pre = preload(&mut w, &[(DOC, msg.clone())]).unwrap();
        assert!(pre.is_empty());
        let mut states = PeerStates::new([1; 32]);
        assert!(states.receive(&mut w, DOC, msg, None).is_err());
    }
}
