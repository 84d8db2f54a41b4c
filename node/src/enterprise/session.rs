//! One connected session of an enterprise device with its authority, as a state machine
//! with no I/O of its own: it is handed the authority's answer to its last request and
//! returns the next request to send, or that the round is done. Each step reads and writes
//! the device's store through [`Enterprise`] (one transaction per action, as everywhere);
//! the network, timers and threads belong to whoever drives it — the libp2p shell in
//! `sync::client`, or the simulated network of the tests.
//!
//! A round is, in order: enrol (first contact only), upload the attachments attached here,
//! sync every changed document until both sides are quiet (the change feeds of both sides,
//! a page at a time), fetch the attachments synced documents list, ask for the next
//! 申请表号 block once half the current one is used, certificate work (the
//! first round of a session, while a request waits or this device has no certificate, and
//! every 30th round), deliver the outbox in batches (uploading what their seals cover
//! first), apply
//! an e-key unlock from the office and put its newest reference release in force.
//!
//! A session with another office than home (`enterprise::offices`) syncs only that
//! office's documents and delivers only its submissions; it takes no number block,
//! unlock or reference release, and asks that office for its certificate of this device
//! (showing the e-key's authorisation when it has none) before it delivers anything.

use std::collections::{BTreeSet, VecDeque};

use exlic_client::DocId;
use exlic_client::protocol::{ErrorCode, MAX_DOCS, MAX_SUBMISSIONS, Request, Response};

use super::delivery::Outgoing;
use super::replica::SyncProgress;
use super::{Enterprise, EnterpriseError};
use crate::replica::docsync::PeerStates;
use crate::store::cert_requests::RequestStatus;
use crate::upstream::Link;
use transfer::{Fetches, Uploads};

/// Most documents per page of the local change feed; a page is also kept within half
/// the document cache, since every step of a page visits each of its documents again
/// (a page larger than the cache loaded every document from disk at every step, four
/// times the office's work per document).
pub const PAGE: usize = 1000;
/// The byte budget of one sync request.
pub const REQUEST_BUDGET: usize = 6 << 20;

pub use crate::upstream::{Answer, Credentials, SessionError, Step};

impl From<EnterpriseError> for SessionError {
    fn from(e: EnterpriseError) -> Self {
        SessionError::Local(e.to_string())
    }
}

/// The document sync of a round (see the module docs).
#[derive(Debug, Default)]
struct DocSync {
    page_end: u64,
    full_page: bool,
    /// The office feed `cursor` is in.
    feed: u64,
    cursor: u64,
    /// The office answered from a feed other than the one the page began in (another
    /// replica): what that feed's office acknowledged before, from which the next page
    /// starts again, since this page was chosen for the other.
    restart: Option<u64>,
    more: bool,
    first: bool,
    active: BTreeSet<DocId>,
    next: BTreeSet<DocId>,
    batches: VecDeque<Vec<(DocId, Vec<u8>)>>,
}

/// Outbox entries read at a time.
const OUTBOX_PAGE: usize = 1024;
/// Most envelope bytes in one batch of submissions.
const BATCH_BYTES: usize = 4 << 20;

/// The outbox draining: read a page at a time, sent in batches of up to
/// [`MAX_SUBMISSIONS`] (one request, one answer, one transaction on each side), each
/// after the attachments its seals cover that the office has not confirmed.
#[derive(Debug)]
struct Deliveries {
    queue: VecDeque<Outgoing>,
    /// The outbox position of the last entry read.
    last: Option<u64>,
    /// The last page read was full: more may follow.
    more: bool,
    batch: Vec<Outgoing>,
    uploads: Uploads,
}

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            last: None,
            more: true,
            batch: Vec::new(),
            uploads: Uploads::new([], false),
        }
    }
}

