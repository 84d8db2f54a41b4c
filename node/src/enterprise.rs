//! The enterprise role: every action a user takes on applications, each one redb
//! transaction that is acknowledged only after it commits.
//!
//! [`Enterprise`] joins the pure [`crate::domain`] rules to the [`crate::store`]: it reads
//! the current state, asks the domain whether the action is allowed and valid, applies the
//! change to the Automerge document and the node's records, and commits.

use std::sync::Arc;

use automerge::transaction::CommitOptions;
use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::application::{ApplicationForm, ApplicationSummary, ApplicationView, SealResult};
use exlic_client::attachment::AttachmentRef;
use exlic_client::error::{FieldError, Severity};
use exlic_client::node::NodeInfo;
use exlic_client::query::{ApplicationQuery, Page};
use exlic_client::seal::{AttachmentDigest, SealPayload, SealedSubmission, canonical_content};
use exlic_client::status::ApplicationStatus;

use crate::clock::{Clock, china_date, date_key};
use crate::domain::lifecycle::{self, Action, Refused};
use crate::domain::numbering::{NumberBlock, NumberError};
use crate::domain::reference::Reference;
use crate::domain::rules::{self, Context, TextLimits};
use crate::domain::totals;
use crate::store::app_state::{self, AppState};
use crate::store::kind;
use crate::store::{
    Store, StoreError, WriteBatch, blobs, docs, form_doc, index, meta_get, meta_put, seals,
};

/// Who this node belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// 企业名称.
    pub enterprise_name: String,
    /// 统一社会信用代码.
    pub enterprise_uscc: String,
    /// The issuing agency (发证机构) code it reports to.
    pub agency_code: String,
}

/// Settings of the enterprise role.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Free-text limits (V24).
    pub limits: TextLimits,
    /// USCCs accepted although they fail the checksum.
    pub uscc_allow_list: Vec<String>,
    /// Largest attachment, bytes.
    pub attachment_max_bytes: u64,
    /// Most attachments per application.
    pub attachments_per_application: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            limits: TextLimits::default(),
            uscc_allow_list: Vec::new(),
            attachment_max_bytes: 20 << 20,
            attachments_per_application: 50,
        }
    }
}

