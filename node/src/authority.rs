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
use redb::ReadableTable;

use crate::clock::Clock;
use crate::store::group::GroupCommit;
use crate::store::tables::*;
use crate::store::{Store, StoreError, WriteBatch, blobs, form_doc, meta_get, meta_put};
use crate::sync::docsync::{self, DocSyncError, PeerStates};
use exlic_client::inflate::Budget;

const META_AUTHORITY_KEY: &str = "authority_key";
/// The current signing seed after a key rollover (absent: the identity key signs).
const META_SIGNING_KEY: &str = "authority_signing_key";
const META_NEXT_BLOCK: &str = "next_block_first";
const META_NEXT_SERIAL: &str = "next_cert_serial";
const META_CRL_VERSION: &str = "crl_version";
/// Active device certificates an enterprise may hold at once (S14: at most 3).
pub const MAX_ACTIVE_CERTS: usize = 3;
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
    /// Input refused.
    #[error("{0}")]
    Invalid(String),
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
    if meta_get(w.txn(), META_AUTHORITY_KEY)?.is_none() {
        meta_put(w.txn(), META_AUTHORITY_KEY, &crate::random::bytes::<32>())?;
    }
    if meta_get(w.txn(), META_NEXT_BLOCK)?.is_none() {
        // 申请表号 blocks: YY + 2 agency digits (hash of the code) + 17 digits of serial space.
        let yy =
            (crate::clock::china_date(crate::clock::SystemClock.now_ms()).year() % 100) as u128;
        let agency = agency_code
            .bytes()
            .fold(0u128, |a, b| (a * 31 + u128::from(b)) % 100);
        let first = yy * 10u128.pow(19) + agency * 10u128.pow(17);
        meta_put(w.txn(), META_NEXT_BLOCK, &first.to_be_bytes())?;
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
            let mut records = Vec::new();
            for r in txn.open_table(KEY_RECORDS)?.iter()? {
                records.push(r?.1.value().to_vec());
            }
            (key, records)
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
            .map_err(|e| AuthorityError::Invalid(format!("uscc: {e}")))?;
        if self
            .addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return Err(AuthorityError::Invalid(
                "addrs: the authority has no address to put in the token".into(),
            ));
        }
        if name.trim().is_empty() {
            return Err(AuthorityError::Invalid("name: is required".into()));
        }
        if numbers == 0 || numbers > 10_000_000 {
            return Err(AuthorityError::Invalid(
                "numbers: must be 1–10,000,000".into(),
            ));
        }
        let secret: [u8; 32] = crate::random::bytes();
        let w = self.store.write()?;
        let first = meta_get(w.txn(), META_NEXT_BLOCK)?
            .and_then(|v| v.try_into().ok())
            .map(u128::from_be_bytes)
            .ok_or(AuthorityError::NotInitialised)?;
        meta_put(
            w.txn(),
            META_NEXT_BLOCK,
            &(first + u128::from(numbers)).to_be_bytes(),
        )?;
        let expires = self.clock.now_ms() + valid_days * 86_400_000;
        {
            let mut t = w.txn().open_table(INVITES)?;
            t.insert(sha256(&secret), (uscc, name, expires, [0u8; 32]))?;
        }
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

    fn enterprise_of(&self, txn: &impl Txn, peer: &[u8; 32]) -> Result<Option<String>, StoreError> {
        let t = txn.table(DEVICES)?;
        Ok(t.get(*peer)?.map(|v| v.value().to_owned()))
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
                    .and_then(|t| Ok(self.enterprise_of(&t, &peer)?))
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
        let (uscc, name, expires, used_by) = {
            let t = w.txn().open_table(INVITES)?;
            let Some(v) = t.get(h)? else {
                return Ok(Handled::refuse(ErrorCode::BadInvite, "unknown invite"));
            };
            let (u, n, e, d) = v.value();
            (u.to_owned(), n.to_owned(), e, d)
        };
        if used_by == peer {
            return Ok(Handled::ok(Response::Enrolled {
                enterprise_uscc: uscc,
            }));
        }
        if used_by != [0u8; 32] {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this invite was used by another device",
            ));
        }
        if self.clock.now_ms() > expires {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this invite has expired",
            ));
        }
        if let Some(other) = self.enterprise_of(w.txn(), &peer)?
            && other != uscc
        {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this device is enrolled for another enterprise",
            ));
        }
        w.txn()
            .open_table(INVITES)?
            .insert(h, (uscc.as_str(), name.as_str(), expires, peer))?;
        w.txn().open_table(DEVICES)?.insert(peer, uscc.as_str())?;
        {
            let mut ents = w.txn().open_table(ENTERPRISES)?;
            if ents.get(uscc.as_str())?.is_none() {
                ents.insert(uscc.as_str(), (name.as_str(), master_key))?;
            }
        }
        // Every enterprise reads the directory and guides.
        let dir = crate::store::directory_doc::id();
        if w.txn().open_table(DOC_SEQ)?.get(dir.0)?.is_some() {
            Self::feed(&w, &uscc, dir, [0; 32])?;
        }
        w.commit()?;
        tracing::info!(enterprise = %uscc, "device enrolled");
        Ok(Handled::ok(Response::Enrolled {
            enterprise_uscc: uscc,
        }))
    }

    fn owner(w: &WriteBatch<'_>, doc: DocId) -> Result<Option<String>, StoreError> {
        let t = w.txn().open_table(DOC_OWNER)?;
        Ok(t.get(doc.0)?.map(|v| v.value().to_owned()))
    }

    /// Moves `doc` to the head of its owner's feed, remembering which device (zeros: the
    /// authority) made the change, so that device is not sent its own change back.
    fn feed(
        w: &WriteBatch<'_>,
        owner: &str,
        doc: DocId,
        writer: [u8; 32],
    ) -> Result<(), StoreError> {
        let seq = {
            let t = w.txn().open_table(DOC_SEQ)?;
            t.get(doc.0)?
                .map(|v| v.value())
                .ok_or(StoreError::Record("doc_seq"))?
        };
        let mut pos = w.txn().open_table(OWNER_FEED_POS)?;
        let mut feed = w.txn().open_table(OWNER_FEED)?;
        if let Some(old) = pos.insert(doc.0, seq)? {
            feed.remove((owner, old.value()))?;
        }
        feed.insert((owner, seq), (doc.0, writer))?;
        Ok(())
    }

    /// Whether `doc` is a submitted application the enterprise may not change now.
    fn locked(w: &WriteBatch<'_>, doc: DocId) -> Result<bool, StoreError> {
        let t = w.txn().open_table(CASES)?;
        Ok(match t.get(doc.0)? {
            Some(v) => {
                ApplicationStatus::from_tag(v.value().3) != Some(ApplicationStatus::Returned)
            }
            None => false,
        })
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
                match Self::owner(&w, doc)? {
                    None => {
                        // A document this enterprise created: the replica starts empty and
                        // the sync protocol fills it.
                        w.create_doc(doc, kind::OTHER)?;
                        w.txn().open_table(DOC_OWNER)?.insert(doc.0, e)?;
                    }
                    Some(o) if o == e || o == crate::store::directory_doc::PUBLIC => {
                        let authority_doc =
                            w.txn().open_table(AUTHORITY_DOCS)?.get(doc.0)?.is_some();
                        if writes && (authority_doc || Self::locked(&w, doc)?) {
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
                            Self::feed(&w, e, doc, states.peer())?;
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
        let changed: Vec<(u64, DocId, bool)> = {
            let feed = w.txn().open_table(OWNER_FEED)?;
            let mut v = Vec::new();
            let mut others = 0;
            for entry in feed.range((e, cursor + 1)..=(e, u64::MAX))? {
                let (k, val) = entry?;
                let (id, writer) = val.value();
                let own = writer == peer;
                others += usize::from(!own);
                v.push((k.value().1, DocId(id), own));
                if others > MAX_DOCS || v.len() > 8 * MAX_DOCS {
                    truncated = true;
                    break;
                }
            }
            v
        };
        let mut room = MAX_DOCS.saturating_sub(replies.len());
        for (seq, doc, own) in &changed {
            // The asker's own latest change: it already has it.
            if *own || seen.contains(doc) {
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
            new_cursor = new_cursor.max(Self::feed_head(&w, e)?);
        }
        w.commit()?;
        Ok(Handled::ok(Response::Sync {
            cursor: new_cursor,
            docs: replies,
            more,
        }))
    }

    fn feed_head(w: &WriteBatch<'_>, e: &str) -> Result<u64, StoreError> {
        let feed = w.txn().open_table(OWNER_FEED)?;
        let last = feed
            .range((e, 0)..=(e, u64::MAX))?
            .next_back()
            .transpose()?;
        Ok(last.map(|(k, _)| k.value().1).unwrap_or(0))
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
        let Some(serial) = txn
            .open_table(DEVICE_CERT)?
            .get(claimed.device_key)?
            .map(|v| v.value())
        else {
            return Ok(Handled::refuse(
                ErrorCode::BadSeal,
                "the sealing device has no certificate",
            ));
        };
        let cert = txn
            .open_table(CERT_BYTES)?
            .get(serial)?
            .ok_or(StoreError::Record("cert_bytes"))?
            .value()
            .to_vec();
        let revoked_at = txn
            .open_table(CERTS)?
            .get(serial)?
            .ok_or(StoreError::Record("certs"))?
            .value()
            .5;
        let payload = match self.trust().verify_seal_with(&sub, &cert, now, |s| {
            // Fails closed: a certificate whose serial is not the one on record is revoked.
            if s != serial {
                Some(i64::MIN)
            } else {
                (revoked_at != i64::MAX).then_some(revoked_at)
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
        if let Some(r) = txn.open_table(RECEIPTS)?.get(seal_hash)? {
            return Ok(Handled::ok(Response::Receipt(r.value().to_vec())));
        }
        // The content check reads history at the sealed heads, which later changes cannot
        // alter, so it runs outside the writer.
        let doc = payload.application_id;
        let owner = txn
            .open_table(DOC_OWNER)?
            .get(doc.0)?
            .map(|v| v.value().to_owned());
        if owner.as_deref() != Some(e) {
            return Ok(Handled::refuse(
                ErrorCode::NotFound,
                "the sealed application has not been synced",
            ));
        }
        let replica = crate::store::docs::load(&txn, doc)?;
        let new_case = txn.open_table(CASES)?.get(doc.0)?.is_none();
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
            .map_err(|a| AuthorityError::Store(StoreError::Batch(a.to_string())))?
    }

    /// Applies verified submissions in one durable transaction. A job refused here wrote
    /// nothing (every check comes before its first write); a storage failure fails the
    /// whole batch, so no receipt is handed out for anything not committed.
    fn ingest_batch(&self, jobs: Vec<Ingest>) -> Vec<Result<Handled, AuthorityError>> {
        let n = jobs.len();
        let fail_all = |err: StoreError| {
            let msg = err.to_string();
            (0..n)
                .map(|_| Err(AuthorityError::Store(StoreError::Batch(msg.clone()))))
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
        if let Some(r) = w.txn().open_table(RECEIPTS)?.get(job.seal_hash)? {
            return Ok(Handled::ok(Response::Receipt(r.value().to_vec())));
        }
        for a in &payload.attachments {
            match blobs::info(w.txn(), &a.sha256)? {
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
        let prior = {
            let t = w.txn().open_table(CASES)?;
            t.get(doc.0)?.map(|v| {
                let (_, _, rev, status, _, _) = v.value();
                (rev, status)
            })
        };
        if let Some((rev, status)) = prior {
            let returned = ApplicationStatus::from_tag(status) == Some(ApplicationStatus::Returned);
            if payload.revision <= rev || !returned {
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
        w.txn()
            .open_table(RECEIPTS)?
            .insert(job.seal_hash, receipt.as_slice())?;
        w.txn()
            .open_table(SUBMISSIONS)?
            .insert(job.seal_hash, (doc.0, payload.revision))?;
        w.txn()
            .open_table(SEALS)?
            .insert((doc.0, payload.revision), job.envelope.as_slice())?;
        w.txn().open_table(CASES)?.insert(
            doc.0,
            (
                e.as_str(),
                payload.application_no.as_str(),
                payload.revision,
                ApplicationStatus::PendingInitial.tag(),
                job.seal_hash,
                job.received_at_ms,
            ),
        )?;
        self.put_case_with(
            w,
            e,
            &job.case,
            &format!("received|revision {}", payload.revision),
            built_case,
        )?;
        Self::audit(
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
        let owned = txn.open_table(BLOB_OWNER)?.get((hash, e))?.is_some();
        if owned && blobs::info(&txn, &hash)?.is_some_and(|(have, _)| have == size) {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        let stage = txn.open_table(BLOB_STAGE)?;
        let mut received = 0u64;
        let mut i = 0u32;
        while let Some(c) = stage.get((hash, i))? {
            received += c.value().len() as u64;
            i += 1;
        }
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
        if w.txn().open_table(BLOB_OWNER)?.get((hash, e))?.is_some() {
            return Ok(Handled::ok(Response::BlobHave { received: size }));
        }
        {
            let mut stage = w.txn().open_table(BLOB_STAGE)?;
            if chunk > 0 && stage.get((hash, chunk - 1))?.is_none() {
                return Ok(Handled::refuse(
                    ErrorCode::BadRequest,
                    "send chunks in order",
                ));
            }
            stage.insert((hash, chunk), bytes)?;
        }
        let received = offset + bytes.len() as u64;
        if received == size {
            // Assemble, verify, and move out of staging.
            let mut all = Vec::with_capacity(size as usize);
            {
                let stage = w.txn().open_table(BLOB_STAGE)?;
                for i in 0..=chunk {
                    let c = stage
                        .get((hash, i))?
                        .ok_or(StoreError::Record("blob_stage"))?;
                    all.extend_from_slice(c.value());
                }
            }
            w.txn()
                .open_table(BLOB_STAGE)?
                .retain_in((hash, 0)..=(hash, u32::MAX), |_, _| false)?;
            if sha256(&all) != hash {
                w.commit()?; // the staged chunks are discarded
                return Ok(Handled::refuse(
                    ErrorCode::BlobMismatch,
                    "the uploaded bytes do not match their hash",
                ));
            }
            blobs::put(w.txn(), &all)?; // a no-op when another enterprise uploaded it first
            w.txn().open_table(BLOB_OWNER)?.insert((hash, e), ())?;
        }
        w.commit()?;
        Ok(Handled::ok(Response::BlobHave { received }))
    }

    fn blob_get(&self, e: &str, hash: [u8; 32], offset: u64) -> Result<Handled, AuthorityError> {
        let txn = self.store.read()?;
        let owned = txn.open_table(BLOB_OWNER)?.get((hash, e))?.is_some();
        let Some((size, _)) = blobs::info(&txn, &hash)?.filter(|_| owned) else {
            return Ok(Handled::refuse(ErrorCode::NotFound, "no such attachment"));
        };
        if offset >= size {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "offset past the end",
            ));
        }
        let chunks = txn.open_table(BLOB_CHUNK)?;
        let i = (offset / WIRE_CHUNK as u64) as u32;
        let c = chunks
            .get((hash, i))?
            .ok_or(StoreError::BlobCorrupt(hex::encode(hash)))?;
        Ok(Handled::ok(Response::BlobData {
            size,
            offset,
            bytes: c.value().to_vec(),
        }))
    }

    /// The current signed revocation list (issued now, valid for [`CRL_VALIDITY_MS`]).
    pub fn revocations(&self) -> Result<Vec<u8>, AuthorityError> {
        let txn = self.store.read()?;
        let version = meta_get(&txn, META_CRL_VERSION)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        let mut revoked = Vec::new();
        for e in txn.open_table(CERTS)?.iter()? {
            let (k, v) = e?;
            let at = v.value().5;
            if at != i64::MAX {
                revoked.push((k.value(), at));
            }
        }
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
            let serial = txn.open_table(DEVICE_CERT)?.get(peer)?.map(|v| v.value());
            match serial {
                Some(s) => txn
                    .open_table(CERT_BYTES)?
                    .get(s)?
                    .map(|v| v.value().to_vec())
                    .unwrap_or_default(),
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
        let master = match w.txn().open_table(ENTERPRISES)?.get(e)? {
            Some(v) => v.value().1,
            None => return bad("enterprise not registered"),
        };
        let req = match CertRequest::open(carried, &master) {
            Ok(r) => r,
            Err(err) => return bad(&format!("not signed by this enterprise's e-key: {err}")),
        };
        if req.enterprise_uscc != e {
            return bad("the request names another enterprise");
        }
        if w.txn()
            .open_table(CERT_NONCES)?
            .insert(req.nonce, ())?
            .is_some()
        {
            return bad("this request was already carried out (replay)");
        }
        if req.kind != RequestKind::Revoke && !valid_mobile(&req.mobile) {
            return bad("mobile: must be 11 digits starting with 1");
        }
        let (now, key) = self.signer();
        // Active certificates of this enterprise.
        let active: Vec<(u64, [u8; 32], String)> = {
            let t = w.txn().open_table(CERTS)?;
            let mut v = Vec::new();
            for row in t.iter()? {
                let (k, r) = row?;
                let (u, dev, mobile, _, na, revoked) = r.value();
                if u == e && revoked == i64::MAX && na > now {
                    v.push((k.value(), dev, mobile.to_owned()));
                }
            }
            v
        };
        let device_active: Vec<u64> = active
            .iter()
            .filter(|a| a.1 == req.device_key)
            .map(|a| a.0)
            .collect();
        let mut revoke: Vec<u64> = Vec::new();
        let mut issue = true;
        match req.kind {
            RequestKind::New | RequestKind::DeviceChange => {
                if !device_active.is_empty() {
                    return bad("this device already holds a valid certificate; renew it instead");
                }
                if active.len() >= MAX_ACTIVE_CERTS {
                    return bad(&format!(
                        "the enterprise already holds {MAX_ACTIVE_CERTS} valid certificates"
                    ));
                }
            }
            RequestKind::NumberChange => {
                revoke = active
                    .iter()
                    .filter(|a| a.2 == req.old_mobile)
                    .map(|a| a.0)
                    .collect();
                if revoke.is_empty() {
                    return bad("old_mobile: no valid certificate is authorised for that number");
                }
                if active.len() - revoke.len() >= MAX_ACTIVE_CERTS {
                    return bad(&format!(
                        "the enterprise already holds {MAX_ACTIVE_CERTS} valid certificates"
                    ));
                }
                for s in device_active {
                    if !revoke.contains(&s) {
                        revoke.push(s);
                    }
                }
            }
            RequestKind::Renew => {
                if device_active.is_empty() {
                    return bad("this device holds no valid certificate to renew");
                }
                revoke = device_active;
            }
            RequestKind::Revoke => {
                if device_active.is_empty() {
                    return bad("this device holds no valid certificate");
                }
                revoke = device_active;
                issue = false;
            }
        }
        {
            let mut t = w.txn().open_table(CERTS)?;
            for serial in &revoke {
                let (u, d, m, nb, na) = {
                    let g = t.get(*serial)?.ok_or(StoreError::Record("certs"))?;
                    let row = g.value();
                    (row.0.to_owned(), row.1, row.2.to_owned(), row.3, row.4)
                };
                t.insert(*serial, (u.as_str(), d, m.as_str(), nb, na, now))?;
            }
        }
        if !revoke.is_empty() {
            let v = meta_get(w.txn(), META_CRL_VERSION)?
                .and_then(|v| v.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            meta_put(w.txn(), META_CRL_VERSION, &(v + 1).to_be_bytes())?;
        }
        let mut certificate = Vec::new();
        if issue {
            let serial = meta_get(w.txn(), META_NEXT_SERIAL)?
                .and_then(|v| v.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            meta_put(w.txn(), META_NEXT_SERIAL, &(serial + 1).to_be_bytes())?;
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
            w.txn().open_table(CERTS)?.insert(
                serial,
                (
                    e,
                    req.device_key,
                    req.mobile.as_str(),
                    now,
                    now + CERT_VALIDITY_MS,
                    i64::MAX,
                ),
            )?;
            w.txn()
                .open_table(CERT_BYTES)?
                .insert(serial, certificate.as_slice())?;
            w.txn()
                .open_table(DEVICE_CERT)?
                .insert(req.device_key, serial)?;
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
        let txn = self.store.read()?;
        let t = txn.open_table(CASES)?;
        Ok(t.get(doc.0)?.and_then(|v| {
            let (_, _, rev, st, _, _) = v.value();
            ApplicationStatus::from_tag(st).map(|s| (s, rev))
        }))
    }

    /// Heads of a document in the replica.
    pub fn heads(&self, doc: DocId) -> Result<Option<Vec<[u8; 32]>>, AuthorityError> {
        Ok(self
            .store
            .with_doc(doc, |d| d.get_heads().into_iter().map(|h| h.0).collect())?)
    }

    /// Documents held (all kinds).
    pub fn doc_count(&self) -> Result<u64, AuthorityError> {
        use redb::ReadableTableMetadata;
        let txn = self.store.read()?;
        Ok(txn.open_table(DOC_INFO)?.len()?)
    }

    /// Submissions accepted.
    pub fn submission_count(&self) -> Result<u64, AuthorityError> {
        use redb::ReadableTableMetadata;
        let txn = self.store.read()?;
        Ok(txn.open_table(SUBMISSIONS)?.len()?)
    }
}

const _: () = assert!(blobs::CHUNK == WIRE_CHUNK);

pub mod casefile;
pub mod keys;
pub mod licence_reqs;
pub mod profiles;
pub mod review;
pub mod staff;
#[cfg(test)]
mod tests;
pub mod unlocks;