impl Deliveries {
    /// Takes the next batch off the queue (reading the next page of the outbox when the
    /// queue is empty); `false` when the outbox is done.
    fn next_batch(&mut self, ent: &Enterprise, link: &Link) -> Result<bool, SessionError> {
        // Pages of entries for other offices hold none for this one: read on.
        while self.queue.is_empty() && self.more {
            let (page, full) = ent.delivery.outgoing(link, self.last, OUTBOX_PAGE)?;
            self.more = full.is_some();
            self.last = full.or(page.last().map(|o| o.seq)).or(self.last);
            self.queue.extend(page);
        }
        let mut bytes = 0;
        let mut blobs = Vec::new();
        while let Some(o) = self.queue.front() {
            let full = self.batch.len() >= MAX_SUBMISSIONS
                || (!self.batch.is_empty() && bytes + o.envelope.len() > BATCH_BYTES);
            if full {
                break;
            }
            let o = self.queue.pop_front().expect("looked at above");
            bytes += o.envelope.len();
            for a in &o.attachments {
                if !blobs.contains(a) {
                    blobs.push(*a);
                }
            }
            self.batch.push(o);
        }
        self.uploads = Uploads::new(blobs, false);
        Ok(!self.batch.is_empty())
    }
}

/// The phases of a round, each holding its own progress.
#[derive(Debug)]
enum Phase {
    Enrol,
    UploadQueued(Uploads),
    Sync(DocSync),
    Fetch(Fetches),
    Numbers,
    Certificates(VecDeque<(u64, Vec<u8>)>, Option<u64>, bool),
    /// Another office's certificate for this device: asked for, then (when it has none)
    /// the e-key's authorisation shown to it (`true` once shown).
    OfficeCertificate(bool),
    Deliver(Deliveries),
}

/// An enterprise device's session with its authority.
#[derive(Debug)]
pub struct Session {
    creds: Credentials,
    /// The office this session syncs with.
    link: Link,
    states: PeerStates,
    phase: Option<Phase>,
    first_round: bool,
    rounds: u64,
    enrolled: bool,
    /// A batch's answers not yet stored: stored while the next batch is in flight.
    deferred: Option<(Vec<Outgoing>, Vec<Response>)>,
}

impl Session {
    /// A new session (after a connection is established); `rounds` counts the rounds of
    /// earlier sessions, which paces the periodic certificate refresh.
    pub fn new(creds: Credentials, rounds: u64) -> Self {
        let states = PeerStates::new(creds.authority_key);
        let link = match &creds.office {
            Some(a) => Link::Other(a.clone()),
            None => Link::Home,
        };
        Self {
            creds,
            link,
            states,
            phase: None,
            first_round: true,
            rounds,
            enrolled: false,
            deferred: None,
        }
    }

    /// Whether work waits for [`Self::between`].
    pub fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// Work that may run while the last request is in flight: stores the answers to the
    /// batch of submissions before it, so the office checks one batch while this device
    /// stores the last. Runs at the latest with the next answer.
    pub fn between(&mut self, ent: &Enterprise) -> Result<(), SessionError> {
        match self.deferred.take() {
            Some((batch, answers)) => self.apply(ent, batch, answers),
            None => Ok(()),
        }
    }

    /// Stores the office's answers to a batch of submissions.
    fn apply(
        &self,
        ent: &Enterprise,
        batch: Vec<Outgoing>,
        answers: Vec<Response>,
    ) -> Result<(), SessionError> {
        let applied = ent
            .delivery
            .apply_answers(&batch, answers, &self.creds.authority_key)?;
        match applied.left {
            Some((c, m)) => Err(SessionError::Refused(c, m)),
            None => Ok(()),
        }
    }

    /// Whether this device is known to be enrolled (from the first step of a round on).
    pub fn enrolled(&self) -> bool {
        self.enrolled
    }

    /// Rounds completed, this session and earlier ones.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Starts a round.
    pub fn round(&mut self, ent: &Enterprise) -> Result<Step, SessionError> {
        self.enrolled = ent.replica.enrolled(&self.link)?;
        let phase = if self.enrolled {
            self.upload_queued(ent)?
        } else {
            Phase::Enrol
        };
        self.run(ent, phase, None)
    }

