//! Read-outs for the review screens: one case with every sealed revision's content, the
//! seal check at receipt time, its attachments and what changed between revisions; the
//! dashboard's counts and per-day figures; the list of issued licences.

use std::collections::BTreeMap;

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::attachment::AttachmentRef;
use exlic_client::seal::{SealPayload, SealedSubmission};
use exlic_client::status::ApplicationStatus;

use super::AuthorityError;
use crate::store::cases::{self, CaseRow};
use crate::store::{audit, certs, docs, form_doc, seals};

/// The seal of the revision under review, checked again against the stored certificate
/// and revocation list at the authority's receipt time.
#[derive(Debug, Clone)]
pub struct SealCheck {
    /// Whether it verifies.
    pub ok: bool,
    /// Why not, or what verified.
    pub detail: String,
    /// The sealing device's key, hex.
    pub device: String,
    /// The device certificate's serial and holder mobile.
    pub certificate: String,
    /// What verified: the sealed revision and how many attachments were hashed.
    pub verified: Option<(u32, usize)>,
}

/// Everything a reviewer sees of one case.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// The application.
    pub id: DocId,
    /// Owning enterprise (USCC).
    pub owner: String,
    /// 申请表号.
    pub application_no: String,
    /// Status at the authority.
    pub status: ApplicationStatus,
    /// Revision under review.
    pub revision: u32,
    /// Receipt time of that revision, Unix ms.
    pub received_ms: i64,
    /// The sealed form of each revision received, oldest first.
    pub revisions: Vec<(u32, ApplicationForm)>,
    /// The seal check of the current revision.
    pub seal: SealCheck,
    /// Attachments of the current revision.
    pub attachments: Vec<AttachmentRef>,
    /// 许可证号, once issued.
    pub licence_no: Option<String>,
    /// The office's rules over the revision under review, on the reference data in force
    /// and the date of receipt: the warnings for the 经办人 (and any error, should the
    /// data have changed since receipt).
    pub findings: Vec<exlic_client::error::FieldError>,
}

impl CaseFile {
    /// The current revision's form.
    pub fn form(&self) -> ApplicationForm {
        self.revisions
            .last()
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    }
}

/// Field-by-field differences between two forms: (field, before, after).
pub fn diff(before: &ApplicationForm, after: &ApplicationForm) -> Vec<(String, String, String)> {
    let a = crate::domain::field_paths::flatten(before);
    let b = crate::domain::field_paths::flatten(after);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (
                a.get(k).cloned().unwrap_or_default(),
                b.get(k).cloned().unwrap_or_default(),
            );
            (x != y).then(|| (k.clone(), x, y))
        })
        .collect()
}

/// Case files for review and the dashboard figures.
#[derive(Debug, Clone)]
pub struct CaseFiles {
    pub(super) office: std::sync::Arc<super::office::Office>,
    pub(super) certificates: super::certificates::Certificates,
}

impl CaseFiles {
    /// One case for the review screen; `None` when there is no such case.
    pub fn case_file(&self, id: DocId) -> Result<Option<CaseFile>, AuthorityError> {
        let txn = self.office.store.read()?;
        let Some(CaseRow {
            owner,
            application_no: no,
            revision,
            status,
            received_ms: received,
            ..
        }) = cases::get(&txn, id)?
        else {
            return Ok(None);
        };
        let mut revisions = Vec::new();
        let mut current: Option<SealedSubmission> = None;
        for (rev, env) in seals::all_of(&txn, id)? {
            let Ok(sub) = SealedSubmission::decode(&env) else {
                continue;
            };
            let form: ApplicationForm = serde_json::from_slice(&sub.content).unwrap_or_default();
            revisions.push((rev, form));
            if rev == revision {
                current = Some(sub);
            }
        }
        let seal = match &current {
            Some(sub) => self.check_seal(&txn, sub, received)?,
            None => SealCheck {
                ok: false,
                detail: "no sealed submission stored for this revision".into(),
                device: String::new(),
                certificate: String::new(),
                verified: None,
            },
        };
        let attachments = docs::load(&txn, id)?
            .map(|d| form_doc::attachments(&d))
            .unwrap_or_default();
        // The attachments the seal covers, as at receipt.
        let sealed_attachments = current
            .as_ref()
            .and_then(|sub| SealPayload::decode(&sub.payload).ok())
            .map(|p| p.attachments.len())
            .unwrap_or_default();
        let findings = revisions
            .iter()
            .find(|(r, _)| *r == revision)
            .map(|(_, form)| {
                self.office
                    .findings(&owner, form, sealed_attachments, received)
            })
            .unwrap_or_default();
        let licence_no = docs::load(&txn, crate::store::case_doc::case_id(id))?
            .and_then(|d| crate::store::case_doc::read(&d))
            .map(|c| c.licence_no)
            .filter(|n| !n.is_empty());
        Ok(Some(CaseFile {
            id,
            owner,
            application_no: no,
            status,
            revision,
            received_ms: received,
            revisions,
            seal,
            attachments,
            licence_no,
            findings,
        }))
    }

