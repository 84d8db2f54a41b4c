//! 企业信息维护 at the issuing office: the profile each enterprise proposes arrives as its
//! document; staff compare it with the accepted version and accept it; the acceptance is
//! a document only the authority writes, fed to that enterprise.

use exlic_client::DocId;
use exlic_client::profile::EnterpriseProfile;
use redb::ReadableTable;

use super::{Authority, AuthorityError};
use crate::store::tables::{
    AUTHORITY_DOCS, DOC_OWNER, ENTERPRISES, PROFILE_ACK, PROFILE_PROPOSALS, kind,
};
use crate::store::{StoreError, WriteBatch, docs, profile_doc};

/// One enterprise's profile state at the office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileState {
    /// USCC.
    pub uscc: String,
    /// 企业名称 at enrolment.
    pub name: String,
    /// The latest proposal and its time.
    pub proposed: Option<(EnterpriseProfile, i64)>,
    /// The accepted version and its time.
    pub accepted: Option<(EnterpriseProfile, i64)>,
}

impl ProfileState {
    /// Whether a proposal waits for acceptance (待审核).
    pub fn pending(&self) -> bool {
        match (&self.proposed, &self.accepted) {
            (Some((p, _)), Some((a, _))) => p != a,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

impl Authority {
    /// Called for every document an enterprise changed: remembers its latest proposal.
    pub(super) fn note_profile(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        doc: DocId,
    ) -> Result<(), StoreError> {
        let Some((_, at)) = w
            .doc(doc)?
            .and_then(|d| profile_doc::read(d, profile_doc::PROPOSAL))
        else {
            return Ok(());
        };
        let current = w
            .txn()
            .open_table(PROFILE_PROPOSALS)?
            .get(owner)?
            .map(|v| DocId(v.value()));
        let newer = match current {
            Some(c) if c != doc => w
                .doc(c)?
                .and_then(|d| profile_doc::read(d, profile_doc::PROPOSAL))
                .is_none_or(|(_, old)| at >= old),
            _ => true,
        };
        if newer {
            w.txn()
                .open_table(PROFILE_PROPOSALS)?
                .insert(owner, doc.0)?;
        }
        Ok(())
    }

    /// Every enrolled enterprise's profile state.
    pub fn profiles(&self) -> Result<Vec<ProfileState>, AuthorityError> {
        let txn = self.store.read()?;
        let mut out = Vec::new();
        let proposals = txn.open_table(PROFILE_PROPOSALS)?;
        let acks = txn.open_table(PROFILE_ACK)?;
        for e in txn.open_table(ENTERPRISES)?.iter()? {
            let (k, v) = e?;
            let uscc = k.value().to_owned();
            let load = |id: Option<[u8; 16]>, kind: &str| -> Result<_, StoreError> {
                Ok(match id {
                    Some(id) => {
                        docs::load(&txn, DocId(id))?.and_then(|d| profile_doc::read(&d, kind))
                    }
                    None => None,
                })
            };
            let proposed = load(
                proposals.get(uscc.as_str())?.map(|v| v.value()),
                profile_doc::PROPOSAL,
            )?;
            let accepted = load(
                acks.get(uscc.as_str())?.map(|v| v.value()),
                profile_doc::ACCEPTED,
            )?;
            out.push(ProfileState {
                uscc,
                name: v.value().0.to_owned(),
                proposed,
                accepted,
            });
        }
        Ok(out)
    }

    /// Accepts the enterprise's latest proposal; it reaches the enterprise on its next sync.
    pub fn accept_profile(&self, uscc: &str, actor: &str) -> Result<(), AuthorityError> {
        let state = self
            .profiles()?
            .into_iter()
            .find(|p| p.uscc == uscc)
            .ok_or_else(|| AuthorityError::Invalid(format!("uscc: no enterprise {uscc}")))?;
        let Some((p, _)) = state.proposed.clone().filter(|_| state.pending()) else {
            return Err(AuthorityError::Invalid(
                "uscc: no proposal waits for acceptance".into(),
            ));
        };
        if let Some((field, message)) = p.validate().into_iter().next() {
            return Err(AuthorityError::Invalid(format!("{field}: {message}")));
        }
        let now = self.clock.now_ms();
        let mut w = self.store.write()?;
        let existing = w
            .txn()
            .open_table(PROFILE_ACK)?
            .get(uscc)?
            .map(|v| DocId(v.value()));
        let id = match existing {
            Some(id) => id,
            None => {
                // Unguessable, so no enterprise can create it first.
                let id = DocId(crate::random::bytes());
                w.create_doc(id, kind::OTHER)?;
                w.txn().open_table(DOC_OWNER)?.insert(id.0, uscc)?;
                w.txn().open_table(AUTHORITY_DOCS)?.insert(id.0, ())?;
                w.txn().open_table(PROFILE_ACK)?.insert(uscc, id.0)?;
                id
            }
        };
        let d = w.doc(id)?.ok_or(StoreError::Record("profile_ack"))?;
        profile_doc::write(d, profile_doc::ACCEPTED, &p, now)
            .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        Self::feed(&w, uscc, id, [0; 32])?;
        Self::audit(
            &w,
            now,
            actor,
            DocId([0; 16]),
            "企业信息维护 accepted",
            uscc,
        )?;
        w.commit()?;
        Ok(())
    }
}