    /// Hands over the answer to the request of the last [`Step::Send`].
    pub fn answer(&mut self, ent: &Enterprise, answer: Answer) -> Result<Step, SessionError> {
        self.between(ent)?;
        let phase = self.phase.take().ok_or(SessionError::Unexpected)?;
        self.run(ent, phase, Some(answer))
    }

    /// Attachments queued here go up to the home office (another office gets those its
    /// submissions' seals cover, as they are delivered).
    fn upload_queued(&self, ent: &Enterprise) -> Result<Phase, SessionError> {
        let queued = if self.link.is_home() {
            ent.blobs.to_upload()?
        } else {
            Vec::new()
        };
        Ok(Phase::UploadQueued(Uploads::new(queued, true)))
    }

    /// Steps `phase` with `answer` until one of them has a request to send.
    fn run(
        &mut self,
        ent: &Enterprise,
        mut phase: Phase,
        mut answer: Option<Answer>,
    ) -> Result<Step, SessionError> {
        loop {
            let (request, next) = self.step(ent, phase, answer.take())?;
            match (request, next) {
                (Some(r), Some(p)) => {
                    self.phase = Some(p);
                    return Ok(Step::Send(r));
                }
                (None, Some(p)) => phase = p,
                (_, None) => {
                    if self.link.is_home() {
                        ent.ekey.apply_pending_unlock(&self.creds.authority_key)?;
                        ent.reference.adopt_published(&self.creds.authority_key)?;
                    }
                    self.first_round = false;
                    self.rounds += 1;
                    return Ok(Step::RoundDone);
                }
            }
        }
    }

