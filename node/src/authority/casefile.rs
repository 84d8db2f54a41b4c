//! Read-outs for the review screens: one case with every sealed revision's content, the
//! seal check at receipt time, its attachments and what changed between revisions; the
//! dashboard's counts and per-day figures; the list of issued licences.

use std::collections::BTreeMap;

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::attachment::AttachmentRef;
use exlic_client::seal::{SealPayload, SealedSubmission};
use exlic_client::status::ApplicationStatus;

use super::{Authority, AuthorityError};
use crate::store::cases::{self, CaseRow};
use crate::store::{
    StoreError, WriteBatch, audit, certs, docs, feed, form_doc, licences, registry, seals,
};

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

/// An issued certificate: (serial, USCC, mobile, not before, not after, revoked at or
/// `i64::MAX`), Unix ms.
pub type IssuedCertificate = (u64, String, String, i64, i64, i64);

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

impl Authority {
    /// One case for the review screen; `None` when there is no such case.
    pub fn case_file(&self, id: DocId) -> Result<Option<CaseFile>, AuthorityError> {
        let txn = self.store.read()?;
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
            },
        };
        let attachments = docs::load(&txn, id)?
            .map(|d| form_doc::attachments(&d))
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
        let serial = certs::newest_for(txn, &device)?;
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
            });
        };
        let crl = self.revocations()?;
        let trust = self.trust();
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
            },
            Err(e) => SealCheck {
                ok: false,
                detail: e.to_string(),
                device: hex::encode(device),
                certificate: holder,
            },
        })
    }

    /// An attachment of a case by hash, with its name.
    pub fn case_attachment(
        &self,
        id: DocId,
        sha256: &str,
    ) -> Result<Option<(AttachmentRef, Vec<u8>)>, AuthorityError> {
        let txn = self.store.read()?;
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
        let txn = self.store.read()?;
        let mut out = BTreeMap::new();
        for (_, c) in cases::all(&txn)? {
            *out.entry(c.status).or_insert(0) += 1;
        }
        Ok(out)
    }

    /// Per China-time day (`YYYY-MM-DD`): (submissions received, licences issued), from
    /// the audit trail.
    pub fn daily_figures(&self) -> Result<BTreeMap<String, (u64, u64)>, AuthorityError> {
        let txn = self.store.read()?;
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (at, action) in audit::actions(&txn)? {
            let received = action == "上报";
            let issued = action.contains("复审通过");
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

    /// Every issued licence, newest first.
    pub fn licence_files(&self) -> Result<Vec<(String, Vec<u8>)>, AuthorityError> {
        let txn = self.store.read()?;
        let mut out = Vec::new();
        out.extend(licences::all(&txn)?);
        out.reverse();
        Ok(out)
    }

    /// Enrolled enterprises: (USCC, name).
    pub fn enterprises(&self) -> Result<Vec<(String, String)>, AuthorityError> {
        let txn = self.store.read()?;
        let mut out = Vec::new();
        for (uscc, e) in registry::enterprises(&txn)? {
            out.push((uscc, e.name));
        }
        Ok(out)
    }

    /// Issued device certificates, newest first: (serial, USCC, mobile, not before, not
    /// after, revoked at or `i64::MAX`).
    pub fn certificates(&self) -> Result<Vec<IssuedCertificate>, AuthorityError> {
        let txn = self.store.read()?;
        let mut out = Vec::new();
        for c in certs::all(&txn)?.into_iter().rev().take(500) {
            out.push((
                c.serial,
                c.uscc,
                c.mobile,
                c.not_before_ms,
                c.not_after_ms,
                c.revoked_ms.unwrap_or(i64::MAX),
            ));
        }
        Ok(out)
    }
}

impl Authority {
    /// 发证机构联系方式 and 办事指南 as last edited (empty before the first edit).
    pub fn directory(&self) -> Result<exlic_client::directory::Directory, AuthorityError> {
        let txn = self.store.read()?;
        Ok(docs::load(&txn, crate::store::directory_doc::id())?
            .and_then(|d| crate::store::directory_doc::read(&d))
            .unwrap_or_default())
    }

    /// Edits the public document (created on first use) and queues it for every
    /// enterprise.
    pub(super) fn edit_public_doc(
        w: &mut WriteBatch<'_>,
        edit: impl FnOnce(&mut automerge::AutoCommit) -> Result<(), automerge::AutomergeError>,
    ) -> Result<(), StoreError> {
        use crate::store::directory_doc;
        let id = directory_doc::id();
        if w.doc(id)?.is_none() {
            w.create_doc(id, crate::store::kind::OTHER)?;
            feed::add_authority_doc(w, id, directory_doc::PUBLIC)?;
        }
        let doc = w.doc(id)?.expect("created");
        edit(doc).map_err(|e| StoreError::Document(id, e.to_string()))?;
        doc.commit();
        w.save_doc(id)?;
        for (o, _) in &registry::enterprises(w)? {
            feed::push(w, o, id, feed::AUTHORITY_WRITER)?;
        }
        Ok(())
    }

    /// Replaces the directory and guides and queues them for every enterprise.
    pub fn put_directory(
        &self,
        mut d: exlic_client::directory::Directory,
        actor: &str,
    ) -> Result<(), AuthorityError> {
        use crate::store::directory_doc;
        d.validate()
            .map_err(|(field, message)| AuthorityError::bad_input(field, message))?;
        let now = self.clock.now_ms();
        d.updated_ms = now;
        let mut w = self.store.write()?;
        Self::edit_public_doc(&mut w, |doc| directory_doc::write(doc, &d))?;
        audit::append(
            &w,
            now,
            actor,
            DocId([0; 16]),
            "办事指南/联系方式",
            &format!("{} contacts, {} guides", d.contacts.len(), d.guides.len()),
        )?;
        w.commit()?;
        Ok(())
    }
}
