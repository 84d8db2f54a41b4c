//! 保存并盖章 and 上报: every rule checked, the 申请表号 taken from the node's number block,
//! the sealed submission signed with the device key, and the durable outbox it waits in.

use std::sync::Arc;

use exlic_client::DocId;
use exlic_client::application::{ApplicationView, SealResult};
use exlic_client::error::{FieldError, Severity};
use exlic_client::seal::{AttachmentDigest, SealPayload, SealedSubmission, canonical_content};
use exlic_client::status::ApplicationStatus;

use super::applications::Applications;
use super::certs::Certificates;
use super::device::Device;
use super::{EnterpriseError, Result};
use crate::domain::lifecycle::{Action, Refused};
use crate::domain::rules;
use crate::store::{StoreError, blobs, form_doc, meta_get, meta_put, seals};
use crate::upstream::Link;

/// 保存并盖章 and 上报.
#[derive(Debug, Clone)]
pub struct Sealing {
    pub(super) device: Arc<Device>,
    pub(super) applications: Applications,
    pub(super) certificates: Certificates,
}

impl Sealing {
    /// The rules 保存并盖章 checks, without sealing (the UI asks for the PIN only for a
    /// form that can be sealed); [`Sealing::seal`] checks them again.
    pub fn check(&self, id: DocId) -> Result<()> {
        let v = self.applications.get(id)?;
        let reference = self.device.reference();
        let link = self
            .device
            .office_for(&v.form.quota_year, &v.form.commodity_code);
        let agency = self.device.agency(&link);
        let mut all = rules::check_seal(
            &v.form,
            &self.device.ctx(&reference, agency, v.attachments.len()),
        );
        all.extend(self.certificate_findings(&link)?);
        if all.iter().any(|e| e.severity == Severity::Error) {
            return Err(EnterpriseError::Invalid(all));
        }
        Ok(())
    }

    /// 保存并盖章: validates every rule, then seals and assigns the 申请表号.
    pub fn seal(&self, id: DocId) -> Result<SealResult> {
        let (mut w, mut state) = self.applications.begin_edit(id, Action::Seal)?;
        let opts = self.device.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        doc.commit_with(opts);
        let form = form_doc::read_form(doc);
        let atts = form_doc::attachments(doc);
        let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
        // Persist any pending change first so the sealed heads are on disk.
        w.save_doc(id)?;
        let reference = self.device.reference();
        let link = self
            .device
            .office_for(&form.quota_year, &form.commodity_code);
        let agency = self.device.agency(&link);
        let mut all = rules::check_seal(&form, &self.device.ctx(&reference, agency, atts.len()));
        all.extend(self.certificate_findings(&link)?);
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
            None => super::numbers::Numbers::take(&w)?,
        };
        let now = self.device.clock.now_ms();
        let revision = state.revision + 1;
        let content = canonical_content(&form);
        let payload = SealPayload {
            enterprise_uscc: self.device.identity.enterprise_uscc.clone(),
            application_id: id,
            application_no: application_no.clone(),
            revision,
            heads,
            content_sha256: exlic_client::seal::sha256(&content),
            attachments: digests,
            device_key: self.device.public_key(),
            sealed_at_ms: now,
            // The certificate in force now, named in the seal (payload version 2), so the
            // office checks it and shows it, whatever this device holds later.
            certificate_serial: self
                .certificates
                .device_certificate_at(&link)?
                .map(|(c, _)| c.serial),
        };
        let sealed = SealedSubmission::seal(&payload, content, &self.device.key);
        seals::put(&w, id, revision, &sealed.encode())?;
        state.status = ApplicationStatus::Sealed;
        state.revision = revision;
        state.application_no = Some(application_no.clone());
        state.log(now, "sealed", format!("@revision={revision}"));
        self.device.put_state_and_row(&w, id, &form, &state)?;
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
    fn certificate_findings(&self, link: &Link) -> Result<Vec<FieldError>> {
        let f = |severity, message: &str| FieldError {
            field: "seal".into(),
            rule: "V04".into(),
            message: message.into(),
            severity,
        };
        Ok(match self.certificates.device_certificate_at(link)? {
            None => vec![f(
                Severity::Warning,
                "this device has no certificate yet; the issuing agency checks it when the application arrives",
            )],
            Some((_, true)) => vec![f(
                Severity::Error,
                "this device's certificate has been revoked (手机证书已注销)",
            )],
            Some((c, false)) if self.device.clock.now_ms() >= c.not_after_ms => vec![f(
                Severity::Error,
                "this device's certificate has expired; renew it (续签)",
            )],
            Some(_) => vec![],
        })
    }

    /// 上报: puts the latest seal in the durable outbox.
    pub fn report(&self, id: DocId) -> Result<ApplicationView> {
        let (mut w, mut state) = self.applications.begin_edit(id, Action::Report)?;
        let form = form_doc::read_form(w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?);
        let next = meta_get(&w, META_NEXT_OUTBOX)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        seals::enqueue(&w, next, id, state.revision)?;
        meta_put(&w, META_NEXT_OUTBOX, &(next + 1).to_be_bytes())?;
        state.status = ApplicationStatus::Queued;
        state.log(
            self.device.clock.now_ms(),
            "reported",
            format!("@revision={}", state.revision),
        );
        self.device.put_state_and_row(&w, id, &form, &state)?;
        w.commit()?;
        self.applications.get(id)
    }

    /// 退回暂存: takes a sealed application that has not been reported back to draft to
    /// correct it; its seals stay on record and its next seal is the next revision under
    /// the same 申请表号.
    pub fn unseal(&self, id: DocId) -> Result<ApplicationView> {
        let (mut w, mut state) = self.applications.begin_edit(id, Action::Unseal)?;
        let form = form_doc::read_form(w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?);
        state.status = ApplicationStatus::Draft;
        state.log(
            self.device.clock.now_ms(),
            "unsealed",
            format!("@revision={}", state.revision),
        );
        self.device.put_state_and_row(&w, id, &form, &state)?;
        w.commit()?;
        self.applications.get(id)
    }

    /// The latest sealed submission of an application.
    pub fn sealed_submission(&self, id: DocId) -> Result<SealedSubmission> {
        let txn = self.device.store.read()?;
        let state = Device::state(&txn, id)?;
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
        Ok(seals::outbox(&self.device.store.read()?)?
            .into_iter()
            .map(|q| (q.seq, q.app, q.revision))
            .collect())
    }
}

const META_NEXT_OUTBOX: &str = "next_outbox";
