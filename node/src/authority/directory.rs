//! 发证机构联系方式 and 办事指南: one authority-written public document every enterprise
//! reads (and none may write), fed to every enrolled enterprise on each edit. The key
//! rollover chain is published in the same document.

use std::sync::Arc;

use exlic_client::DocId;

use super::AuthorityError;
use super::command::{Op, Outcome};
use super::office::Office;
use crate::store::{StoreError, WriteBatch, audit, docs, feed, registry};

/// The directory and guides.
#[derive(Debug, Clone)]
pub struct Directory {
    pub(super) office: Arc<Office>,
}

impl Directory {
    /// 发证机构联系方式 and 办事指南 as last edited (empty before the first edit).
    pub fn get(&self) -> Result<exlic_client::directory::Directory, AuthorityError> {
        let txn = self.office.store.read()?;
        Ok(docs::load(
            &txn,
            crate::store::directory_doc::id(&self.office.root_key()),
        )?
        .and_then(|d| crate::store::directory_doc::read(&d))
        .unwrap_or_default())
    }

    /// Replaces the directory and guides and queues them for every enterprise.
    pub fn put(
        &self,
        d: exlic_client::directory::Directory,
        actor: &str,
    ) -> Result<(), AuthorityError> {
        d.validate()
            .map_err(|(field, message)| AuthorityError::bad_input(field, message))?;
        match self.office.run(Op::PutDirectory {
            directory: Box::new(d),
            actor: actor.to_owned(),
        })? {
            Outcome::DirectoryPut => Ok(()),
            other => Err(Outcome::unexpected(other)),
        }
    }
}

/// Applies a new directory `d`, dated `at_ms`.
pub(super) fn apply_put(
    office: &Office,
    w: &mut WriteBatch<'_>,
    at_ms: i64,
    d: &exlic_client::directory::Directory,
    actor: &str,
) -> Result<Outcome, AuthorityError> {
    use crate::store::directory_doc;
    let mut d = d.clone();
    d.updated_ms = at_ms;
    edit_public_doc(w, &office.root_key(), |doc| directory_doc::write(doc, &d))?;
    audit::append(
        w,
        at_ms,
        actor,
        DocId([0; 16]),
        "directory.publish",
        &format!("@contacts={};guides={}", d.contacts.len(), d.guides.len()),
    )?;
    Ok(Outcome::DirectoryPut)
}

/// Edits the public document (created on first use) and queues it for every
/// enterprise.
pub(super) fn edit_public_doc(
    w: &mut WriteBatch<'_>,
    root: &[u8; 32],
    edit: impl FnOnce(&mut automerge::AutoCommit) -> Result<(), automerge::AutomergeError>,
) -> Result<(), StoreError> {
    use crate::store::directory_doc;
    let id = directory_doc::id(root);
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

/// Moves a public document kept under [`directory_doc::legacy_id`] (one id for every
/// office, before ids were per office) to this office's own id, with its history, and
/// queues it for every enterprise. Nothing to do on a store that has the new one.
pub(super) fn move_legacy(office: &super::office::Office) -> Result<(), StoreError> {
    use crate::store::directory_doc;
    let old = directory_doc::legacy_id();
    let new = directory_doc::id(&office.root_key());
    let txn = office.store.read()?;
    if docs::kind(&txn, new)?.is_some() {
        return Ok(());
    }
    let Some(mut legacy) = docs::load(&txn, old)? else {
        return Ok(());
    };
    drop(txn);
    let mut w = office.store.write()?;
    edit_public_doc(&mut w, &office.root_key(), |doc| {
        doc.merge(&mut legacy).map(|_| ())
    })?;
    w.commit()?;
    tracing::info!("the office's public document moved to its per-office id");
    Ok(())
}