    /// One step of `phase`: the request to send (and the phase to hand its answer to), or
    /// no request and the phase to go on with (`None`: the round is over).
    fn step(
        &mut self,
        ent: &Enterprise,
        phase: Phase,
        answer: Option<Answer>,
    ) -> Result<(Option<Request>, Option<Phase>), SessionError> {
        match phase {
            Phase::Enrol => match answer {
                None => {
                    let secret = self.creds.invite_secret.ok_or_else(|| {
                        SessionError::Local("not enrolled and no invite secret".into())
                    })?;
                    let r = Request::Enrol {
                        secret,
                        master_key: self.creds.master_key,
                    };
                    Ok((Some(r), Some(Phase::Enrol)))
                }
                Some(Ok(Response::Enrolled { .. })) => {
                    ent.replica.set_enrolled(&self.link)?;
                    self.enrolled = true;
                    Ok((None, Some(self.upload_queued(ent)?)))
                }
                Some(Ok(_)) => Err(SessionError::Unexpected),
                Some(Err((c, m))) => Err(SessionError::Refused(c, m)),
            },
            Phase::UploadQueued(mut uploads) => match uploads.step(ent, answer)? {
                Some(r) => Ok((Some(r), Some(Phase::UploadQueued(uploads)))),
                None => Ok((None, Some(Phase::Sync(self.sync_page(ent)?)))),
            },
            Phase::Sync(mut s) => {
                if let Some(a) = answer {
                    let Ok(Response::Sync {
                        feed,
                        cursor: c,
                        docs,
                        more: m,
                    }) = a
                    else {
                        return Err(match a {
                            Err((c, m)) => SessionError::Refused(c, m),
                            Ok(_) => SessionError::Unexpected,
                        });
                    };
                    let (follow, refused) =
                        ent.replica
                            .sync_receive(&self.link, &mut self.states, docs)?;
                    for d in &refused {
                        tracing::warn!(doc = %d, "the authority does not accept this document");
                        s.next.remove(d);
                    }
                    s.next.extend(follow);
                    if feed != s.feed {
                        let met = ent.replica.feed_progress(&self.link, feed)?;
                        s.feed = feed;
                        s.cursor = met.cursor;
                        s.restart = Some(met.acked);
                    }
                    s.cursor = s.cursor.max(c);
                    s.more = m;
                    if s.batches.is_empty() {
                        s.active = std::mem::take(&mut s.next);
                        if s.active.is_empty() {
                            return self.end_page(ent, s);
                        }
                        return self.window(ent, s);
                    }
                }
                let batch = s.batches.pop_front().expect("a window has a batch");
                let r = Request::Sync {
                    feed: s.feed,
                    cursor: s.cursor,
                    docs: batch,
                };
                Ok((Some(r), Some(Phase::Sync(s))))
            }
            Phase::Fetch(mut fetches) => match fetches.step(ent, answer)? {
                Some(r) => Ok((Some(r), Some(Phase::Fetch(fetches)))),
                // 申请表号 blocks come from the home office (every office's are unique).
                None => match ent
                    .numbers
                    .top_up_request()?
                    .filter(|_| self.link.is_home())
                {
                    Some(r) => Ok((Some(r), Some(Phase::Numbers))),
                    None => Ok((None, Some(self.certificates(ent)?))),
                },
            },
            Phase::Numbers => {
                match answer {
                    Some(Ok(Response::Numbers { first, len })) => {
                        ent.numbers.granted(first, len)?;
                    }
                    Some(Ok(_)) | None => return Err(SessionError::Unexpected),
                    // Not fatal: the current block still has numbers; ask next round.
                    Some(Err((code, msg))) => {
                        tracing::warn!(?code, %msg, "the office did not grant a number block");
                    }
                }
                Ok((None, Some(self.certificates(ent)?)))
            }
            Phase::Certificates(mut rows, current, asked_mine) => {
                let authority_key = self.creds.authority_key;
                match (answer, current) {
                    (Some(a), Some(seq)) => {
                        let outcome = match a {
                            Ok(Response::Certified {
                                certificate,
                                revocations,
                            }) => Ok((certificate, revocations)),
                            Ok(_) => return Err(SessionError::Unexpected),
                            Err((ErrorCode::BadCertRequest, m)) => Err(m),
                            Err((c, m)) => return Err(SessionError::Refused(c, m)),
                        };
                        ent.certificates
                            .finish_request(seq, outcome, &authority_key)?;
                    }
                    (Some(a), None) if asked_mine => {
                        // 制作证书: install whatever the authority holds for this device.
                        match a {
                            Ok(Response::Certified {
                                certificate,
                                revocations,
                            }) => ent.certificates.install(
                                &self.link,
                                &certificate,
                                &revocations,
                                &authority_key,
                            )?,
                            Ok(_) => {}
                            Err((c, m)) => return Err(SessionError::Refused(c, m)),
                        }
                        return Ok((None, Some(Phase::Deliver(Deliveries::default()))));
                    }
                    (Some(_), None) => return Err(SessionError::Unexpected),
                    (None, _) => {}
                }
                if let Some((seq, signed)) = rows.pop_front() {
                    let r = Request::Certify(signed);
                    return Ok((Some(r), Some(Phase::Certificates(rows, Some(seq), false))));
                }
                Ok((
                    Some(Request::MyCertificate),
                    Some(Phase::Certificates(rows, None, true)),
                ))
            }
            Phase::OfficeCertificate(shown) => {
                // Submissions for this office wait until it has certified this device: the
                // office refuses for good a seal of a device it has no certificate of.
                let deliver = if ent
                    .certificates
                    .device_certificate_at(&self.link)?
                    .is_some()
                {
                    Some(Phase::Deliver(Deliveries::default()))
                } else {
                    tracing::info!(office = ?self.link, "the office has not certified this device yet; its submissions wait");
                    None
                };
                let (certificate, revocations) = match answer {
                    None => {
                        return Ok((
                            Some(Request::MyCertificate),
                            Some(Phase::OfficeCertificate(shown)),
                        ));
                    }
                    Some(Ok(Response::Certified {
                        certificate,
                        revocations,
                    })) => (certificate, revocations),
                    Some(Ok(_)) => return Err(SessionError::Unexpected),
                    Some(Err((ErrorCode::BadCertRequest, m))) => {
                        tracing::warn!(office = ?self.link, %m, "the office did not certify this device");
                        return Ok((None, deliver));
                    }
                    Some(Err((c, m))) => return Err(SessionError::Refused(c, m)),
                };
                if !certificate.is_empty() {
                    ent.certificates.install(
                        &self.link,
                        &certificate,
                        &revocations,
                        &self.creds.authority_key,
                    )?;
                    return Ok((None, Some(Phase::Deliver(Deliveries::default()))));
                }
                match ent.certificates.authorisation()? {
                    Some(signed) if !shown => Ok((
                        Some(Request::Certify(signed)),
                        Some(Phase::OfficeCertificate(true)),
                    )),
                    _ => Ok((None, deliver)),
                }
            }
            Phase::Deliver(mut d) => {
                let mut answer = answer;
                loop {
                    if d.batch.is_empty() && !d.next_batch(ent, &self.link)? {
                        return Ok((None, None));
                    }
                    // Every attachment the batch's seals cover goes up first.
                    if !d.uploads.done() {
                        if let Some(r) = d.uploads.step(ent, answer.take())? {
                            return Ok((Some(r), Some(Phase::Deliver(d))));
                        }
                        continue;
                    }
                    match answer.take() {
                        None => {
                            let envs = d.batch.iter().map(|o| o.envelope.clone()).collect();
                            return Ok((Some(Request::SubmitMany(envs)), Some(Phase::Deliver(d))));
                        }
                        Some(Ok(Response::Submitted(answers)))
                            if answers.len() == d.batch.len() =>
                        {
                            let batch = std::mem::take(&mut d.batch);
                            if d.next_batch(ent, &self.link)? {
                                // Stored while the next batch is on its way (`between`).
                                self.deferred = Some((batch, answers));
                                continue;
                            }
                            self.apply(ent, batch, answers)?;
                            return Ok((None, None));
                        }
                        Some(Ok(_)) => return Err(SessionError::Unexpected),
                        Some(Err((c, m))) => return Err(SessionError::Refused(c, m)),
                    }
                }
            }
        }
    }

