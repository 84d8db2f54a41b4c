//! Automerge's sync protocol for one document against one peer, on top of a
//! [`WriteBatch`]: states live in memory for a session and their shared heads are
//! persisted in `SYNC_STATE`, so a restart resumes from what both sides last agreed on.
//!
//! Messages from a peer are untrusted: decoding and applying run under `catch_unwind`, and
//! any failure leaves the document as it was (the batch evicts what it touched).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::sync::{self, SyncDoc};
use exlic_client::DocId;
use redb::ReadableTable;

use crate::store::tables::SYNC_STATE;
use crate::store::{StoreError, WriteBatch};

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

/// The sync states of one peer's documents for one session.
#[derive(Debug)]
pub struct PeerStates {
    peer: [u8; 32],
    states: HashMap<DocId, sync::State>,
}

impl PeerStates {
    /// Empty states for `peer` (loaded lazily from the store).
    pub fn new(peer: [u8; 32]) -> Self {
        Self {
            peer,
            states: HashMap::new(),
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

    fn state(&mut self, w: &WriteBatch<'_>, doc: DocId) -> Result<&mut sync::State, StoreError> {
        if !self.states.contains_key(&doc) {
            let t = w.txn().open_table(SYNC_STATE)?;
            let s = t
                .get((self.peer, doc.0))?
                .and_then(|v| sync::State::decode(v.value()).ok())
                .unwrap_or_default();
            self.states.insert(doc, s);
        }
        Ok(self.states.get_mut(&doc).expect("inserted"))
    }

    fn persist(&self, w: &WriteBatch<'_>, doc: DocId) -> Result<(), StoreError> {
        if let Some(s) = self.states.get(&doc) {
            let mut t = w.txn().open_table(SYNC_STATE)?;
            t.insert((self.peer, doc.0), s.encode().as_slice())?;
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

    /// Decodes a peer's message without applying it (for authorisation checks).
    pub fn decode(doc: DocId, msg: &[u8]) -> Result<sync::Message, DocSyncError> {
        match catch_unwind(|| sync::Message::decode(msg)) {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(DocSyncError::Malformed(doc, e.to_string())),
            Err(_) => Err(DocSyncError::Malformed(doc, "decoder panicked".into())),
        }
    }

    /// Applies a peer's message to `doc` (which must exist in the batch) and persists the
    /// document's new changes and the shared heads. Returns whether the document changed.
    pub fn receive(
        &mut self,
        w: &mut WriteBatch<'_>,
        doc: DocId,
        msg: sync::Message,
    ) -> Result<bool, DocSyncError> {
        let mut state = std::mem::take(self.state(w, doc)?);
        let d = w
            .doc(doc)?
            .ok_or(DocSyncError::Refused(doc, "no such document".into()))?;
        let before = d.get_heads();
        let applied = catch_unwind(AssertUnwindSafe(|| {
            d.sync().receive_sync_message(&mut state, msg)
        }));
        match applied {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(DocSyncError::Refused(doc, e.to_string())),
            Err(_) => return Err(DocSyncError::Refused(doc, "automerge panicked".into())),
        }
        let changed = d.get_heads() != before;
        self.states.insert(doc, state);
        if changed {
            w.save_doc(doc)?;
        }
        self.persist(w, doc)?;
        Ok(changed)
    }
}
