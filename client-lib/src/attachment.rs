//! Attachments (上传附件): content-addressed files referenced from an application.

use serde::{Deserialize, Serialize};

/// One attachment of an application: the file's SHA-256 names its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// The file name as uploaded.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type as declared by the uploader (served only as a download).
    pub media_type: String,
}
