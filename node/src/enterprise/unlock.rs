//! A locked e-key (six wrong PINs) is unlocked only by the issuing office: the node asks
//! for it in a document it owns; the office's signed unlock arrives in a document it alone
//! writes; the node checks the signature against the authority key before resetting the
//! counter.

use exlic_client::DocId;

use super::{EnterpriseError, Result};
use crate::ekey;
use crate::store::kind;
use crate::store::{StoreError, WriteBatch, meta_get, meta_put, meta_remove, unlock_doc};

const META_REQUEST: &str = "ekey.unlock.request";
const META_PENDING: &str = "ekey.unlock.pending";

/// The e-key's state as the node shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EkeyState {
    /// Wrong PINs in a row.
    pub failures: u32,
    /// Locked (six wrong PINs).
    pub locked: bool,
    /// An unlock was asked for and has not been applied yet.
    pub unlock_requested: bool,
}

/// The e-key's state and its unlock by the issuing office.
#[derive(Debug, Clone)]
pub struct Ekey {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl Ekey {
    /// The e-key's wrong-PIN count, lock and unlock request.
    pub fn state(&self) -> Result<EkeyState> {
        let (failures, locked) = ekey::status(&self.device.store).map_err(ekey_err)?;
        let requested = meta_get(&self.device.store.read()?, META_REQUEST)?.is_some();
        Ok(EkeyState {
            failures,
            locked,
            unlock_requested: requested && locked,
        })
    }

    /// Asks the issuing office to unlock the locked e-key (sent on the next sync).
    pub fn request_unlock(&self) -> Result<EkeyState> {
        let (_, locked) = ekey::status(&self.device.store).map_err(ekey_err)?;
        if !locked {
            return Err(EnterpriseError::BadInput {
                field: "ekey".into(),
                message: "the e-key is not locked".into(),
            });
        }
        let key = ekey::public_key(&self.device.store)
            .map_err(ekey_err)?
            .ok_or_else(|| EnterpriseError::BadInput {
                field: "ekey".into(),
                message: "this node holds no e-key".into(),
            })?;
        let now = self.device.clock.now_ms();
        let mut w = self.device.store.write()?;
        let id = DocId(crate::random::bytes());
        let d = w.create_doc(id, kind::OTHER)?;
        unlock_doc::write_request(d, &key, now)
            .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        meta_put(&w, META_REQUEST, &id.0)?;
        w.commit()?;
        self.device.store.changed().notify_one();
        self.state()
    }

    /// An unlock document from the office: kept until it is checked and applied.
    pub(super) fn note_unlock_doc(&self, w: &mut WriteBatch<'_>, id: DocId) -> Result<bool> {
        let Some(object) = w.doc(id)?.and_then(|d| unlock_doc::read_unlock(d)) else {
            return Ok(false);
        };
        meta_put(w, META_PENDING, &object)?;
        Ok(true)
    }

    /// Applies an unlock from the office if one arrived: only one signed by `authority_key`
    /// for this very e-key resets the counter.
    pub fn apply_pending_unlock(&self, authority_key: &[u8; 32]) -> Result<bool> {
        let Some(object) = meta_get(&self.device.store.read()?, META_PENDING)? else {
            return Ok(false);
        };
        let trust = self.device.authority_trust(authority_key)?;
        let applied = ekey::apply_unlock(&self.device.store, &object, &trust).is_ok();
        let w = self.device.store.write()?;
        meta_remove(&w, META_PENDING)?;
        if applied {
            meta_remove(&w, META_REQUEST)?;
        }
        w.commit()?;
        if !applied {
            tracing::warn!("an unlock that does not verify was discarded");
        }
        Ok(applied)
    }
}

fn ekey_err(e: ekey::EkeyError) -> EnterpriseError {
    EnterpriseError::BadInput {
        field: "ekey".into(),
        message: e.to_string(),
    }
}