    fn check_seal(
        &self,
        txn: &redb::ReadTransaction,
        sub: &SealedSubmission,
        received_ms: i64,
    ) -> Result<SealCheck, AuthorityError> {
        let payload = SealPayload::decode(&sub.payload).ok();
        let device = payload.as_ref().map(|p| p.device_key).unwrap_or_default();
        // The certificate the seal names (version 2), else the device's newest.
        let serial = match payload.as_ref().and_then(|p| p.certificate_serial) {
            Some(s) => Some(s),
            None => certs::newest_for(txn, &device)?,
        };
        let cert = match serial {
            Some(s) => certs::signed(txn, s)?,
            None => None,
        };
        let Some(cert) = cert else {
            return Ok(SealCheck {
                ok: false,
                detail: "the sealing device has no certificate".into(),
                device: hex::encode(device),
                certificate: String::new(),
                verified: None,
            });
        };
        let crl = self.certificates.revocations()?;
        let trust = self.office.trust();
        let holder = trust
            .certificate(&cert, received_ms)
            .map(|c| format!("#{} · {} · {}", c.serial, c.mobile, c.enterprise_uscc))
            .unwrap_or_else(|e| format!("#{} ({e})", serial.unwrap_or_default()));
        let mut t = trust;
        Ok(match t.verify_seal(sub, &cert, &crl, received_ms) {
            Ok(p) => SealCheck {
                ok: true,
                detail: format!(
                    "certificate valid and unrevoked at receipt; revision {}, {} attachment(s) hashed",
                    p.revision,
                    p.attachments.len()
                ),
                device: hex::encode(device),
                certificate: holder,
                verified: Some((p.revision, p.attachments.len())),
            },
            Err(e) => SealCheck {
                ok: false,
                detail: e.to_string(),
                device: hex::encode(device),
                certificate: holder,
                verified: None,
            },
        })
    }

    /// An attachment of a case by hash, with its name.
    pub fn case_attachment(
        &self,
        id: DocId,
        sha256: &str,
    ) -> Result<Option<(AttachmentRef, Vec<u8>)>, AuthorityError> {
        let txn = self.office.store.read()?;
        if cases::get(&txn, id)?.is_none() {
            return Ok(None);
        }
        let Some(a) = docs::load(&txn, id)?
            .map(|d| form_doc::attachments(&d))
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.sha256 == sha256)
        else {
            return Ok(None);
        };
        let mut h = [0u8; 32];
        if hex::decode_to_slice(sha256, &mut h).is_err() {
            return Ok(None);
        }
        Ok(crate::store::blobs::get(&txn, &h)?.map(|b| (a, b)))
    }

    /// Case counts by status.
    pub fn case_counts(&self) -> Result<BTreeMap<ApplicationStatus, u64>, AuthorityError> {
        Ok(cases::counts(&self.office.store.read()?)?)
    }

    /// Per China-time day (`YYYY-MM-DD`) from `since_ms` on: (submissions received,
    /// licences issued), from the audit trail's recent end.
    pub fn daily_figures(
        &self,
        since_ms: i64,
    ) -> Result<BTreeMap<String, (u64, u64)>, AuthorityError> {
        let txn = self.office.store.read()?;
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (at, action) in audit::actions_since(&txn, since_ms)? {
            let code = audit::code_of(&action);
            let received = code == "report";
            let issued = code == "review.second.approve";
            if !received && !issued {
                continue;
            }
            let day = crate::clock::china_date(at).to_string();
            let d = out.entry(day).or_default();
            if received {
                d.0 += 1;
            } else {
                d.1 += 1;
            }
        }
        Ok(out)
    }
}
