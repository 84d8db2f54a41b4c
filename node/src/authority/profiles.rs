//! 企业信息维护 at the issuing office: the profile each enterprise proposes arrives as its
//! document; staff compare it with the accepted version and accept it; the acceptance is
//! a document only the authority writes, fed to that enterprise.

use exlic_client::DocId;
use exlic_client::profile::EnterpriseProfile;

use super::AuthorityError;
use super::command::{Op, Outcome};
use crate::store::kind;
use crate::store::{StoreError, WriteBatch, audit, docs, feed, profile_doc, registry};

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

/// 企业信息维护 at the office.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl Profiles {
    /// Called for every document an enterprise changed: remembers its latest proposal.
    pub(super) fn note(
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
        let current = profile_doc::proposal_of(w, owner)?;
        let newer = match current {
            Some(c) if c != doc => w
                .doc(c)?
                .and_then(|d| profile_doc::read(d, profile_doc::PROPOSAL))
                .is_none_or(|(_, old)| at >= old),
            _ => true,
        };
        if newer {
            profile_doc::set_proposal(w, owner, doc)?;
        }
        Ok(())
    }

    /// Every enrolled enterprise's profile state.
    pub fn list(&self) -> Result<Vec<ProfileState>, AuthorityError> {
        let txn = self.office.store.read()?;
        let mut out = Vec::new();
        for (uscc, e) in registry::enterprises(&txn)? {
            let load = |id: Option<DocId>, kind: &str| -> Result<_, StoreError> {
                Ok(match id {
                    Some(id) => docs::load(&txn, id)?.and_then(|d| profile_doc::read(&d, kind)),
                    None => None,
                })
            };
            let proposed = load(
                profile_doc::proposal_of(&txn, &uscc)?,
                profile_doc::PROPOSAL,
            )?;
            let accepted = load(
                profile_doc::acceptance_of(&txn, &uscc)?,
                profile_doc::ACCEPTED,
            )?;
            out.push(ProfileState {
                uscc,
                name: e.name,
                proposed,
                accepted,
            });
        }
        Ok(out)
    }

    /// Accepts the enterprise's latest proposal; it reaches the enterprise on its next sync.
    /// The proposal is read here (the enterprise's document, as this replica holds it) and
    /// carried in the command, with the id of the acceptance document should it be new.
    pub fn accept(&self, uscc: &str, actor: &str) -> Result<(), AuthorityError> {
        let state = self
            .list()?
            .into_iter()
            .find(|p| p.uscc == uscc)
            .ok_or_else(|| AuthorityError::not_found("uscc", format!("no enterprise {uscc}")))?;
        let Some((p, _)) = state.proposed.clone().filter(|_| state.pending()) else {
            return Err(AuthorityError::wrong_state(
                "uscc",
                "no proposal waits for acceptance",
            ));
        };
        if let Some((field, message)) = p.validate().into_iter().next() {
            return Err(AuthorityError::bad_input(field, message));
        }
        match self.office.run(Op::AcceptProfile {
            uscc: uscc.to_owned(),
            actor: actor.to_owned(),
            profile: Box::new(p),
            // Unguessable, so no enterprise can create it first.
            doc: crate::random::bytes(),
        })? {
            Outcome::ProfileAccepted => Ok(()),
            other => Err(Outcome::unexpected(other)),
        }
    }
}

/// Applies an acceptance of `p` for enterprise `uscc` at `at_ms`: the acceptance document
/// (made as `new_doc` the first time) carries it back, the registry takes its 企业名称.
pub(super) fn apply_accept(
    w: &mut WriteBatch<'_>,
    at_ms: i64,
    (uscc, actor): (&str, &str),
    p: &EnterpriseProfile,
    new_doc: DocId,
) -> Result<Outcome, AuthorityError> {
    let id = match profile_doc::acceptance_of(w, uscc)? {
        Some(id) => id,
        None => {
            w.create_doc(new_doc, kind::OTHER)?;
            feed::add_authority_doc(w, new_doc, uscc)?;
            profile_doc::set_acceptance(w, uscc, new_doc)?;
            new_doc
        }
    };
    let d = w.doc(id)?.ok_or(StoreError::Record("profile_ack"))?;
    profile_doc::write(d, profile_doc::ACCEPTED, p, at_ms)
        .map_err(|e| StoreError::Document(id, e.to_string()))?;
    d.commit();
    w.save_doc(id)?;
    feed::push(w, uscc, id, feed::AUTHORITY_WRITER)?;
    // The office's registry follows the accepted 企业名称.
    registry::rename_enterprise(w, uscc, &p.enterprise_name)?;
    audit::append(w, at_ms, actor, DocId([0; 16]), "profile.accept", uscc)?;
    Ok(Outcome::ProfileAccepted)
}
