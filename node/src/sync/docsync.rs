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