    /// Starts a page of the local change feed: the documents changed since the authority's
    /// last acknowledgement, and a first window of messages.
    fn sync_page(&mut self, ent: &Enterprise) -> Result<DocSync, SessionError> {
        let progress = ent.replica.sync_progress(&self.link)?;
        let page = PAGE.min(ent.store().doc_cache_capacity() / 2).max(1);
        let changed = ent.replica.changed_docs(&self.link, progress.acked, page)?;
        let full_page = changed.last.is_some();
        let page_end = changed.last.unwrap_or(changed.head);
        let changed = changed.docs;
        let s = DocSync {
            page_end,
            full_page,
            feed: progress.feed,
            cursor: progress.cursor,
            restart: None,
            more: false,
            first: true,
            active: changed.into_iter().map(|(_, d)| d).collect(),
            next: BTreeSet::new(),
            batches: VecDeque::new(),
        };
        match self.window(ent, s)? {
            (_, Some(Phase::Sync(s))) => Ok(s),
            _ => unreachable!("a page's first window always sends"),
        }
    }

    /// Generates the messages for the active documents and splits them into requests
    /// within the byte budget (the first window of a page always sends, to poll).
    fn window(
        &mut self,
        ent: &Enterprise,
        mut s: DocSync,
    ) -> Result<(Option<Request>, Option<Phase>), SessionError> {
        let list: Vec<DocId> = s.active.iter().copied().collect();
        let msgs = ent.replica.sync_generate(&mut self.states, &list)?;
        if msgs.is_empty() && !s.first {
            return self.end_page(ent, s);
        }
        s.first = false;
        s.next = msgs.iter().map(|(d, _)| *d).collect();
        let mut batches: VecDeque<Vec<(DocId, Vec<u8>)>> = VecDeque::from([Vec::new()]);
        let mut size = 0;
        for m in msgs {
            let full = batches.back().map(|b| b.len()).unwrap_or(0) >= MAX_DOCS / 2;
            if size + m.1.len() > REQUEST_BUDGET || full {
                batches.push_back(Vec::new());
                size = 0;
            }
            size += m.1.len() + 24;
            batches.back_mut().expect("non-empty").push(m);
        }
        s.batches = batches;
        Ok((None, Some(Phase::Sync(s))))
    }

