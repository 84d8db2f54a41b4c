//! The reference data this node validates against: the office's newest signed release
//! once one has synced (it arrives in the office's public document), else the node's own
//! (`[reference] dir` or the built-in data).

use std::sync::Arc;

use exlic_client::reference_release::ReferenceRelease;

use super::Result;
use super::device::Device;
use crate::domain::reference::Reference;
use crate::store::{directory_doc, docs};

/// Adopting the office's reference releases.
#[derive(Debug, Clone)]
pub struct ReferenceUpdates {
    pub(super) device: Arc<Device>,
}

impl ReferenceUpdates {
    /// The data in force now.
    pub fn current(&self) -> Arc<Reference> {
        self.device.reference()
    }

    /// Puts the office's synced release in force if it is newer than the one in force and
    /// verifies under the office's keys (`root` and its rollover chain); returns its number
    /// when it was adopted. A release that does not verify or does not load is ignored with
    /// a warning: the data in force stays.
    pub fn adopt_published(&self, root: &[u8; 32]) -> Result<Option<u32>> {
        let Some(signed) = docs::load(&self.device.store.read()?, directory_doc::id(root))?
            .and_then(|d| directory_doc::read_reference(&d))
        else {
            return Ok(None);
        };
        let in_force = self.device.reference().release().map(|(n, _)| n);
        let trust = self.device.authority_trust(root)?;
        let release = match ReferenceRelease::verify_trusted(&signed, &trust) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the office's reference release does not verify; keeping the data in force");
                return Ok(None);
            }
        };
        if in_force.is_some_and(|n| n >= release.number) {
            return Ok(None);
        }
        match Reference::from_release(&release) {
            Ok(r) => {
                tracing::info!(release = release.number, label = %r.label(), "validating against the office's reference release");
                self.device.reference.set(Arc::new(r));
                Ok(Some(release.number))
            }
            Err(e) => {
                tracing::warn!(release = release.number, error = %e, "the office's reference release does not load; keeping the data in force");
                Ok(None)
            }
        }
    }
}
