//! E-key unlocks at the issuing office: a locked enterprise's request arrives as its
//! document; the administrator approves; the office signs an unlock for the e-key it
//! registered at enrolment (never the key the request names) and sends it back in a
//! document only it writes.

use exlic_client::DocId;

use super::AuthorityError;
use super::command::{Op, Outcome};
use super::office::Office;
use crate::store::kind;
use crate::store::{StoreError, WriteBatch, audit, feed, registry, unlock_doc};

/// E-key unlocks.
#[derive(Debug, Clone)]
pub struct Unlocks {
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl Unlocks {
    /// Called for every document an enterprise changed: records an unlock request.
    pub(super) fn note(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        doc: DocId,
    ) -> Result<(), StoreError> {
        let Some((key, _)) = w.doc(doc)?.and_then(|d| unlock_doc::read_request(d)) else {
            return Ok(());
        };
        unlock_doc::set_pending(w, owner, doc, key)?;
        audit::append(
            w,
            self.office.clock.now_ms(),
            owner,
            doc,
            "unlock_request",
            "",
        )?;
        Ok(())
    }

    /// Enterprises waiting for an unlock: (USCC, 企业名称).
    pub fn pending(&self) -> Result<Vec<(String, String)>, AuthorityError> {
        let txn = self.office.store.read()?;
        let mut out = Vec::new();
        for (uscc, _, _) in unlock_doc::pending(&txn)? {
            let name = registry::enterprise(&txn, &uscc)?
                .map(|e| e.name)
                .unwrap_or_default();
            out.push((uscc, name));
        }
        Ok(out)
    }

    /// Approves the enterprise's unlock request.
    pub fn approve(&self, uscc: &str, actor: &str) -> Result<(), AuthorityError> {
        // The id of the document that carries the unlock back is drawn here, once, and
        // carried in the command.
        let done = self.office.run(Op::Unlock {
            uscc: uscc.to_owned(),
            actor: actor.to_owned(),
            doc: crate::random::bytes(),
        })?;
        match done {
            Outcome::Unlocked => Ok(()),
            other => Err(Outcome::unexpected(other)),
        }
    }
}

/// Approves `uscc`'s unlock request, stamped `now`, writing the unlock into new document
/// `id` (see [`Unlocks::approve`]).
pub(super) fn apply_approve(
    office: &Office,
    w: &mut WriteBatch<'_>,
    now: i64,
    (uscc, actor, id): (&str, &str, DocId),
) -> Result<Outcome, AuthorityError> {
    let (now, key) = office.signer_at(now);
    if !unlock_doc::take_pending(w, uscc)? {
        return Err(AuthorityError::not_found(
            "uscc",
            format!("no unlock request from {uscc}"),
        ));
    }
    // The e-key registered at enrolment, whatever the request says.
    let master = registry::enterprise(w, uscc)?
        .map(|e| e.master_key)
        .ok_or_else(|| AuthorityError::not_found("uscc", format!("no enterprise {uscc}")))?;
    let object = crate::ekey::unlock_object(&master, now, &key);
    let d = w.create_doc(id, kind::OTHER)?;
    unlock_doc::write_unlock(d, &object, now)
        .map_err(|e| StoreError::Document(id, e.to_string()))?;
    d.commit();
    w.save_doc(id)?;
    feed::add_authority_doc(w, id, uscc)?;
    feed::push(w, uscc, id, feed::AUTHORITY_WRITER)?;
    audit::append(w, now, actor, DocId([0; 16]), "unlock.grant", uscc)?;
    Ok(Outcome::Unlocked)
}
