//! The authority's replica of every enterprise's documents: Automerge sync per document,
//! authorised by owner (an enterprise reads and writes only its own; submitted applications
//! and authority-written documents are frozen to it), and each enterprise's change feed,
//! read from its cursor a page at a time (a cursor read under another feed id, another
//! replica's, reads it from the start: see [`feed::epoch`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use automerge::sync;

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
use crate::store::group::GroupCommit;
use crate::store::{StoreError, Txn, WriteBatch, cases, feed, kind};

/// How long sync requests run one transaction each after one broke the protocol inside a
/// batch (see [`Replica::sync_batch`]).
pub const BATCH_PAUSE_MS: i64 = 10_000;

/// A sync request's answer, or why it has none.
type SyncResult = Result<Handled, AuthorityError>;

/// A sync request, decoded, waiting for the writer.
#[derive(Debug)]
pub(super) struct SyncJob {
    e: String,
    /// The feed id the cursor was read under.
    feed: u64,
    cursor: u64,
    /// The documents the request names (the feed page leaves them out).
    seen: HashSet<DocId>,
    docs: Vec<(DocId, sync::Message)>,
    states: PeerStates,
}

impl SyncJob {
    /// Decodes a request's messages without the writer, charging what their compressed
    /// content inflates to against one budget; a protocol violation is the refusal.
    pub(super) fn decode(
        e: &str,
        (feed, cursor): (u64, u64),
        docs: Vec<(DocId, Vec<u8>)>,
        states: PeerStates,
    ) -> Result<Self, Handled> {
        let mut seen = HashSet::new();
        let mut budget = Budget::default();
        let mut decoded = Vec::with_capacity(docs.len());
        for (doc, bytes) in docs {
            if !seen.insert(doc) {
                return Err(Handled::violation(format!("document {doc} appears twice")));
            }
            match PeerStates::decode(doc, &bytes, &mut budget) {
                Ok(m) => decoded.push((doc, m)),
                Err(err) => return Err(Handled::violation(err.to_string())),
            }
        }
        Ok(Self {
            e: e.to_owned(),
            feed,
            cursor,
            seen,
            docs: decoded,
            states,
        })
    }
}

/// Sync requests answered together, and the pause after one broke the protocol.
#[derive(Debug, Default)]
pub(super) struct SyncBatches {
    group: GroupCommit<SyncJob, (PeerStates, SyncResult)>,
    /// Office clock time (ms) until which requests are not batched.
    paused_until_ms: AtomicI64,
}

impl SyncBatches {
    pub(super) fn paused(&self, now_ms: i64) -> bool {
        now_ms < self.paused_until_ms.load(Ordering::Relaxed)
    }

    fn pause(&self, now_ms: i64) {
        self.paused_until_ms
            .fetch_max(now_ms + BATCH_PAUSE_MS, Ordering::Relaxed);
        tracing::warn!(
            pause_ms = BATCH_PAUSE_MS,
            "a sync request broke the protocol inside a batch; answering one at a time for a while"
        );
    }
}

