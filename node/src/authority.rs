//! The authority role (发证机构) as far as sync goes: the enterprise registry and invites,
//! the replica of every enterprise's documents with per-enterprise change feeds, attachment
//! uploads, and the receipt of sealed submissions (上报 → 待初审).
//!
//! Every request is handled as one redb transaction: a request that fails in any part
//! stores nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::cert_request::{CertRequest, RequestKind, valid_mobile};
use exlic_client::certificate::{DeviceCertificate, RevocationList, Trust, key_id};
use exlic_client::invite::Invite;
use exlic_client::protocol::{
    BLOB_CHUNK as WIRE_CHUNK, DocReply, ErrorCode, MAX_DOCS, Request, Response,
};
use exlic_client::receipt::Receipt;
use exlic_client::seal::{SealPayload, SealedSubmission, canonical_content, sha256};
use exlic_client::status::ApplicationStatus;

use crate::clock::Clock;
use crate::domain::certificates;
use crate::replica::docsync::{self, DocSyncError, PeerStates};
use crate::store::cases::{self, CaseRow};
use crate::store::group::GroupCommit;
use crate::store::registry::{self, EnterpriseRow, InviteRow};
use crate::store::{
    Store, StoreError, WriteBatch, audit, blobs, certs, feed, form_doc, key_records, meta_get,
    meta_put, seals,
};
use crate::store::{Txn, kind};
use exlic_client::inflate::Budget;

const META_AUTHORITY_KEY: &str = "authority_key";
/// The current signing seed after a key rollover (absent: the identity key signs).
const META_SIGNING_KEY: &str = "authority_signing_key";
const META_NEXT_BLOCK: &str = "next_block_first";
const META_NEXT_SERIAL: &str = "next_cert_serial";
const META_CRL_VERSION: &str = "crl_version";
/// Validity of a device certificate.
pub const CERT_VALIDITY_MS: i64 = 365 * 86_400_000;
/// Validity of a revocation list.
pub const CRL_VALIDITY_MS: i64 = 7 * 86_400_000;

/// Who the authority is.
#[derive(Debug, Clone)]
pub struct AuthorityInfo {
    /// 发证机构 name.
    pub name: String,
    /// Agency code (许可证号 positions 3–4).
    pub agency_code: String,
    /// Where enterprises reach it, as multiaddresses.
    pub addrs: Vec<String>,
    /// Largest attachment accepted, bytes.
    pub attachment_max_bytes: u64,
}

/// Why an authority action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input that cannot be used, naming the field it came in.
    #[error("{field}: {message}")]
    BadInput {
        /// The field (API name) the input came in.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// What the request names does not exist.
    #[error("{field}: {message}")]
    NotFound {
        /// The field that named it.
        field: String,
        /// What was not found.
        message: String,
    },
    /// The request is not allowed in the current state of what it names.
    #[error("{field}: {message}")]
    WrongState {
        /// The field whose state refuses it.
        field: String,
        /// Why.
        message: String,
    },
    /// Not initialised.
    #[error("authority node is not initialised (no key)")]
    NotInitialised,
}

