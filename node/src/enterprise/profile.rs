//! 企业信息维护 on the enterprise node: the §6.1 profile, validated, saved as a proposal
//! that syncs to the issuing office, and the version the office accepted.

use exlic_client::DocId;
use exlic_client::profile::{EnterpriseProfile, ProfileView};

use super::{EnterpriseError, Result};
use crate::store::kind;
use crate::store::{StoreError, WriteBatch, meta_get, meta_put, profile_doc};

const META_PROPOSAL: &str = "profile.proposal";
const META_ACCEPTED: &str = "profile.accepted";

fn doc_id(v: Option<Vec<u8>>) -> Option<DocId> {
    v.and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(DocId)
}

/// 企业信息维护 on this node.
#[derive(Debug, Clone)]
pub struct Profile {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl Profile {
    /// The proposed and the accepted profile.
    pub fn get(&self) -> Result<ProfileView> {
        let (p, a) = {
            let t = self.device.store.read()?;
            (
                doc_id(meta_get(&t, META_PROPOSAL)?),
                doc_id(meta_get(&t, META_ACCEPTED)?),
            )
        };
        let read =
            |id: Option<DocId>, k: &'static str| -> Result<Option<(EnterpriseProfile, i64)>> {
                Ok(match id {
                    Some(id) => self
                        .device
                        .store
                        .with_doc(id, |d| profile_doc::read(d, k))?
                        .flatten(),
                    None => None,
                })
            };
        let proposed = read(p, profile_doc::PROPOSAL)?;
        let accepted = read(a, profile_doc::ACCEPTED)?;
        let status = match (&proposed, &accepted) {
            (None, _) => "none",
            (Some((p, _)), Some((a, _))) if p == a => "accepted",
            _ => "pending",
        };
        Ok(ProfileView {
            proposed_ms: proposed.as_ref().map(|x| x.1).unwrap_or(0),
            proposed: proposed.map(|x| x.0),
            accepted_ms: accepted.as_ref().map(|x| x.1).unwrap_or(0),
            accepted: accepted.map(|x| x.0),
            status: status.into(),
        })
    }

    /// 保存: validates every field (each error names it) and saves the proposal, which
    /// reaches the issuing office on the next sync. The USCC must be this enterprise's.
    pub fn propose(&self, p: &EnterpriseProfile) -> Result<ProfileView> {
        let mut errors: Vec<exlic_client::error::FieldError> = p
            .problems()
            .into_iter()
            .map(|(field, rule, message)| exlic_client::error::FieldError {
                field,
                rule: rule.into(),
                message,
                severity: exlic_client::error::Severity::Error,
            })
            .collect();
        if p.uscc != self.device.identity.enterprise_uscc
            && !errors.iter().any(|e| e.field == "uscc")
        {
            errors.push(exlic_client::error::FieldError {
                field: "uscc".into(),
                rule: "profile.not_own".into(),
                message: format!(
                    "must be this enterprise's ({})",
                    self.device.identity.enterprise_uscc
                ),
                severity: exlic_client::error::Severity::Error,
            });
        }
        if !errors.is_empty() {
            return Err(EnterpriseError::Invalid(errors));
        }
        let now = self.device.clock.now_ms();
        let mut w = self.device.store.write()?;
        let id = match doc_id(meta_get(&w, META_PROPOSAL)?) {
            Some(id) => id,
            None => {
                let id = DocId(crate::random::bytes());
                w.create_doc(id, kind::OTHER)?;
                meta_put(&w, META_PROPOSAL, &id.0)?;
                id
            }
        };
        let d = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        profile_doc::write(d, profile_doc::PROPOSAL, p, now)
            .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        w.commit()?;
        self.device.store.changed().notify_one();
        self.get()
    }

    /// A profile document arriving through sync: the office's acceptance, or a proposal
    /// saved on another device of this enterprise.
    pub(super) fn note_profile_doc(&self, w: &mut WriteBatch<'_>, id: DocId) -> Result<bool> {
        let Some(d) = w.doc(id)? else {
            return Ok(false);
        };
        let key = if profile_doc::read(d, profile_doc::ACCEPTED).is_some() {
            META_ACCEPTED
        } else if profile_doc::read(d, profile_doc::PROPOSAL).is_some() {
            META_PROPOSAL
        } else {
            return Ok(false);
        };
        meta_put(w, key, &id.0)?;
        Ok(true)
    }
}
