//! The enterprise side of sync, as store operations: which documents changed since the
//! authority last acknowledged, Automerge messages out and in, the attachments still to
//! upload, and what the authority's documents say (cases, licences, decisions). Sealed
//! submissions and the office's answers to them are [`super::delivery`]'s.

use automerge::ActorId;
use exlic_client::DocId;
use exlic_client::protocol::{BLOB_CHUNK, DocReply};
use exlic_client::status::ApplicationStatus;

use super::{EnterpriseError, Result};
use crate::clock::{china_date, date_key};
use crate::replica::docsync::{self, DocSyncError, PeerStates};
use crate::store::app_state::{self, AppState};
use crate::store::blobs::Queue;
use crate::store::kind;
use crate::store::{
    StoreError, WriteBatch, blobs, docs, form_doc, index, licences, meta_get, meta_put, seals,
};
use crate::upstream::Link;
use exlic_client::inflate::Budget;

const META_FEED: &str = "sync.feed";
const META_LOCAL_ACKED: &str = "sync.local_acked";
const META_CURSOR: &str = "sync.cursor";
const META_ENROLLED: &str = "sync.enrolled";

fn get_u64(v: Option<Vec<u8>>) -> u64 {
    v.and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Where sync stands, for the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Documents changed here and not yet acknowledged by the authority.
    pub docs_waiting: u64,
    /// Sealed submissions in the outbox.
    pub submissions_waiting: u64,
    /// Bytes of submissions and their attachments waiting.
    pub bytes_waiting: u64,
}

/// How far sync with an office has got, as of one of its feeds: each replica of an office
/// numbers its change feed itself (its feed id, `feed`), and holds the enterprise's
/// documents as they reached it; so both positions are kept per feed, and a replica not
/// met before is sent every document and read from the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// The office feed the positions are in (0: none met yet).
    pub feed: u64,
    /// The local change seq that feed's office has acknowledged.
    pub acked: u64,
    /// How far this device has read that feed.
    pub cursor: u64,
}

/// A page of the local change feed for one office ([`Replica::changed_docs`]).
#[derive(Debug)]
pub struct ChangedPage {
    /// The newest local change seq.
    pub head: u64,
    /// The seq of the last change read when the page was full, else `None`.
    pub last: Option<u64>,
    /// The changed documents that sync with the office, with their seqs.
    pub docs: Vec<(u64, DocId)>,
}

/// The enterprise side of sync, as store operations.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(super) device: std::sync::Arc<super::device::Device>,
    pub(super) licence_requests: super::licence_request::LicenceRequests,
    pub(super) profile: super::profile::Profile,
    pub(super) ekey: super::unlock::Ekey,
}

impl Replica {
    /// Sync progress with office `link` in the feed last met there.
    pub fn sync_progress(&self, link: &Link) -> Result<SyncProgress> {
        let feed = get_u64(meta_get(&self.device.store.read()?, &link.key(META_FEED))?);
        self.feed_progress(link, feed)
    }

    /// Sync progress with office `link` in its feed `feed` (nothing for a feed not met).
    pub fn feed_progress(&self, link: &Link, feed: u64) -> Result<SyncProgress> {
        let t = self.device.store.read()?;
        let key = |k: &str| link.key(&format!("{k}.{feed:016x}"));
        Ok(SyncProgress {
            feed,
            acked: get_u64(meta_get(&t, &key(META_LOCAL_ACKED))?),
            cursor: get_u64(meta_get(&t, &key(META_CURSOR))?),
        })
    }

    /// Records sync progress with office `link` (after a round completed); its feed is
    /// the one met last.
    pub fn set_sync_progress(&self, link: &Link, p: SyncProgress) -> Result<()> {
        let w = self.device.store.write()?;
        let key = |k: &str| link.key(&format!("{k}.{:016x}", p.feed));
        meta_put(&w, &link.key(META_FEED), &p.feed.to_be_bytes())?;
        meta_put(&w, &key(META_LOCAL_ACKED), &p.acked.to_be_bytes())?;
        meta_put(&w, &key(META_CURSOR), &p.cursor.to_be_bytes())?;
        w.commit()?;
        Ok(())
    }

