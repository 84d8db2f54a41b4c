//! E-key unlocks at the issuing office: a locked enterprise's request arrives as its
//! document; the administrator approves; the office signs an unlock for the e-key it
//! registered at enrolment (never the key the request names) and sends it back in a
//! document only it writes.

use exlic_client::DocId;
use redb::ReadableTable;

use super::{Authority, AuthorityError};
use crate::store::tables::{AUTHORITY_DOCS, DOC_OWNER, ENTERPRISES, UNLOCK_REQS, kind};
use crate::store::{StoreError, WriteBatch, unlock_doc};

impl Authority {
    /// Called for every document an enterprise changed: records an unlock request.
    pub(super) fn note_unlock_request(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        doc: DocId,
    ) -> Result<(), StoreError> {
        let Some((key, _)) = w.doc(doc)?.and_then(|d| unlock_doc::read_request(d)) else {
            return Ok(());
        };
        w.txn()
            .open_table(UNLOCK_REQS)?
            .insert(owner, (doc.0, key))?;
        Self::audit(w, self.clock.now_ms(), owner, doc, "电子钥匙解锁申请", "")?;
        Ok(())
    }

    /// Enterprises waiting for an unlock: (USCC, 企业名称).
    pub fn unlock_requests(&self) -> Result<Vec<(String, String)>, AuthorityError> {
        let txn = self.store.read()?;
        let ents = txn.open_table(ENTERPRISES)?;
        let mut out = Vec::new();
        for e in txn.open_table(UNLOCK_REQS)?.iter()? {
            let (k, _) = e?;
            let name = ents
                .get(k.value())?
                .map(|v| v.value().0.to_owned())
                .unwrap_or_default();
            out.push((k.value().to_owned(), name));
        }
        Ok(out)
    }

    /// Approves the enterprise's unlock request.
    pub fn approve_unlock(&self, uscc: &str, actor: &str) -> Result<(), AuthorityError> {
        let (now, key) = self.signer();
        let mut w = self.store.write()?;
        if w.txn().open_table(UNLOCK_REQS)?.get(uscc)?.is_none() {
            return Err(AuthorityError::Invalid(format!(
                "uscc: no unlock request from {uscc}"
            )));
        }
        // The e-key registered at enrolment, whatever the request says.
        let master = w
            .txn()
            .open_table(ENTERPRISES)?
            .get(uscc)?
            .map(|v| v.value().1)
            .ok_or_else(|| AuthorityError::Invalid(format!("uscc: no enterprise {uscc}")))?;
        let object = crate::ekey::unlock_object(&master, now, &key);
        let id = DocId(crate::random::bytes());
        let d = w.create_doc(id, kind::OTHER)?;
        unlock_doc::write_unlock(d, &object, now)
            .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        w.txn().open_table(DOC_OWNER)?.insert(id.0, uscc)?;
        w.txn().open_table(AUTHORITY_DOCS)?.insert(id.0, ())?;
        Self::feed(&w, uscc, id, [0; 32])?;
        w.txn().open_table(UNLOCK_REQS)?.remove(uscc)?;
        Self::audit(&w, now, actor, DocId([0; 16]), "电子钥匙解锁", uscc)?;
        w.commit()?;
        Ok(())
    }
}
