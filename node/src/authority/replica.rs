//! The authority's replica of every enterprise's documents: Automerge sync per document,
//! authorised by owner (an enterprise reads and writes only its own; submitted applications
//! and authority-written documents are frozen to it), and each enterprise's change feed,
//! read from its cursor a page at a time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use exlic_client::DocId;
use exlic_client::inflate::Budget;
use exlic_client::protocol::{DocReply, MAX_DOCS, Response};
use exlic_client::status::ApplicationStatus;

use super::licence_request::LicenceRequests;
use super::office::Office;
use super::profiles::Profiles;
use super::unlocks::Unlocks;
use super::{AuthorityError, Handled};
use crate::domain::replication::{self, Access, DocFacts, Entry, ScanCap};
use crate::replica::docsync::{self, DocSyncError, PeerStates};
use crate::store::{StoreError, Txn, cases, feed, kind};

/// Documents, feeds and each peer's sync state.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(super) office: Arc<Office>,
    pub(super) sessions: Arc<Mutex<HashMap<[u8; 32], PeerStates>>>,
    pub(super) licence_requests: LicenceRequests,
    pub(super) profiles: Profiles,
    pub(super) unlocks: Unlocks,
}

impl Replica {
    /// Forgets the in-memory sync state of a peer whose connection closed.
    pub fn disconnected(&self, peer: &[u8; 32]) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(peer);
    }

    /// Whether `doc` is a submitted application the enterprise may not change now.
    fn locked(txn: &impl Txn, doc: DocId) -> Result<bool, StoreError> {
        Ok(cases::get(txn, doc)?.is_some_and(|c| c.status != ApplicationStatus::Returned))
    }

    pub(super) fn sync(
        &self,
        peer: [u8; 32],
        e: &str,
        cursor: u64,
        docs: Vec<(DocId, Vec<u8>)>,
    ) -> Result<Handled, AuthorityError> {
        let mut states = {
            let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            s.remove(&peer).unwrap_or_else(|| PeerStates::new(peer))
        };
        let started = std::time::Instant::now();
        let n = docs.len();
        let result = self.sync_inner(&mut states, e, cursor, docs);
        tracing::debug!(
            docs = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "sync request handled"
        );
        match &result {
            Ok(h) if !h.drop_peer => {
                self.sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(peer, states);
            }
            _ => {} // a failed or hostile request forgets the session state
        }
        result
    }

    fn sync_inner(
        &self,
        states: &mut PeerStates,
        e: &str,
        cursor: u64,
        docs: Vec<(DocId, Vec<u8>)>,
    ) -> Result<Handled, AuthorityError> {
        // Decoding (and the inflate check) needs no writer: it runs before taking it.
        let mut seen = HashSet::new();
        let mut budget = Budget::default();
        let mut decoded = Vec::with_capacity(docs.len());
        for (doc, bytes) in docs {
            if !seen.insert(doc) {
                return Ok(Handled::violation(format!("document {doc} appears twice")));
            }
            match PeerStates::decode(doc, &bytes, &mut budget) {
                Ok(m) => decoded.push((doc, m)),
                Err(err) => return Ok(Handled::violation(err.to_string())),
            }
        }
        let mut w = self.office.store.write()?;
        let mut stored_changes = false;
        let mut replies: Vec<(DocId, DocReply)> = Vec::with_capacity(decoded.len());
        let mut decoded = decoded.into_iter().peekable();
        while decoded.peek().is_some() {
            // A window at a time: authorise, load first syncs in parallel, apply.
            let mut accepted = Vec::new();
            for (doc, msg) in decoded.by_ref().take(docsync::WINDOW) {
                let writes = !msg.changes.is_empty();
                let owner = feed::owner(&w, doc)?;
                // What freezes a document matters only to a message that changes it.
                let facts = DocFacts {
                    public: owner.as_deref() == Some(crate::store::directory_doc::PUBLIC),
                    authority_written: writes && feed::is_authority_doc(&w, doc)?,
                    submitted: writes && Self::locked(&w, doc)?,
                    owner: owner.as_deref(),
                };
                match replication::access(e, facts, writes) {
                    Access::Create => {
                        // A document this enterprise created: the replica starts empty and
                        // the sync protocol fills it.
                        w.create_doc(doc, kind::OTHER)?;
                        feed::set_owner(&w, doc, e)?;
                    }
                    Access::Sync => {}
                    Access::Refuse => {
                        replies.push((doc, DocReply::NotFound));
                        continue;
                    }
                }
                accepted.push((doc, msg));
            }
            let mut loaded = docsync::preload(&mut w, &accepted)?;
            for (doc, msg) in accepted {
                match states.receive(&mut w, doc, msg, loaded.remove(&doc)) {
                    Ok(changed) => {
                        stored_changes |= changed;
                        if changed {
                            feed::push(&w, e, doc, states.peer())?;
                            self.licence_requests.note(&mut w, e, doc)?;
                            self.profiles.note(&mut w, e, doc)?;
                            self.unlocks.note(&mut w, e, doc)?;
                        }
                    }
                    Err(DocSyncError::Store(s)) => return Err(s.into()),
                    Err(err) => return Ok(Handled::violation(err.to_string())),
                }
                let reply = match states.generate(&mut w, doc)? {
                    Some(m) => DocReply::Message(m),
                    None => DocReply::Done,
                };
                replies.push((doc, reply));
            }
        }
        // Documents of this enterprise changed since the caller's cursor, a page at a time.
        let peer = states.peer();
        let mut cap = ScanCap::new(MAX_DOCS);
        let entries: Vec<Entry> =
            feed::after(&w, e, cursor, |entry| cap.go_on(entry.writer == peer))?
                .into_iter()
                .map(|f| Entry {
                    seq: f.seq,
                    doc: f.doc,
                    by_asker: f.writer == peer,
                })
                .collect();
        let room = MAX_DOCS.saturating_sub(replies.len());
        let page = replication::page(
            cursor,
            &entries,
            &seen,
            room,
            cap.reached,
            feed::head(&w, e)?,
        );
        for doc in page.send {
            if let Some(m) = states.generate(&mut w, doc)? {
                replies.push((doc, DocReply::Message(m)));
            }
        }
        // The answer acknowledges the changes it received: those wait for the disk, shared
        // with the other peers' answers waiting at the same time (the simulation's restarts
        // are power losses and find it if they do not). An answer that stored none (sync
        // state, a new empty document) needs not.
        if stored_changes {
            self.office.store.commit_shared(w)?;
        } else {
            w.commit_unacknowledged()?;
        }
        Ok(Handled::ok(Response::Sync {
            cursor: page.cursor,
            docs: replies,
            more: page.more,
        }))
    }

    /// Heads of a document in the replica.
    pub fn heads(&self, doc: DocId) -> Result<Option<Vec<[u8; 32]>>, AuthorityError> {
        Ok(self
            .office
            .store
            .with_doc(doc, |d| d.get_heads().into_iter().map(|h| h.0).collect())?)
    }

    /// Documents held (all kinds).
    pub fn doc_count(&self) -> Result<u64, AuthorityError> {
        Ok(crate::store::docs::count(&self.office.store.read()?)?)
    }
}