/// Documents, feeds and each peer's sync state.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(super) office: Arc<Office>,
    /// Each connected peer's sync states; `None` while a request of it has them out.
    pub(super) sessions: Arc<Mutex<HashMap<[u8; 32], Option<PeerStates>>>>,
    pub(super) licence_requests: LicenceRequests,
    pub(super) profiles: Profiles,
    pub(super) unlocks: Unlocks,
    pub(super) batches: Arc<SyncBatches>,
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
        cursor: (u64, u64),
        docs: Vec<(DocId, Vec<u8>)>,
    ) -> Result<Handled, AuthorityError> {
        let states = self.take_session(peer);
        let started = std::time::Instant::now();
        let n = docs.len();
        // Decoding (and the inflate check) needs no writer: it runs before joining a batch.
        // A request refused here forgets the session state.
        let job = match SyncJob::decode(e, cursor, docs, states) {
            Ok(job) => job,
            Err(refused) => {
                self.disconnected(&peer);
                return Ok(refused);
            }
        };
        let (states, result) = if self.batches.paused(self.office.clock.now_ms()) {
            self.sync_batch(vec![job])
                .pop()
                .expect("one answer per job")
        } else {
            self.batches.group.run(job, |jobs| self.sync_batch(jobs))?
        };
        tracing::debug!(
            docs = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "sync request handled"
        );
        if matches!(&result, Ok(h) if !h.drop_peer) {
            self.keep_session(peer, states);
        } else {
            self.disconnected(&peer); // a failed or hostile request forgets the session
        }
        result
    }

    /// The peer's sync states for a request, left marked as out until
    /// [`Self::keep_session`] brings them back.
    pub(super) fn take_session(&self, peer: [u8; 32]) -> PeerStates {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.entry(peer)
            .or_default()
            .take()
            .unwrap_or_else(|| PeerStates::new(peer))
    }

    /// Brings a request's sync states back, unless the peer disconnected meanwhile: then
    /// they are dropped, not kept for a connection that is gone.
    pub(super) fn keep_session(&self, peer: [u8; 32], states: PeerStates) {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = s.get_mut(&peer) {
            *slot = Some(states);
        }
    }

    /// Answers a batch of sync requests in one write transaction: concurrent peers' answers
    /// share its commit (and one flush, see [`crate::store::Store::commit_shared`]) instead
    /// of paying one each. A request that breaks the protocol must leave nothing behind, and
    /// redb cannot roll back part of a transaction: the transaction is aborted, the others'
    /// in-memory sync states are undone, the breaker gets its refusal and the rest run
    /// again. So that a hostile peer cannot make the office redo others' work at will,
    /// requests then run one transaction each for [`BATCH_PAUSE_MS`].
    pub(super) fn sync_batch(&self, mut jobs: Vec<SyncJob>) -> Vec<(PeerStates, SyncResult)> {
        let mut refused: Vec<Option<Handled>> = jobs.iter().map(|_| None).collect();
        let fail_all = |jobs: Vec<SyncJob>, err: StoreError| {
            jobs.into_iter()
                .map(|j| (j.states, Err(StoreError::batch(&err).into())))
                .collect()
        };
        'attempt: loop {
            let mut w = match self.office.store.write() {
                Ok(w) => w,
                Err(err) => return fail_all(jobs, err),
            };
            let mut stored_changes = false;
            let mut answers = Vec::with_capacity(jobs.len());
            for i in 0..jobs.len() {
                if refused[i].is_some() {
                    answers.push(None);
                    continue;
                }
                jobs[i].states.begin_request();
                match self.sync_in(&mut w, &mut jobs[i]) {
                    Ok((h, _)) if h.drop_peer => {
                        drop(w); // aborts every request's writes of this attempt
                        for job in &mut jobs[..i] {
                            job.states.undo_request();
                        }
                        refused[i] = Some(h);
                        self.batches.pause(self.office.clock.now_ms());
                        continue 'attempt;
                    }
                    Ok((h, changed)) => {
                        stored_changes |= changed;
                        answers.push(Some(h));
                    }
                    Err(err) => {
                        drop(w);
                        return fail_all(jobs, err);
                    }
                }
            }
            // The answers acknowledge the changes they received: those wait for the disk,
            // shared with the other writers waiting at the same time (the simulation's
            // restarts are power losses and find it if they do not). A batch that stored
            // none (sync states, new empty documents) needs not.
            let committed = if stored_changes {
                self.office.store.commit_shared(w)
            } else {
                w.commit_unacknowledged()
            };
            if let Err(err) = committed {
                return fail_all(jobs, err);
            }
            return jobs
                .into_iter()
                .zip(answers.into_iter().zip(refused))
                .map(|(job, (answer, refusal))| {
                    let h = answer.or(refusal).expect("answered or refused");
                    (job.states, Ok(h))
                })
                .collect();
        }
    }

    /// One request's work in the batch's transaction: its documents' messages applied
    /// (authorised by owner), its answers and the page of the enterprise's feed after its
    /// cursor. Returns the answer and whether any document changed.
    fn sync_in(
        &self,
        w: &mut WriteBatch<'_>,
        job: &mut SyncJob,
    ) -> Result<(Handled, bool), StoreError> {
        let (e, states) = (job.e.as_str(), &mut job.states);
        let mut stored_changes = false;
        let mut replies: Vec<(DocId, DocReply)> = Vec::with_capacity(job.docs.len());
        let mut decoded = job.docs.iter().cloned().peekable();
        while decoded.peek().is_some() {
            // A window at a time: authorise, load first syncs in parallel, apply.
            let mut accepted = Vec::new();
            for (doc, msg) in decoded.by_ref().take(docsync::WINDOW) {
                let writes = !msg.changes.is_empty();
                let owner = feed::owner(w, doc)?;
                // What freezes a document matters only to a message that changes it.
                let facts = DocFacts {
                    public: owner.as_deref() == Some(crate::store::directory_doc::PUBLIC),
                    authority_written: writes && feed::is_authority_doc(w, doc)?,
                    submitted: writes && Self::locked(w, doc)?,
                    owner: owner.as_deref(),
                };
                match replication::access(e, facts, writes) {
                    Access::Create => {
                        // A document this enterprise created: the replica starts empty and
                        // the sync protocol fills it.
                        w.create_doc(doc, kind::OTHER)?;
                        feed::set_owner(w, doc, e)?;
                    }
                    Access::Sync => {}
                    Access::Refuse => {
                        replies.push((doc, DocReply::NotFound));
                        continue;
                    }
                }
                accepted.push((doc, msg));
            }
            let mut loaded = docsync::preload(w, &accepted)?;
            for (doc, msg) in accepted {
                match states.receive(w, doc, msg, loaded.remove(&doc)) {
                    Ok(changed) => {
                        stored_changes |= changed;
                        if changed {
                            feed::push(w, e, doc, states.peer())?;
                            self.licence_requests.note(w, e, doc)?;
                            self.profiles.note(w, e, doc)?;
                            self.unlocks.note(w, e, doc)?;
                        }
                    }
                    Err(DocSyncError::Store(s)) => return Err(s),
                    Err(err) => return Ok((Handled::violation(err.to_string()), false)),
                }
                let reply = match states.generate(w, doc)? {
                    Some(m) => DocReply::Message(m),
                    None => DocReply::Done,
                };
                replies.push((doc, reply));
            }
        }
        // Documents of this enterprise changed since the caller's cursor, a page at a time;
        // from the start if the cursor is another feed's.
        let epoch = feed::epoch(w)?;
        let from = if job.feed == epoch { job.cursor } else { 0 };
        let peer = states.peer();
        let mut cap = ScanCap::new(MAX_DOCS);
        let entries: Vec<Entry> = feed::after(w, e, from, |entry| cap.go_on(entry.writer == peer))?
            .into_iter()
            .map(|f| Entry {
                seq: f.seq,
                doc: f.doc,
                by_asker: f.writer == peer,
            })
            .collect();
        let room = MAX_DOCS.saturating_sub(replies.len());
        let page = replication::page(
            from,
            &entries,
            &job.seen,
            room,
            cap.reached,
            feed::head(w, e)?,
        );
        for doc in page.send {
            if let Some(m) = states.generate(w, doc)? {
                replies.push((doc, DocReply::Message(m)));
            }
        }
        let answer = Handled::ok(Response::Sync {
            feed: epoch,
            cursor: page.cursor,
            docs: replies,
            more: page.more,
        });
        Ok((answer, stored_changes))
    }

    /// Peers with sync states in memory (connected, or with a request in progress).
    pub fn sessions_held(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
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