    /// Whether this device has enrolled with office `link`.
    pub fn enrolled(&self, link: &Link) -> Result<bool> {
        Ok(meta_get(&self.device.store.read()?, &link.key(META_ENROLLED))?.is_some())
    }

    /// Marks enrolment with office `link` done.
    pub fn set_enrolled(&self, link: &Link) -> Result<()> {
        let w = self.device.store.write()?;
        meta_put(&w, &link.key(META_ENROLLED), b"1")?;
        w.commit()?;
        Ok(())
    }

    /// This device's seed (for the libp2p identity, which is the device key).
    pub fn device_seed(&self) -> [u8; 32] {
        self.device.key.to_bytes()
    }

    /// The local change feed after `since` as office `link` sees it: the newest local
    /// change seq, the seq of the last change read (`None`: fewer than `limit` read, so
    /// the feed was read to its head), and the documents of those changes that sync
    /// with `link`.
    pub fn changed_docs(&self, link: &Link, since: u64, limit: usize) -> Result<ChangedPage> {
        let t = self.device.store.read()?;
        let head = docs::head_seq(&t)?;
        let read = docs::changed_since(&t, since, limit)?;
        let last = (read.len() == limit)
            .then(|| read.last().map(|c| c.0))
            .flatten();
        let mut docs = Vec::with_capacity(read.len());
        for (seq, doc) in read {
            if self.device.office_of_doc(&t, doc)? == *link {
                docs.push((seq, doc));
            }
        }
        Ok(ChangedPage { head, last, docs })
    }

    /// What is waiting to reach the offices: each office's documents changed since it
    /// last acknowledged, the outbox and the attachments not yet confirmed.
    pub fn backlog(&self) -> Result<Backlog> {
        let links = std::iter::once(Link::Home).chain(
            self.device
                .identity
                .other_agencies
                .iter()
                .map(|a| Link::Other(a.clone())),
        );
        let mut docs_waiting = 0;
        for link in links {
            let acked = self.sync_progress(&link)?.acked;
            docs_waiting += self.changed_docs(&link, acked, usize::MAX)?.docs.len() as u64;
        }
        let t = self.device.store.read()?;
        let mut b = Backlog {
            docs_waiting,
            ..Default::default()
        };
        // Counted from the keys and the stored lengths: the status bar shows this on
        // every page, and an outbox of thousands must not be read whole for it.
        for q in seals::outbox(&t)? {
            b.submissions_waiting += 1;
            b.bytes_waiting += seals::len(&t, q.app, q.revision)?.unwrap_or(0) as u64;
        }
        // Attachments not yet confirmed by the office: those the seals cover and those
        // of drafts, relayed to this enterprise's other devices.
        for (_, size) in blobs::queued(&t, Queue::Up)? {
            b.bytes_waiting += size;
        }
        Ok(b)
    }

    /// Our next sync messages for `docs`.
    pub fn sync_generate(
        &self,
        states: &mut PeerStates,
        docs: &[DocId],
    ) -> Result<Vec<(DocId, Vec<u8>)>> {
        let mut w = self.device.store.write()?;
        let out = states.generate_many(&mut w, docs)?;
        // Generating changes no document and no stored state.
        w.finish_read_only();
        Ok(out)
    }