/// Why an action failed. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnterpriseError {
    /// No application with that id.
    #[error("no application {0}")]
    NotFound(DocId),
    /// No attachment with that hash on the application.
    #[error("no attachment {0} on this application")]
    AttachmentNotFound(String),
    /// Input broke rules; every failure is listed.
    #[error("{} rule(s) failed", .0.iter().filter(|e| e.severity == Severity::Error).count())]
    Invalid(Vec<FieldError>),
    /// Bad input outside the form rules (query parameters, upload metadata).
    #[error("{field}: {message}")]
    BadInput {
        /// The parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The action is not allowed in the application's state.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Numbering failed (block exhausted).
    #[error(transparent)]
    Numbers(#[from] NumberError),
    /// An attachment is over the size limit.
    #[error("attachment is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The node was never initialised (no device key or number block).
    #[error("node is not initialised: {0}")]
    NotInitialised(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Automerge refused an operation.
    #[error("document: {0}")]
    Document(#[from] automerge::AutomergeError),
}

type Result<T, E = EnterpriseError> = std::result::Result<T, E>;

crate::store::errors_via_store!(
    EnterpriseError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

const META_DEVICE_KEY: &str = "device_key";
const META_NUMBER_BLOCK: &str = "number_block";
const META_NEXT_OUTBOX: &str = "next_outbox";

fn encode_block(b: &NumberBlock) -> Vec<u8> {
    let mut v = b.first.to_be_bytes().to_vec();
    v.extend_from_slice(&b.len.to_be_bytes());
    v.extend_from_slice(&b.used.to_be_bytes());
    v
}

fn decode_block(v: &[u8]) -> Option<NumberBlock> {
    if v.len() != 32 {
        return None;
    }
    Some(NumberBlock {
        first: u128::from_be_bytes(v[..16].try_into().ok()?),
        len: u64::from_be_bytes(v[16..24].try_into().ok()?),
        used: u64::from_be_bytes(v[24..].try_into().ok()?),
    })
}

/// Creates the device key and the number block of a new node (kept if already there).
pub fn initialise(store: &Store, block: NumberBlock) -> Result<()> {
    let w = store.write()?;
    if meta_get(&w, META_DEVICE_KEY)?.is_none() {
        meta_put(&w, META_DEVICE_KEY, &crate::random::bytes::<32>())?;
    }
    if meta_get(&w, META_NUMBER_BLOCK)?.is_none() {
        meta_put(&w, META_NUMBER_BLOCK, &encode_block(&block))?;
    }
    w.commit()?;
    Ok(())
}

const META_INVITE_SECRET: &str = "invite_secret";

/// Records the invite secret for enrolment (the master e-key is created by
/// [`crate::ekey::create`] under the user's PIN).
pub fn initialise_enrolment(store: &Store, secret: [u8; 32]) -> Result<()> {
    let w = store.write()?;
    meta_put(&w, META_INVITE_SECRET, &secret)?;
    w.commit()?;
    Ok(())
}

/// The enterprise role over one store.
#[derive(Debug)]
pub struct Enterprise {
    store: Arc<Store>,
    reference: Arc<Reference>,
    clock: Arc<dyn Clock>,
    identity: Identity,
    settings: Settings,
    device_key: SigningKey,
}

impl Enterprise {
    /// Opens the role over an initialised store.
    pub fn new(
        store: Arc<Store>,
        reference: Arc<Reference>,
        clock: Arc<dyn Clock>,
        identity: Identity,
        settings: Settings,
    ) -> Result<Self> {
        let txn = store.read()?;
        let seed: [u8; 32] = meta_get(&txn, META_DEVICE_KEY)?
            .and_then(|v| v.try_into().ok())
            .ok_or(EnterpriseError::NotInitialised("no device key"))?;
        let device_key = SigningKey::from_bytes(&seed);
        store.set_actor(automerge::ActorId::from(
            &device_key.verifying_key().to_bytes()[..16],
        ));
        Ok(Self {
            store,
            reference,
            clock,
            identity,
            settings,
            device_key,
        })
    }

    /// The invite secret (until enrolled) and the master public key.
    pub fn enrolment_keys(&self) -> Result<(Option<[u8; 32]>, [u8; 32])> {
        let t = self.store.read()?;
        let secret = meta_get(&t, META_INVITE_SECRET)?.and_then(|v| v.try_into().ok());
        drop(t);
        let master = crate::ekey::public_key(&self.store)
            .map_err(|e| {
                EnterpriseError::NotInitialised(if matches!(e, crate::ekey::EkeyError::Store(_)) {
                    "storage"
                } else {
                    "e-key"
                })
            })?
            .ok_or(EnterpriseError::NotInitialised(
                "no e-key: run `exlic init enterprise` with --pin",
            ))?;
        Ok((secret, master))
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The loaded reference data.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// This device's public seal key.
    pub fn device_public_key(&self) -> [u8; 32] {
        self.device_key.verifying_key().to_bytes()
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Now, by this node's clock, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn ctx(&self, attachment_count: usize) -> Context<'_> {
        Context {
            reference: &self.reference,
            today: china_date(self.clock.now_ms()),
            enterprise_uscc: &self.identity.enterprise_uscc,
            agency_code: &self.identity.agency_code,
            limits: &self.settings.limits,
            uscc_allow_list: &self.settings.uscc_allow_list,
            attachment_count,
            has_device_key: true,
        }
    }

    fn check_draft(&self, form: &ApplicationForm) -> Result<()> {
        let errs = rules::check_draft(form, &self.ctx(0));
        if errs.is_empty() {
            Ok(())
        } else {
            Err(EnterpriseError::Invalid(errs))
        }
    }

    fn summary(&self, id: DocId, form: &ApplicationForm, state: &AppState) -> ApplicationSummary {
        let t = totals::compute(form, &self.reference);
        ApplicationSummary {
            id,
            status: state.status,
            application_no: state.application_no.clone(),
            application_date: state.application_date.to_string(),
            created_at_ms: state.created_at_ms,
            commodity_code: form.commodity_code.clone(),
            commodity_name: self.commodity_name(form).unwrap_or_default(),
            quantity: t.total_quantity,
            trade_mode: form.trade_mode.clone(),
            quota_year: form.quota_year.clone(),
            batch_mode: form.batch_mode.clone(),
            licence_no: state.licence_no.clone(),
        }
    }

    fn commodity_name(&self, form: &ApplicationForm) -> Option<String> {
        let entry = rules::parse_year(&form.quota_year)
            .and_then(|y| self.reference.commodity(y, &form.commodity_code))
            .or_else(|| self.reference.commodity_any_year(&form.commodity_code))?;
        Some(entry.name.clone())
    }

    fn state(txn: &impl crate::store::Txn, id: DocId) -> Result<AppState> {
        app_state::get(txn, id)?.ok_or(EnterpriseError::NotFound(id))
    }

    fn put_state(w: &WriteBatch<'_>, id: DocId, s: &AppState) -> Result<()> {
        Ok(app_state::put(w, id, s)?)
    }

    fn commit_opts(&self) -> CommitOptions {
        CommitOptions::default().with_time(self.clock.now_ms() / 1000)
    }

    /// 新增: creates an application holding `form` (a draft; only 暂存 checks apply).
    pub fn create(&self, form: &ApplicationForm) -> Result<ApplicationView> {
        self.check_draft(form)?;
        let now = self.clock.now_ms();
        let id = DocId(crate::random::bytes());
        let mut w = self.store.write()?;
        let opts = self.commit_opts();
        let doc = w.create_doc(id, kind::APPLICATION)?;
        form_doc::init(doc, now, form)?;
        doc.commit_with(opts);
        w.save_doc(id)?;
        let mut state = AppState {
            status: ApplicationStatus::Draft,
            revision: 0,
            application_no: None,
            licence_no: None,
            application_date: date_key(china_date(now)),
            created_at_ms: now,
            updated_at_ms: now,
            history: Vec::new(),
        };
        state.log(now, "created", "");
        Self::put_state(&w, id, &state)?;
        index::put_summary(&w, id, Some(&self.summary(id, form, &state)))?;
        w.commit()?;
        self.get(id)
    }

    /// The application as the node shows it.
    pub fn get(&self, id: DocId) -> Result<ApplicationView> {
        let state = Self::state(&self.store.read()?, id)?;
        let (form, attachments, deleted, heads) = self
            .store
            .with_doc(id, |d| {
                let mut heads: Vec<String> =
                    d.get_heads().iter().map(|h| hex::encode(h.0)).collect();
                heads.sort();
                (
                    form_doc::read_form(d),
                    form_doc::attachments(d),
                    form_doc::is_deleted(d),
                    heads,
                )
            })?
            .ok_or(EnterpriseError::NotFound(id))?;
        if deleted {
            return Err(EnterpriseError::NotFound(id));
        }
        Ok(ApplicationView {
            id,
            status: state.status,
            application_no: state.application_no.clone(),
            revision: state.revision,
            frozen: lifecycle::is_frozen(state.status),
            commodity_name: self.commodity_name(&form),
            totals: totals::compute(&form, &self.reference),
            form,
            attachments,
            application_date: state.application_date.to_string(),
            created_at_ms: state.created_at_ms,
            updated_at_ms: state.updated_at_ms,
            licence_no: state.licence_no.clone(),
            heads,
            history: state.history,
        })
    }

    /// Opens an editable application inside a write; refuses frozen or deleted ones.
    fn begin_edit(&self, id: DocId, action: Action) -> Result<(WriteBatch<'_>, AppState)> {
        let mut w = self.store.write()?;
        let state = Self::state(&w, id)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if form_doc::is_deleted(doc) {
            return Err(EnterpriseError::NotFound(id));
        }
        lifecycle::check(state.status, action)?;
        Ok((w, state))
    }

    /// Saves the document change, state and list row, then commits.
    fn finish_edit(
        &self,
        mut w: WriteBatch<'_>,
        id: DocId,
        mut state: AppState,
        event: &str,
    ) -> Result<ApplicationView> {
        let opts = self.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        doc.commit_with(opts);
        let form = form_doc::read_form(doc);
        if w.save_doc(id)? {
            state.log(self.clock.now_ms(), event, "");
            Self::put_state(&w, id, &state)?;
            index::put_summary(&w, id, Some(&self.summary(id, &form, &state)))?;
            w.commit()?;
        } else {
            // Nothing changed: release the write (and the cache it holds) before reading.
            drop(w);
        }
        self.get(id)
    }

    /// 暂存: replaces the whole form (only what differs becomes a change).
    pub fn save(&self, id: DocId, form: &ApplicationForm) -> Result<ApplicationView> {
        self.check_draft(form)?;
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        form_doc::write_form(doc, form)?;
        self.finish_edit(w, id, state, "saved")
    }

    /// Edits some fields: a JSON merge patch (RFC 7396) over the form.
    pub fn patch(&self, id: DocId, patch: &serde_json::Value) -> Result<ApplicationView> {
        let serde_json::Value::Object(_) = patch else {
            return Err(EnterpriseError::BadInput {
                field: "body".into(),
                message: "a patch must be a JSON object of form fields".into(),
            });
        };
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        let mut current = serde_json::to_value(form_doc::read_form(doc)).expect("serialises");
        merge_patch(&mut current, patch);
        let form: ApplicationForm =
            serde_path_to_error::deserialize(current).map_err(|e| EnterpriseError::BadInput {
                field: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        let errs = rules::check_draft(&form, &self.ctx(0));
        if !errs.is_empty() {
            return Err(EnterpriseError::Invalid(errs));
        }
        form_doc::write_form(doc, &form)?;
        self.finish_edit(w, id, state, "saved")
    }

    /// Deletes a draft (or a sealed application not yet reported).
    pub fn delete(&self, id: DocId) -> Result<()> {
        let (mut w, mut state) = self.begin_edit(id, Action::Delete)?;
        let opts = self.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        form_doc::mark_deleted(doc)?;
        doc.commit_with(opts);
        w.save_doc(id)?;
        state.log(self.clock.now_ms(), "deleted", "");
        Self::put_state(&w, id, &state)?;
        index::put_summary(&w, id, None)?;
        w.commit()?;
        Ok(())
    }

    /// 上传附件: stores the bytes and lists them on the application.
    pub fn add_attachment(
        &self,
        id: DocId,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<AttachmentRef> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > 200
            || name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(EnterpriseError::BadInput {
                field: "name".into(),
                message: "a file name of 1–200 characters without slashes or control characters is required".into(),
            });
        }
        if bytes.is_empty() {
            return Err(EnterpriseError::BadInput {
                field: "body".into(),
                message: "the attachment is empty".into(),
            });
        }
        if bytes.len() as u64 > self.settings.attachment_max_bytes {
            return Err(EnterpriseError::TooLarge {
                size: bytes.len() as u64,
                limit: self.settings.attachment_max_bytes,
            });
        }
        let media_type = if media_type.is_empty() || media_type.len() > 100 {
            "application/octet-stream"
        } else {
            media_type
        };
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let hash = blobs::put(&w, bytes)?;
        blobs::enqueue(&w, blobs::Queue::Up, hash, bytes.len() as u64)?;
        let a = AttachmentRef {
            sha256: hex::encode(hash),
            name: name.to_owned(),
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
        };
        let limit = self.settings.attachments_per_application;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if form_doc::attachments(doc).len() >= limit {
            return Err(EnterpriseError::BadInput {
                field: "attachments".into(),
                message: format!("at most {limit} attachments per application"),
            });
        }
        form_doc::add_attachment(doc, &a)?;
        self.finish_edit(w, id, state, "attachment added")?;
        Ok(a)
    }

    /// Removes an attachment from the list (its bytes stay for earlier seals).
    pub fn remove_attachment(&self, id: DocId, sha256: &str) -> Result<()> {
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if !form_doc::remove_attachment(doc, sha256)? {
            return Err(EnterpriseError::AttachmentNotFound(sha256.into()));
        }
        self.finish_edit(w, id, state, "attachment removed")?;
        Ok(())
    }

    /// An attachment's bytes (hash-checked), with its listing.
    pub fn attachment(&self, id: DocId, sha256: &str) -> Result<(AttachmentRef, Vec<u8>)> {
        let view = self.get(id)?;
        let a = view
            .attachments
            .into_iter()
            .find(|a| a.sha256 == sha256)
            .ok_or_else(|| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(sha256, &mut hash)
            .map_err(|_| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        let bytes = blobs::get(&self.store.read()?, &hash)?
            .ok_or_else(|| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        Ok((a, bytes))
    }

    /// 保存并盖章: validates every rule, then seals and assigns the 申请表号.
    pub fn seal(&self, id: DocId) -> Result<SealResult> {
        let (mut w, mut state) = self.begin_edit(id, Action::Seal)?;
        let opts = self.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        doc.commit_with(opts);
        let form = form_doc::read_form(doc);
        let atts = form_doc::attachments(doc);
        let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
        // Persist any pending change first so the sealed heads are on disk.
        w.save_doc(id)?;
        let mut all = rules::check_seal(&form, &self.ctx(atts.len()));
        all.extend(self.certificate_findings()?);
        if all.iter().any(|e| e.severity == Severity::Error) {
            return Err(EnterpriseError::Invalid(all));
        }
        let mut digests = Vec::with_capacity(atts.len());
        for a in &atts {
            let mut h = [0u8; 32];
            hex::decode_to_slice(&a.sha256, &mut h)
                .map_err(|_| StoreError::Record("attachment hash"))?;
            match blobs::info(&w, &h)? {
                Some((size, _)) if size == a.size => {
                    digests.push(AttachmentDigest { sha256: h, size })
                }
                _ => return Err(StoreError::BlobCorrupt(a.sha256.clone()).into()),
            }
        }
        digests.sort();
        digests.dedup_by_key(|d| d.sha256);
        heads.sort();
        let application_no = match &state.application_no {
            Some(n) => n.clone(),
            None => {
                let raw = meta_get(&w, META_NUMBER_BLOCK)?
                    .ok_or(EnterpriseError::NotInitialised("no number block"))?;
                let mut block = decode_block(&raw).ok_or(StoreError::Record("number_block"))?;
                let n = block.allocate()?;
                meta_put(&w, META_NUMBER_BLOCK, &encode_block(&block))?;
                n
            }
        };
        let now = self.clock.now_ms();
        let revision = state.revision + 1;
        let content = canonical_content(&form);
        let payload = SealPayload {
            enterprise_uscc: self.identity.enterprise_uscc.clone(),
            application_id: id,
            application_no: application_no.clone(),
            revision,
            heads,
            content_sha256: exlic_client::seal::sha256(&content),
            attachments: digests,
            device_key: self.device_public_key(),
            sealed_at_ms: now,
        };
        let sealed = SealedSubmission::seal(&payload, content, &self.device_key);
        seals::put(&w, id, revision, &sealed.encode())?;
        state.status = ApplicationStatus::Sealed;
        state.revision = revision;
        state.application_no = Some(application_no.clone());
        state.log(now, "sealed", format!("revision {revision}"));
        Self::put_state(&w, id, &state)?;
        index::put_summary(&w, id, Some(&self.summary(id, &form, &state)))?;
        w.commit()?;
        Ok(SealResult {
            application_no,
            revision,
            seal_hash: hex::encode(sealed.seal_hash()),
            warnings: all,
        })
    }

    /// V04's certificate part: the device certificate must be valid and unrevoked as far as
    /// this node knows; without one yet, a warning (the authority decides at receipt).
    fn certificate_findings(&self) -> Result<Vec<FieldError>> {
        let f = |severity, message: &str| FieldError {
            field: "seal".into(),
            rule: "V04".into(),
            message: message.into(),
            severity,
        };
        Ok(match self.device_certificate()? {
            None => vec![f(
                Severity::Warning,
                "this device has no certificate yet; the issuing agency checks it when the application arrives",
            )],
            Some((_, true)) => vec![f(
                Severity::Error,
                "this device's certificate has been revoked (手机证书已注销)",
            )],
            Some((c, false)) if self.clock.now_ms() >= c.not_after_ms => vec![f(
                Severity::Error,
                "this device's certificate has expired; renew it (续签)",
            )],
            Some(_) => vec![],
        })
    }

    /// 上报: puts the latest seal in the durable outbox.
    pub fn report(&self, id: DocId) -> Result<ApplicationView> {
        let (mut w, mut state) = self.begin_edit(id, Action::Report)?;
        let form = form_doc::read_form(w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?);
        let next = meta_get(&w, META_NEXT_OUTBOX)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        seals::enqueue(&w, next, id, state.revision)?;
        meta_put(&w, META_NEXT_OUTBOX, &(next + 1).to_be_bytes())?;
        state.status = ApplicationStatus::Queued;
        state.log(
            self.clock.now_ms(),
            "reported",
            format!("revision {} queued for delivery", state.revision),
        );
        Self::put_state(&w, id, &state)?;
        index::put_summary(&w, id, Some(&self.summary(id, &form, &state)))?;
        w.commit()?;
        self.get(id)
    }

    /// The latest sealed submission of an application.
    pub fn sealed_submission(&self, id: DocId) -> Result<SealedSubmission> {
        let txn = self.store.read()?;
        let state = Self::state(&txn, id)?;
        if state.revision == 0 {
            return Err(EnterpriseError::Refused(Refused {
                action: "downloading the seal",
                status: state.status,
                why: "the application has not been sealed",
            }));
        }
        let env = seals::get(&txn, id, state.revision)?.ok_or(StoreError::Record("seal"))?;
        SealedSubmission::decode(&env).map_err(|_| StoreError::Record("seal").into())
    }

    /// Sealed submissions waiting in the outbox, oldest first.
    pub fn outbox(&self) -> Result<Vec<(u64, DocId, u32)>> {
        Ok(seals::outbox(&self.store.read()?)?
            .into_iter()
            .map(|q| (q.seq, q.app, q.revision))
            .collect())
    }

    /// The list and 查询.
    pub fn query(&self, q: &ApplicationQuery) -> Result<Page<ApplicationSummary>> {
        let bad = |field: &str, message: &str| EnterpriseError::BadInput {
            field: field.into(),
            message: message.into(),
        };
        if let Some(t) = &q.licence_type
            && t != "export"
        {
            return Err(bad(
                "licence_type",
                "only `export` (出口许可证) is supported",
            ));
        }
        let page = q.page.unwrap_or(1);
        if page == 0 {
            return Err(bad("page", "pages count from 1"));
        }
        let per_page = q.per_page.unwrap_or(20);
        if !(1..=200).contains(&per_page) {
            return Err(bad("per_page", "must be between 1 and 200"));
        }
        // A day in China as [start, end) Unix ms.
        let day = |field: &str, v: &Option<String>| -> Result<Option<(i64, i64)>> {
            match v.as_deref() {
                None | Some("") => Ok(None),
                Some(s) => {
                    let digits: String = s.chars().filter(|c| *c != '-').collect();
                    let d = jiff::civil::Date::strptime("%Y%m%d", &digits)
                        .map_err(|_| bad(field, "must be a date YYYYMMDD or YYYY-MM-DD"))?;
                    let start = |d: jiff::civil::Date| {
                        d.to_zoned(crate::clock::china())
                            .map(|z| z.timestamp().as_millisecond())
                    };
                    let next = d.tomorrow().map_err(|_| bad(field, "date out of range"))?;
                    match (start(d), start(next)) {
                        (Ok(a), Ok(b)) => Ok(Some((a, b))),
                        _ => Err(bad(field, "date out of range")),
                    }
                }
            }
        };
        let from = day("from", &q.from)?.map(|(a, _)| a);
        let to = day("to", &q.to)?.map(|(_, b)| b);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(bad("to", "the end date is before the start date"));
        }
        let digits = |field: &str, v: &Option<String>, max: usize| -> Result<Option<String>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) if s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Some(s.to_owned()))
                }
                Some(_) => Err(bad(field, &format!("must be up to {max} digits"))),
            }
        };
        let commodity = digits("commodity_code", &q.commodity_code, 10)?;
        let application_no = digits("application_no", &q.application_no, 21)?;
        let trade_mode = match q.trade_mode.as_deref() {
            None | Some("") => None,
            Some(t) if self.reference.is_trade_mode(t) => Some(t.to_owned()),
            Some(_) => return Err(bad("trade_mode", "unknown trade mode")),
        };
        let filter = index::Filter {
            from,
            to,
            status: q.status,
            commodity,
            trade_mode,
            year: q.year,
            application_no,
        };
        let (items, has_more) = index::query(&self.store.read()?, &filter, page, per_page)?;
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// What the node says about itself.
    pub fn node_info(&self) -> Result<NodeInfo> {
        let txn = self.store.read()?;
        let left = meta_get(&txn, META_NUMBER_BLOCK)?
            .and_then(|v| decode_block(&v))
            .map(|b| b.remaining())
            .unwrap_or(0);
        Ok(NodeInfo {
            role: "enterprise".into(),
            enterprise_name: self.identity.enterprise_name.clone(),
            enterprise_uscc: self.identity.enterprise_uscc.clone(),
            agency_code: self.identity.agency_code.clone(),
            device_public_key: hex::encode(self.device_public_key()),
            numbers_left: left,
            version: env!("CARGO_PKG_VERSION").into(),
            reference_version: self.reference.version().into(),
        })
    }

    /// Checks that list rows and indexes agree with the documents; returns the problems.
    pub fn check_consistency(&self) -> Result<Vec<String>> {
        let txn = self.store.read()?;
        let mut problems = index::check_consistency(&txn)?;
        for (id, row) in index::all_summaries(&txn)? {
            let state = Self::state(&txn, id)?;
            let form = self
                .store
                .with_doc(id, |d| form_doc::read_form(d))?
                .ok_or(EnterpriseError::NotFound(id))?;
            if self.summary(id, &form, &state) != row {
                problems.push(format!("list row of {id} differs from its document"));
            }
            if docs::kind(&txn, id)? != Some(kind::APPLICATION) {
                problems.push(format!("{id} has no document"));
            }
        }
        Ok(problems)
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

pub mod blob_relay;
pub mod certs;
pub mod licence_request;
pub mod profile;
pub mod replica;
pub mod session;
#[cfg(test)]
mod tests;
pub mod unlock;