    /// A page is done: records how far both feeds got, then the next page or the next
    /// phase.
    fn end_page(
        &mut self,
        ent: &Enterprise,
        s: DocSync,
    ) -> Result<(Option<Request>, Option<Phase>), SessionError> {
        let progress = SyncProgress {
            feed: s.feed,
            acked: s.restart.unwrap_or(s.page_end),
            cursor: s.cursor,
        };
        ent.replica.set_sync_progress(&self.link, progress)?;
        if s.restart.is_some() || s.full_page || s.more {
            return Ok((None, Some(Phase::Sync(self.sync_page(ent)?))));
        }
        // Attachments of synced documents are fetched from the home office.
        let wanted = if self.link.is_home() {
            ent.blobs.wanted()?
        } else {
            Vec::new()
        };
        Ok((None, Some(Phase::Fetch(Fetches::new(wanted)))))
    }

    /// Certificate work when due (see the module docs), else straight to delivery.
    fn certificates(&mut self, ent: &Enterprise) -> Result<Phase, SessionError> {
        if !self.link.is_home() {
            // 手机证书授权 requests go to the home office; another office is asked for its
            // certificate of this device.
            let due = self.first_round
                || ent
                    .certificates
                    .device_certificate_at(&self.link)?
                    .is_none()
                || self.rounds % 30 == 29;
            return Ok(if due {
                Phase::OfficeCertificate(false)
            } else {
                Phase::Deliver(Deliveries::default())
            });
        }
        let rows = ent.certificates.requests()?;
        let waiting: VecDeque<(u64, Vec<u8>)> = rows
            .into_iter()
            .filter(|r| r.status == RequestStatus::Submitted)
            .map(|r| (r.seq, r.signed))
            .collect();
        let due = self.first_round
            || !waiting.is_empty()
            || ent.certificates.device_certificate()?.is_none()
            || self.rounds % 30 == 29;
        if due {
            Ok(Phase::Certificates(waiting, None, false))
        } else {
            Ok(Phase::Deliver(Deliveries::default()))
        }
    }
}

mod transfer;

/// The enterprise is a client of its office: the network driver runs its [`Session`].
impl crate::upstream::ClientRole for Enterprise {
    type Session = Session;
    fn device_seed(&self) -> [u8; 32] {
        self.replica.device_seed()
    }
    fn store(&self) -> &std::sync::Arc<crate::store::Store> {
        Enterprise::store(self)
    }
    fn now_ms(&self) -> i64 {
        Enterprise::now_ms(self)
    }
    fn open(&self, creds: Credentials, rounds: u64) -> Session {
        Session::new(creds, rounds)
    }
    fn round(&self, s: &mut Session) -> Result<Step, SessionError> {
        s.round(self)
    }
    fn answer(&self, s: &mut Session, answer: Answer) -> Result<Step, SessionError> {
        s.answer(self, answer)
    }
    fn between(&self, s: &mut Session) -> Result<(), SessionError> {
        s.between(self)
    }
    fn has_deferred(s: &Session) -> bool {
        s.has_deferred()
    }
    fn enrolled(s: &Session) -> bool {
        s.enrolled()
    }
    fn rounds(s: &Session) -> u64 {
        s.rounds()
    }
}
