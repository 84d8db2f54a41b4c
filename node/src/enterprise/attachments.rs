//! 上传附件 on this node: the bytes stored once by hash and queued for upload, the listing
//! on the application, removal, and reading them back hash-checked.

use std::sync::Arc;

use exlic_client::DocId;
use exlic_client::attachment::AttachmentRef;

use super::applications::Applications;
use super::device::Device;
use super::{EnterpriseError, Result};
use crate::domain::lifecycle::Action;
use crate::store::{blobs, form_doc};

/// The attachments of applications.
#[derive(Debug, Clone)]
pub struct Attachments {
    pub(super) device: Arc<Device>,
    pub(super) applications: Applications,
}

impl Attachments {
    /// 上传附件: stores the bytes and lists them on the application.
    pub fn add(
        &self,
        id: DocId,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<AttachmentRef> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > 200
            || name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(EnterpriseError::BadInput {
                field: "name".into(),
                message: "a file name of 1–200 characters without slashes or control characters is required".into(),
            });
        }
        if bytes.is_empty() {
            return Err(EnterpriseError::BadInput {
                field: "body".into(),
                message: "the attachment is empty".into(),
            });
        }
        if bytes.len() as u64 > self.device.settings.attachment_max_bytes {
            return Err(EnterpriseError::TooLarge {
                size: bytes.len() as u64,
                limit: self.device.settings.attachment_max_bytes,
            });
        }
        let media_type = if media_type.is_empty() || media_type.len() > 100 {
            "application/octet-stream"
        } else {
            media_type
        };
        let (mut w, state) = self.applications.begin_edit(id, Action::Edit)?;
        let hash = blobs::put(&w, bytes)?;
        blobs::enqueue(&w, blobs::Queue::Up, hash, bytes.len() as u64)?;
        let a = AttachmentRef {
            sha256: hex::encode(hash),
            name: name.to_owned(),
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
        };
        let limit = self.device.settings.attachments_per_application;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if form_doc::attachments(doc).len() >= limit {
            return Err(EnterpriseError::BadInput {
                field: "attachments".into(),
                message: format!("at most {limit} attachments per application"),
            });
        }
        form_doc::add_attachment(doc, &a)?;
        self.applications
            .finish_edit(w, id, state, "attachment added")?;
        Ok(a)
    }

    /// Removes an attachment from the list (its bytes stay for earlier seals).
    pub fn remove(&self, id: DocId, sha256: &str) -> Result<()> {
        let (mut w, state) = self.applications.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if !form_doc::remove_attachment(doc, sha256)? {
            return Err(EnterpriseError::AttachmentNotFound(sha256.into()));
        }
        self.applications
            .finish_edit(w, id, state, "attachment removed")?;
        Ok(())
    }

    /// An attachment's bytes (hash-checked), with its listing.
    pub fn get(&self, id: DocId, sha256: &str) -> Result<(AttachmentRef, Vec<u8>)> {
        let view = self.applications.get(id)?;
        let a = view
            .attachments
            .into_iter()
            .find(|a| a.sha256 == sha256)
            .ok_or_else(|| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(sha256, &mut hash)
            .map_err(|_| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        let bytes = blobs::get(&self.device.store.read()?, &hash)?
            .ok_or_else(|| EnterpriseError::AttachmentNotFound(sha256.into()))?;
        Ok((a, bytes))
    }
}