crate::store::errors_via_store!(
    AuthorityError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

/// Creates the authority key and the first number block position (kept if present).
pub fn initialise(store: &Store, agency_code: &str) -> Result<(), AuthorityError> {
    let w = store.write()?;
    if meta_get(&w, META_AUTHORITY_KEY)?.is_none() {
        meta_put(&w, META_AUTHORITY_KEY, &crate::random::bytes::<32>())?;
    }
    if meta_get(&w, META_NEXT_BLOCK)?.is_none() {
        // 申请表号 blocks: YY + 2 agency digits (hash of the code) + 17 digits of serial space.
        let yy =
            (crate::clock::china_date(crate::clock::SystemClock.now_ms()).year() % 100) as u128;
        let agency = agency_code
            .bytes()
            .fold(0u128, |a, b| (a * 31 + u128::from(b)) % 100);
        let first = yy * 10u128.pow(19) + agency * 10u128.pow(17);
        meta_put(&w, META_NEXT_BLOCK, &first.to_be_bytes())?;
    }
    w.commit()?;
    Ok(())
}

/// Reads the authority's identity seed: its libp2p identity, the key enterprises are given
/// in their enrolment token (the root of their trust), and its first signing key.
pub fn key_seed(store: &Store) -> Result<[u8; 32], AuthorityError> {
    meta_get(&store.read()?, META_AUTHORITY_KEY)?
        .and_then(|v| v.try_into().ok())
        .ok_or(AuthorityError::NotInitialised)
}

/// The authority role over one store.
#[derive(Debug)]
pub struct Authority {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    /// The identity key (see [`key_seed`]); signs enrolment tokens.
    identity: SigningKey,
    /// The current signing key and the chain of keys from the identity key to it.
    signing: std::sync::RwLock<(SigningKey, Trust)>,
    info: AuthorityInfo,
    addrs: Mutex<Vec<String>>,
    sessions: Mutex<HashMap<[u8; 32], PeerStates>>,
    ingest: GroupCommit<Ingest, Result<Handled, AuthorityError>>,
    /// The reference data licences are built from, parsed once.
    reference: Arc<crate::domain::reference::Reference>,
}

/// A verified submission waiting for the group commit.
#[derive(Debug)]
struct Ingest {
    receipt: Vec<u8>,
    case: crate::store::case_doc::Case,
    built_case: Option<crate::store::BuiltDoc>,
    enterprise: String,
    envelope: Vec<u8>,
    payload: SealPayload,
    seal_hash: [u8; 32],
    received_at_ms: i64,
}

/// What a request did, for the network layer.
#[derive(Debug)]
pub struct Handled {
    /// The answer.
    pub response: Response,
    /// Whether the peer broke the protocol and should be disconnected.
    pub drop_peer: bool,
}

impl AuthorityError {
    /// Input that cannot be used.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Something named by the request does not exist.
    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::NotFound {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Not allowed in the current state.
    pub fn wrong_state(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::WrongState {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Handled {
    fn ok(response: Response) -> Self {
        Self {
            response,
            drop_peer: false,
        }
    }
    fn refuse(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            response: Response::error(code, message),
            drop_peer: false,
        }
    }
    fn violation(message: impl Into<String>) -> Self {
        Self {
            response: Response::error(ErrorCode::BadRequest, message),
            drop_peer: true,
        }
    }
}

impl Authority {
    /// Opens the role over an initialised store.
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
    ) -> Result<Self, AuthorityError> {
        let identity = SigningKey::from_bytes(&key_seed(&store)?);
        let (key, records) = {
            let txn = store.read()?;
            let key = match meta_get(&txn, META_SIGNING_KEY)? {
                Some(v) => SigningKey::from_bytes(
                    &v.try_into()
                        .map_err(|_| StoreError::Record("authority_signing_key"))?,
                ),
                None => identity.clone(),
            };
            (key, key_records::all(&txn)?)
        };
        let mut trust = Trust::new(identity.verifying_key().to_bytes());
        if trust.follow(&records) != records.len()
            || trust.current() != key.verifying_key().to_bytes()
        {
            return Err(StoreError::Record("key_records").into());
        }
        Ok(Self {
            store,
            clock,
            identity,
            signing: std::sync::RwLock::new((key, trust)),
            addrs: Mutex::new(info.addrs.clone()),
            info,
            sessions: Mutex::new(HashMap::new()),
            ingest: GroupCommit::default(),
            reference: crate::domain::reference::Reference::embedded_shared(),
        })
    }

    /// What this authority's own verifications trust: its keys, from the identity key
    /// through every rollover to the current one.
    pub fn trust(&self) -> Trust {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// The time to put in an object and the key to sign it with, taken together, so an
    /// object is never signed by a key outside its span in the chain (a rollover takes the
    /// write side of the same lock).
    pub(crate) fn signer(&self) -> (i64, SigningKey) {
        let g = self.signing.read().unwrap_or_else(|p| p.into_inner());
        let from = g.1.keys().last().map(|k| k.from_ms).unwrap_or(i64::MIN);
        (self.clock.now_ms().max(from), g.0.clone())
    }

    /// The identity key: what enrolment tokens carry and enterprises root their trust in.
    pub fn root_key(&self) -> [u8; 32] {
        self.identity.verifying_key().to_bytes()
    }

    /// Now, by the authority's clock (the only time it trusts), Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Its current signing key's public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .verifying_key()
            .to_bytes()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Who it is.
    pub fn info(&self) -> &AuthorityInfo {
        &self.info
    }

    /// Sets the addresses written into invites (once the listener is bound).
    pub fn set_addrs(&self, addrs: Vec<String>) {
        *self.addrs.lock().unwrap_or_else(|p| p.into_inner()) = addrs;
    }

    /// Issues an enrolment token for one device of `uscc`, granting `numbers` 申请表号.
    pub fn invite(
        &self,
        uscc: &str,
        name: &str,
        numbers: u64,
        valid_days: i64,
    ) -> Result<String, AuthorityError> {
        exlic_client::uscc::validate(uscc)
            .map_err(|e| AuthorityError::bad_input("uscc", e.to_string()))?;
        if self
            .addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return Err(AuthorityError::wrong_state(
                "addrs",
                "the authority has no address to put in the token",
            ));
        }
        if name.trim().is_empty() {
            return Err(AuthorityError::bad_input("name", "is required"));
        }
        if numbers == 0 || numbers > 10_000_000 {
            return Err(AuthorityError::bad_input("numbers", "must be 1–10,000,000"));
        }
        let secret: [u8; 32] = crate::random::bytes();
        let w = self.store.write()?;
        let first = meta_get(&w, META_NEXT_BLOCK)?
            .and_then(|v| v.try_into().ok())
            .map(u128::from_be_bytes)
            .ok_or(AuthorityError::NotInitialised)?;
        meta_put(
            &w,
            META_NEXT_BLOCK,
            &(first + u128::from(numbers)).to_be_bytes(),
        )?;
        let expires = self.clock.now_ms() + valid_days * 86_400_000;
        registry::put_invite(
            &w,
            sha256(&secret),
            &InviteRow {
                uscc: uscc.into(),
                name: name.into(),
                expires_ms: expires,
                used_by: None,
            },
        )?;
        w.commit()?;
        let invite = Invite {
            authority_key: self.root_key(),
            addrs: self.addrs.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            enterprise_uscc: uscc.into(),
            enterprise_name: name.into(),
            agency_code: self.info.agency_code.clone(),
            secret,
            block_first: first,
            block_len: numbers,
            expires_at_ms: expires,
        };
        Ok(invite.to_token(&self.identity))
    }

    /// Forgets the in-memory sync state of a peer whose connection closed.
    pub fn disconnected(&self, peer: &[u8; 32]) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(peer);
    }

    /// Handles one request from `peer` (its ed25519 device key).
    pub fn handle(&self, peer: [u8; 32], request: Request) -> Handled {
        let result = match request {
            Request::Enrol { secret, master_key } => self.enrol(peer, secret, master_key),
            other => {
                let e = match self
                    .store
                    .read()
                    .map_err(AuthorityError::from)
                    .and_then(|t| Ok(registry::enterprise_of(&t, &peer)?))
                {
                    Ok(Some(e)) => e,
                    Ok(None) => {
                        return Handled::refuse(
                            ErrorCode::NotEnrolled,
                            "this device is not enrolled",
                        );
                    }
                    Err(err) => return Handled::refuse(ErrorCode::Unavailable, err.to_string()),
                };
                match other {
                    Request::Sync { cursor, docs } => self.sync(peer, &e, cursor, docs),
                    Request::Submit(env) => self.submit(&e, &env),
                    Request::BlobStatus { sha256, size } => self.blob_status(&e, sha256, size),
                    Request::BlobPut {
                        sha256,
                        size,
                        offset,
                        bytes,
                    } => self.blob_put(&e, sha256, size, offset, &bytes),
                    Request::BlobGet { sha256, offset } => self.blob_get(&e, sha256, offset),
                    Request::Certify(req) => self.certify(&e, &req),
                    Request::Revocations => self
                        .revocations()
                        .map(|c| Handled::ok(Response::Revocations(c))),
                    Request::MyCertificate => self.my_certificate(peer),
                    Request::Enrol { .. } => unreachable!(),
                }
            }
        };
        result.unwrap_or_else(|e| Handled::refuse(ErrorCode::Unavailable, e.to_string()))
    }

    fn enrol(
        &self,
        peer: [u8; 32],
        secret: [u8; 32],
        master_key: [u8; 32],
    ) -> Result<Handled, AuthorityError> {
        let w = self.store.write()?;
        let h = sha256(&secret);
        let Some(mut invite) = registry::invite(&w, h)? else {
            return Ok(Handled::refuse(ErrorCode::BadInvite, "unknown invite"));
        };
        if invite.used_by == Some(peer) {
            return Ok(Handled::ok(Response::Enrolled {
                enterprise_uscc: invite.uscc,
            }));
        }
        if invite.used_by.is_some() {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this invite was used by another device",
            ));
        }
        if self.clock.now_ms() > invite.expires_ms {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this invite has expired",
            ));
        }
        if let Some(other) = registry::enterprise_of(&w, &peer)?
            && other != invite.uscc
        {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this device is enrolled for another enterprise",
            ));
        }
        invite.used_by = Some(peer);
        registry::put_invite(&w, h, &invite)?;
        let uscc = invite.uscc;
        registry::add_device(&w, peer, &uscc)?;
        registry::add_enterprise(
            &w,
            &uscc,
            &EnterpriseRow {
                name: invite.name,
                master_key,
            },
        )?;
        // Every enterprise reads the directory and guides.
        let dir = crate::store::directory_doc::id();
        if crate::store::docs::kind(&w, dir)?.is_some() {
            feed::push(&w, &uscc, dir, feed::AUTHORITY_WRITER)?;
        }
        w.commit()?;
        tracing::info!(enterprise = %uscc, "device enrolled");
        Ok(Handled::ok(Response::Enrolled {
            enterprise_uscc: uscc,
        }))
    }

    /// Whether `doc` is a submitted application the enterprise may not change now.
    fn locked(txn: &impl Txn, doc: DocId) -> Result<bool, StoreError> {
        Ok(cases::get(txn, doc)?.is_some_and(|c| c.status != ApplicationStatus::Returned))
    }

    fn sync(
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
        let mut w = self.store.write()?;
        let mut replies: Vec<(DocId, DocReply)> = Vec::with_capacity(decoded.len());
        let mut decoded = decoded.into_iter().peekable();
        while decoded.peek().is_some() {
            // A window at a time: authorise, load first syncs in parallel, apply.
            let mut accepted = Vec::new();
            for (doc, msg) in decoded.by_ref().take(docsync::WINDOW) {
                let writes = !msg.changes.is_empty();
                match feed::owner(&w, doc)? {
                    None => {
                        // A document this enterprise created: the replica starts empty and
                        // the sync protocol fills it.
                        w.create_doc(doc, kind::OTHER)?;
                        feed::set_owner(&w, doc, e)?;
                    }
                    Some(o) if o == e || o == crate::store::directory_doc::PUBLIC => {
                        if writes && (feed::is_authority_doc(&w, doc)? || Self::locked(&w, doc)?) {
                            // A submitted application is frozen (THREATS T2): refuse changes.
                            replies.push((doc, DocReply::NotFound));
                            continue;
                        }
                    }
                    Some(_) => {
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
                        if changed {
                            feed::push(&w, e, doc, states.peer())?;
                            self.note_licence_request(&mut w, e, doc)?;
                            self.note_profile(&mut w, e, doc)?;
                            self.note_unlock_request(&mut w, e, doc)?;
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
        // Documents of this enterprise changed since the caller's cursor.
        let mut more = false;
        let mut new_cursor = cursor;
        let peer = states.peer();
        let mut truncated = false;
        let mut others = 0;
        let mut read = 0;
        let changed = feed::after(&w, e, cursor, |entry| {
            others += usize::from(entry.writer != peer);
            read += 1;
            truncated = others > MAX_DOCS || read > 8 * MAX_DOCS;
            !truncated
        })?;
        let mut room = MAX_DOCS.saturating_sub(replies.len());
        for entry in &changed {
            let (seq, doc) = (&entry.seq, &entry.doc);
            // The asker's own latest change: it already has it.
            if entry.writer == peer || seen.contains(doc) {
                new_cursor = *seq;
                continue;
            }
            if room == 0 {
                more = true;
                break;
            }
            room -= 1;
            new_cursor = *seq;
            if let Some(m) = states.generate(&mut w, *doc)? {
                replies.push((*doc, DocReply::Message(m)));
            }
        }
        // Stopping early (no room, or the scan cap) means more remains past `new_cursor`.
        more |= truncated;
        if !more {
            new_cursor = new_cursor.max(feed::head(&w, e)?);
        }
        w.commit()?;
        Ok(Handled::ok(Response::Sync {
            cursor: new_cursor,
            docs: replies,
            more,
        }))
    }

    /// 上报 received: everything that only reads (decoding, the seal and its certificate,
    /// the content at the sealed heads) runs here in parallel with other peers; the writes
    /// go through the group commit, many submissions to one durable transaction.
    fn submit(&self, e: &str, env: &[u8]) -> Result<Handled, AuthorityError> {
        let sub = match SealedSubmission::decode(env) {
            Ok(s) => s,
            Err(err) => return Ok(Handled::violation(format!("sealed submission: {err}"))),
        };
        let seal_hash = sub.seal_hash();
        let (now, key) = self.signer();
        let claimed = match SealPayload::decode(&sub.payload) {
            Ok(p) => p,
            Err(err) => return Ok(Handled::violation(format!("seal payload: {err}"))),
        };
        let txn = self.store.read()?;
        // The sealing device's certificate, valid and unrevoked at *our* receipt time.
        let Some(serial) = certs::newest_for(&txn, &claimed.device_key)? else {
            return Ok(Handled::refuse(
                ErrorCode::BadSeal,
                "the sealing device has no certificate",
            ));
        };
        let cert = certs::signed(&txn, serial)?.ok_or(StoreError::Record("cert_bytes"))?;
        let revoked_at = certs::get(&txn, serial)?
            .ok_or(StoreError::Record("certs"))?
            .revoked_ms;
        let payload = match self.trust().verify_seal_with(&sub, &cert, now, |s| {
            // Fails closed: a certificate whose serial is not the one on record is revoked.
            if s != serial {
                Some(i64::MIN)
            } else {
                revoked_at
            }
        }) {
            Ok(p) => p,
            Err(err) => return Ok(Handled::refuse(ErrorCode::BadSeal, format!("seal: {err}"))),
        };
        if payload.enterprise_uscc != e {
            return Ok(Handled::refuse(
                ErrorCode::BadSeal,
                "the seal names another enterprise",
            ));
        }
        // Idempotent: the same seal, sent again by its enterprise, gets the same receipt.
        if let Some(r) = seals::receipt(&txn, seal_hash)? {
            return Ok(Handled::ok(Response::Receipt(r)));
        }
        // The content check reads history at the sealed heads, which later changes cannot
        // alter, so it runs outside the writer.
        let doc = payload.application_id;
        if feed::owner(&txn, doc)?.as_deref() != Some(e) {
            return Ok(Handled::refuse(
                ErrorCode::NotFound,
                "the sealed application has not been synced",
            ));
        }
        let replica = crate::store::docs::load(&txn, doc)?;
        let new_case = cases::get(&txn, doc)?.is_none();
        drop(txn);
        if let Err((code, reason)) = Self::check_sealed_content(replica, &payload, &sub) {
            return Ok(Handled::refuse(code, reason));
        }
        let case = Self::received_case(&payload);
        // A first submission's case document is new: build it here, in parallel.
        let built_case = if new_case {
            Some(self.build_case(&case, &format!("received|revision {}", payload.revision))?)
        } else {
            None
        };
        // Signed here, in parallel; handed out only once the group commit stored it.
        let receipt = Receipt {
            seal_hash,
            application_id: doc,
            application_no: payload.application_no.clone(),
            revision: payload.revision,
            enterprise_uscc: e.into(),
            received_at_ms: now,
            authority_key: key.verifying_key().to_bytes(),
        }
        .sign(&key);
        let job = Ingest {
            receipt,
            case,
            built_case,
            enterprise: e.to_owned(),
            envelope: env.to_vec(),
            payload,
            seal_hash,
            received_at_ms: now,
        };
        self.ingest
            .run(job, |jobs| self.ingest_batch(jobs))
            .map_err(|a| {
                AuthorityError::Store(StoreError::Batch {
                    message: a.to_string(),
                    disk_full: false,
                })
            })?
    }

    /// Applies verified submissions in one durable transaction. A job refused here wrote
    /// nothing (every check comes before its first write); a storage failure fails the
    /// whole batch, so no receipt is handed out for anything not committed.
    fn ingest_batch(&self, jobs: Vec<Ingest>) -> Vec<Result<Handled, AuthorityError>> {
        let n = jobs.len();
        let fail_all = |err: StoreError| {
            (0..n)
                .map(|_| Err(AuthorityError::Store(StoreError::batch(&err))))
                .collect()
        };
        let mut w = match self.store.write() {
            Ok(w) => w,
            Err(err) => return fail_all(err),
        };
        let mut out = Vec::with_capacity(n);
        let mut received = Vec::new();
        for job in jobs {
            let what = (
                job.enterprise.clone(),
                job.payload.application_no.clone(),
                job.payload.revision,
            );
            match self.ingest_one(&mut w, job) {
                Ok(h) => {
                    if matches!(h.response, Response::Receipt(_)) {
                        received.push(what);
                    }
                    out.push(Ok(h));
                }
                Err(err) => return fail_all(err),
            }
        }
        if let Err(err) = w.commit() {
            return fail_all(err);
        }
        for (enterprise, application, revision) in received {
            tracing::info!(%enterprise, %application, revision, "submission received");
        }
        out
    }

    /// The case of a submission just received: 待初审 at its revision.
    fn received_case(payload: &SealPayload) -> crate::store::case_doc::Case {
        crate::store::case_doc::Case {
            application: payload.application_id,
            status: ApplicationStatus::PendingInitial,
            revision: payload.revision,
            reason: String::new(),
            licence_no: String::new(),
            licence: Vec::new(),
            licence_state: String::new(),
            requests: Vec::new(),
        }
    }

    /// One verified submission's writes: its receipt, seal, case row, case document and
    /// audit entry. Refusals come before any write.
    fn ingest_one(&self, w: &mut WriteBatch<'_>, job: Ingest) -> Result<Handled, StoreError> {
        let (e, payload, doc) = (&job.enterprise, &job.payload, job.payload.application_id);
        let built_case = job.built_case;
        // A resend that raced its original into the same batch gets the same receipt.
        if let Some(r) = seals::receipt(w, job.seal_hash)? {
            return Ok(Handled::ok(Response::Receipt(r)));
        }
        for a in &payload.attachments {
            match blobs::info(w, &a.sha256)? {
                Some((size, _)) if size == a.size => {}
                _ => {
                    return Ok(Handled::refuse(
                        ErrorCode::BadSeal,
                        format!("attachment {} has not been uploaded", hex::encode(a.sha256)),
                    ));
                }
            }
        }
        // Revisions only move forward (THREATS T3).
        if let Some(prior) = cases::get(w, doc)? {
            let rev = prior.revision;
            if payload.revision <= rev || prior.status != ApplicationStatus::Returned {
                return Ok(Handled::refuse(
                    ErrorCode::StaleRevision,
                    format!(
                        "revision {} is not after revision {rev} in a returned application",
                        payload.revision
                    ),
                ));
            }
        }
        let receipt = job.receipt;
        seals::put_receipt(w, job.seal_hash, &receipt)?;
        cases::put_submission(w, job.seal_hash, doc, payload.revision)?;
        seals::put(w, doc, payload.revision, &job.envelope)?;
        cases::put(
            w,
            doc,
            &CaseRow {
                owner: e.clone(),
                application_no: payload.application_no.clone(),
                revision: payload.revision,
                status: ApplicationStatus::PendingInitial,
                seal_hash: job.seal_hash,
                received_ms: job.received_at_ms,
            },
        )?;
        self.put_case_with(
            w,
            e,
            &job.case,
            &format!("received|revision {}", payload.revision),
            built_case,
        )?;
        audit::append(
            w,
            job.received_at_ms,
            e,
            doc,
            "上报",
            &format!("revision {}", payload.revision),
        )?;
        Ok(Handled::ok(Response::Receipt(receipt)))
    }

    /// The replica at the sealed heads must reproduce the sealed content exactly.
    /// Whether the replica at the sealed heads reproduces the sealed content. Heads not
    /// synced yet are `Unavailable` (the device retries after its next sync round); a
    /// mismatch is `BadSeal` (final).
    fn check_sealed_content(
        replica: Option<automerge::AutoCommit>,
        p: &SealPayload,
        sub: &SealedSubmission,
    ) -> Result<(), (ErrorCode, String)> {
        let heads: Vec<automerge::ChangeHash> =
            p.heads.iter().map(|h| automerge::ChangeHash(*h)).collect();
        let not_yet = |m: &str| (ErrorCode::Unavailable, m.to_owned());
        let Some(mut doc) = replica else {
            return Err(not_yet("the sealed application has not been synced"));
        };
        let doc = &mut doc;
        if !doc.get_missing_deps(&heads).is_empty()
            || heads.iter().any(|h| doc.get_change_by_hash(h).is_none())
        {
            return Err(not_yet("the sealed revision has not been synced yet"));
        }
        let form = form_doc::read_form_at(doc, &heads).map_err(|e| {
            (
                ErrorCode::BadSeal,
                format!("cannot read the sealed revision: {e}"),
            )
        })?;
        if canonical_content(&form) != sub.content {
            return Err((
                ErrorCode::BadSeal,
                "the synced document at the sealed heads differs from the sealed content".into(),
            ));
        }
        Ok(())
    }

    fn blob_status(&self, e: &str, hash: [u8; 32], size: u64) -> Result<Handled, AuthorityError> {
        if size == 0 || size > self.info.attachment_max_bytes {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                format!(
                    "attachments are 1 to {} bytes",
                    self.info.attachment_max_bytes
                ),
            ));
        }
        let txn = self.store.read()?;
        // Only an enterprise that uploaded a blob learns that it is here; anyone else must
        // upload the bytes (proving it holds them) like a new blob.
        let owned = blobs::uploaded_by(&txn, &hash, e)?;
        if owned && blobs::info(&txn, &hash)?.is_some_and(|(have, _)| have == size) {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        let (_, received) = blobs::staged(&txn, &hash)?;
        Ok(Handled::ok(Response::BlobHave {
            received: received.min(size),
        }))
    }

    fn blob_put(
        &self,
        e: &str,
        hash: [u8; 32],
        size: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Handled, AuthorityError> {
        if size == 0 || size > self.info.attachment_max_bytes {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                format!(
                    "attachments are 1 to {} bytes",
                    self.info.attachment_max_bytes
                ),
            ));
        }
        let chunk = (offset / WIRE_CHUNK as u64) as u32;
        let expected_len = (size - offset.min(size)).min(WIRE_CHUNK as u64);
        if offset >= size || bytes.len() as u64 != expected_len {
            return Ok(Handled::violation("blob chunk outside the declared size"));
        }
        let w = self.store.write()?;
        if blobs::uploaded_by(&w, &hash, e)? {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        if chunk > blobs::staged(&w, &hash)?.0 {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "send chunks in order",
            ));
        }
        blobs::stage(&w, &hash, chunk, bytes)?;
        let received = offset + bytes.len() as u64;
        if received == size {
            // Assemble, verify, and move out of staging.
            let all = blobs::take_staged(&w, &hash)?;
            if all.len() as u64 != size || sha256(&all) != hash {
                w.commit()?; // the staged chunks are discarded
                return Ok(Handled::refuse(
                    ErrorCode::BlobMismatch,
                    "the uploaded bytes do not match their hash",
                ));
            }
            blobs::put(&w, &all)?; // a no-op when another enterprise uploaded it first
            blobs::add_uploader(&w, &hash, e)?;
        }
        w.commit()?;
        Ok(Handled::ok(Response::BlobHave { received }))
    }

    fn blob_get(&self, e: &str, hash: [u8; 32], offset: u64) -> Result<Handled, AuthorityError> {
        let txn = self.store.read()?;
        let owned = blobs::uploaded_by(&txn, &hash, e)?;
        let Some((size, _)) = blobs::info(&txn, &hash)?.filter(|_| owned) else {
            return Ok(Handled::refuse(ErrorCode::NotFound, "no such attachment"));
        };
        if offset >= size {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "offset past the end",
            ));
        }
        let i = (offset / WIRE_CHUNK as u64) as u32;
        let bytes =
            blobs::chunk(&txn, &hash, i)?.ok_or(StoreError::BlobCorrupt(hex::encode(hash)))?;
        Ok(Handled::ok(Response::BlobData {
            size,
            offset,
            bytes,
        }))
    }

    /// The current signed revocation list (issued now, valid for [`CRL_VALIDITY_MS`]).
    pub fn revocations(&self) -> Result<Vec<u8>, AuthorityError> {
        let txn = self.store.read()?;
        let version = meta_get(&txn, META_CRL_VERSION)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        let revoked = certs::all(&txn)?
            .into_iter()
            .filter_map(|c| Some((c.serial, c.revoked_ms?)))
            .collect();
        let (now, key) = self.signer();
        Ok(RevocationList {
            version,
            issued_at_ms: now,
            next_update_ms: now + CRL_VALIDITY_MS,
            revoked,
            key_id: key_id(&key.verifying_key().to_bytes()),
        }
        .sign(&key))
    }

    /// 制作证书: the newest certificate issued for `peer` (empty if none), with the list.
    fn my_certificate(&self, peer: [u8; 32]) -> Result<Handled, AuthorityError> {
        let certificate = {
            let txn = self.store.read()?;
            match certs::newest_for(&txn, &peer)? {
                Some(s) => certs::signed(&txn, s)?.unwrap_or_default(),
                None => Vec::new(),
            }
        };
        Ok(Handled::ok(Response::Certified {
            certificate,
            revocations: self.revocations()?,
        }))
    }

    /// Carries out a device-certificate request signed by the enterprise's master e-key.
    fn certify(&self, e: &str, carried: &[u8]) -> Result<Handled, AuthorityError> {
        let bad = |m: &str| Ok(Handled::refuse(ErrorCode::BadCertRequest, m.to_string()));
        let w = self.store.write()?;
        let master = match registry::enterprise(&w, e)? {
            Some(row) => row.master_key,
            None => return bad("enterprise not registered"),
        };
        let req = match CertRequest::open(carried, &master) {
            Ok(r) => r,
            Err(err) => return bad(&format!("not signed by this enterprise's e-key: {err}")),
        };
        if req.enterprise_uscc != e {
            return bad("the request names another enterprise");
        }
        if !certs::spend_nonce(&w, req.nonce)? {
            return bad("this request was already carried out (replay)");
        }
        if req.kind != RequestKind::Revoke && !valid_mobile(&req.mobile) {
            return bad("mobile: must be 11 digits starting with 1");
        }
        let (now, key) = self.signer();
        let all = certs::all(&w)?;
        let active: Vec<certificates::Active> = all
            .iter()
            .filter(|c| c.uscc == e && c.active_at(now))
            .map(|c| certificates::Active {
                serial: c.serial,
                device_key: c.device_key,
                mobile: c.mobile.clone(),
            })
            .collect();
        let outcome =
            match certificates::decide(req.kind, &req.device_key, &req.old_mobile, &active) {
                Ok(o) => o,
                Err(reason) => return bad(&reason),
            };
        let revoke = &outcome.revoke;
        for c in all.iter().filter(|c| revoke.contains(&c.serial)) {
            certs::put(
                &w,
                &certs::CertRow {
                    revoked_ms: Some(now),
                    ..c.clone()
                },
            )?;
        }
        if !revoke.is_empty() {
            let v = meta_get(&w, META_CRL_VERSION)?
                .and_then(|v| v.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            meta_put(&w, META_CRL_VERSION, &(v + 1).to_be_bytes())?;
        }
        let mut certificate = Vec::new();
        if outcome.issue {
            let serial = meta_get(&w, META_NEXT_SERIAL)?
                .and_then(|v| v.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            meta_put(&w, META_NEXT_SERIAL, &(serial + 1).to_be_bytes())?;
            let cert = DeviceCertificate {
                serial,
                enterprise_uscc: e.into(),
                device_key: req.device_key,
                mobile: req.mobile.clone(),
                not_before_ms: now,
                not_after_ms: now + CERT_VALIDITY_MS,
                key_id: key_id(&key.verifying_key().to_bytes()),
            };
            certificate = cert.sign(&key);
            certs::issue(
                &w,
                &certs::CertRow {
                    serial,
                    uscc: e.into(),
                    device_key: req.device_key,
                    mobile: req.mobile.clone(),
                    not_before_ms: now,
                    not_after_ms: now + CERT_VALIDITY_MS,
                    revoked_ms: None,
                },
                &certificate,
            )?;
        }
        w.commit()?;
        tracing::info!(enterprise = %e, kind = req.kind.zh(), revoked = revoke.len(), "certificate request carried out");
        Ok(Handled::ok(Response::Certified {
            certificate,
            revocations: self.revocations()?,
        }))
    }

    /// The status of an application at the authority, if submitted.
    pub fn case_status(
        &self,
        doc: DocId,
    ) -> Result<Option<(ApplicationStatus, u32)>, AuthorityError> {
        Ok(cases::get(&self.store.read()?, doc)?.map(|c| (c.status, c.revision)))
    }

    /// Heads of a document in the replica.
    pub fn heads(&self, doc: DocId) -> Result<Option<Vec<[u8; 32]>>, AuthorityError> {
        Ok(self
            .store
            .with_doc(doc, |d| d.get_heads().into_iter().map(|h| h.0).collect())?)
    }

    /// Documents held (all kinds).
    pub fn doc_count(&self) -> Result<u64, AuthorityError> {
        Ok(crate::store::docs::count(&self.store.read()?)?)
    }

    /// Submissions accepted.
    pub fn submission_count(&self) -> Result<u64, AuthorityError> {
        Ok(cases::submission_count(&self.store.read()?)?)
    }
}

const _: () = assert!(blobs::CHUNK == WIRE_CHUNK);

pub mod casefile;
pub mod keys;
pub mod licence_request;
pub mod profiles;
pub mod review;
pub mod staff;
#[cfg(test)]
mod tests;
pub mod unlocks;