    /// Applies the authority's answers; returns the documents to follow up on, and those
    /// the authority does not know or refuses.
    pub fn sync_receive(
        &self,
        link: &Link,
        states: &mut PeerStates,
        replies: Vec<(DocId, DocReply)>,
    ) -> Result<(Vec<DocId>, Vec<DocId>)> {
        let mut w = self.device.store.write()?;
        let mut follow = Vec::new();
        let mut refused = Vec::new();
        let mut budget = Budget::default();
        let mut replies = replies.into_iter().peekable();
        while replies.peek().is_some() {
            // A window at a time: decode, load first syncs in parallel, apply.
            let mut msgs = Vec::new();
            for (doc, reply) in replies.by_ref().take(docsync::WINDOW) {
                match reply {
                    DocReply::Message(bytes) => {
                        let msg = PeerStates::decode(doc, &bytes, &mut budget).map_err(|e| {
                            EnterpriseError::BadInput {
                                field: "sync".into(),
                                message: e.to_string(),
                            }
                        })?;
                        if w.doc(doc)?.is_none() {
                            // A document from another device or the authority: start an
                            // empty replica and let the sync protocol fill it.
                            w.create_doc(doc, kind::OTHER)?;
                            super::offices::record(&w, doc, link)?;
                        }
                        msgs.push((doc, msg));
                    }
                    DocReply::Done => {}
                    DocReply::NotFound => refused.push(doc),
                }
            }
            let mut loaded = docsync::preload(&mut w, &msgs)?;
            for (doc, msg) in msgs {
                match states.receive(&mut w, doc, msg, loaded.remove(&doc)) {
                    Ok(changed) => {
                        if changed {
                            self.apply_remote(&mut w, doc)?;
                        }
                    }
                    Err(DocSyncError::Store(s)) => return Err(s.into()),
                    Err(e) => {
                        return Err(EnterpriseError::BadInput {
                            field: "sync".into(),
                            message: e.to_string(),
                        });
                    }
                }
                follow.push(doc);
            }
        }
        w.commit()?;
        Ok((follow, refused))
    }

    /// Brings the node's records of `doc` up to date after remote changes.
    fn apply_remote(&self, w: &mut WriteBatch<'_>, doc: DocId) -> Result<()> {
        let d = w.doc(doc)?.ok_or(EnterpriseError::NotFound(doc))?;
        if let Some(case) = crate::store::case_doc::read(d) {
            return self.apply_case(w, case);
        }
        if let Some(r) = crate::store::licence_request::read(d) {
            return self.licence_requests.note_request_doc(w, doc, r);
        }
        if self.profile.note_profile_doc(w, doc)? || self.ekey.note_unlock_doc(w, doc)? {
            return Ok(());
        }
        let Some(d) = w.doc(doc)? else {
            return Ok(());
        };
        if !form_doc::is_application(d) {
            return Ok(());
        }
        let form = form_doc::read_form(d);
        let conflicts = form_doc::conflicts(d);
        let attachments = form_doc::attachments(d);
        let deleted = form_doc::is_deleted(d);
        let created = form_doc::created_at_ms(d);
        if docs::kind(w, doc)? != Some(kind::APPLICATION) {
            docs::set_kind(w, doc, kind::APPLICATION)?;
        }
        let known = app_state::get(w, doc)?;
        let first_sight = known.is_none();
        let mut state = known.unwrap_or_else(|| AppState {
            status: ApplicationStatus::Draft,
            revision: 0,
            application_no: None,
            licence_no: None,
            application_date: date_key(china_date(created)),
            created_at_ms: created,
            updated_at_ms: created,
            history: Vec::new(),
        });
        let now = self.device.clock.now_ms();
        state.log(now, "synced", "@");
        // A field two devices set while apart: each device's value, once per disagreement.
        for (field, values) in conflicts {
            let values: Vec<String> = values
                .iter()
                .map(|(v, actor)| format!("{v} ({})", &actor.to_hex_string()[..8]))
                .collect();
            let detail = format!("@field={field};values={}", values.join(" | "));
            if !state
                .history
                .iter()
                .any(|h| h.event == "conflict" && h.detail == detail)
            {
                state.log(now, "conflict", detail);
            }
        }
        super::device::Device::put_state(w, doc, &state)?;
        let row = if deleted {
            None
        } else {
            Some(self.device.summary(doc, &form, &state))
        };
        index::put_summary(w, doc, row.as_ref())?;
        // Attachments added on another device of this enterprise: fetched next round.
        super::blob_relay::want_missing(
            w,
            &attachments,
            self.device.settings.attachment_max_bytes,
        )?;
        // The office's case may have arrived before the application (sealed and reported
        // on another device): it was set aside then and applies now.
        if first_sight
            && let Some(case) = w
                .doc(crate::store::case_doc::case_id(doc))?
                .and_then(|d| crate::store::case_doc::read(d))
        {
            self.apply_case(w, case)?;
        }
        Ok(())
    }

    /// Applies the authority's case document to the application it is about: status,
    /// reason, and the issued licence.
    fn apply_case(&self, w: &mut WriteBatch<'_>, case: crate::store::case_doc::Case) -> Result<()> {
        self.licence_requests.apply_licence_decisions(w, &case)?;
        // The office's newest standing statement of the licence (checked where it is
        // shown and served, against the key chain of that moment).
        if !case.standing.is_empty() && !case.licence_no.is_empty() {
            licences::put_statement(w, &case.licence_no, &case.standing)?;
        }
        // Its proof of inclusion in the office's log (checked where it is shown and served).
        if !case.licence_proof.is_empty() && !case.licence_no.is_empty() {
            licences::put_proof(w, &case.licence_no, &case.licence_proof)?;
        }
        // Its usage at customs, as the office folded it.
        if !case.usage.is_empty() && !case.licence_no.is_empty() {
            crate::store::usage::put_view(w, &case.licence_no, case.usage.as_bytes())?;
        }
        let app = case.application;
        let Some(mut state) = app_state::get(w, app)? else {
            return Ok(()); // not an application of this node (yet)
        };
        // Only the revision this node knows about moves its status.
        if case.revision < state.revision || state.status == case.status {
            return Ok(());
        }
        if !case.licence.is_empty() {
            licences::put(w, &case.licence_no, &case.licence)?;
            state.licence_no = Some(case.licence_no.clone());
        }
        state.status = case.status;
        let detail = match case.status {
            ApplicationStatus::Issued => format!("@licence_no={}", case.licence_no),
            _ => case.reason.clone(),
        };
        state.log(self.device.clock.now_ms(), case.status.code(), detail);
        let form = form_doc::read_form(w.doc(app)?.ok_or(EnterpriseError::NotFound(app))?);
        self.device.put_state_and_row(w, app, &form, &state)
    }

    /// Issued licences held here: (licence no, signed file).
    pub fn licences(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(licences::all(&self.device.store.read()?)?)
    }

    /// The inclusion proof of licence `no` in its office's log, as the office sent it.
    pub fn licence_proof(&self, no: &str) -> Result<Option<Vec<u8>>> {
        Ok(licences::proof(&self.device.store.read()?, no)?)
    }

    /// One chunk of a local blob, for upload.
    pub fn blob_chunk(&self, hash: &[u8; 32], offset: u64) -> Result<Vec<u8>> {
        let i = (offset / BLOB_CHUNK as u64) as u32;
        Ok(blobs::chunk(&self.device.store.read()?, hash, i)?
            .ok_or_else(|| StoreError::BlobCorrupt(hex::encode(hash)))?)
    }

    /// Heads of a document here.
    pub fn heads(&self, doc: DocId) -> Result<Option<Vec<[u8; 32]>>> {
        Ok(self
            .device
            .store
            .with_doc(doc, |d| d.get_heads().into_iter().map(|h| h.0).collect())?)
    }

    /// The Automerge actor of this device.
    pub fn actor(&self) -> ActorId {
        ActorId::from(&self.device.key.verifying_key().to_bytes()[..16])
    }

    /// Whether a blob is stored here.
    pub fn has_blob(&self, hash: &[u8; 32]) -> Result<bool> {
        Ok(blobs::info(&self.device.store.read()?, hash)?.is_some())
    }
}

impl Replica {
    /// 发证机构联系方式 and 办事指南 as last synced from the office whose root key is
    /// `root` (empty before).
    pub fn directory(&self, root: &[u8; 32]) -> Result<exlic_client::directory::Directory> {
        Ok(self
            .device
            .store
            .with_doc(crate::store::directory_doc::id(root), |d| {
                crate::store::directory_doc::read(d)
            })?
            .flatten()
            .unwrap_or_default())
    }
}
