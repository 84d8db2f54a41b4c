//! What a node says about itself.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeInfo {
    /// `enterprise` or `authority`.
    pub role: String,
    /// The enterprise's name (企业名称).
    pub enterprise_name: String,
    /// The enterprise's USCC.
    pub enterprise_uscc: String,
    /// The issuing agency (发证机构) code the node reports to.
    pub agency_code: String,
    /// This device's public seal key, hex.
    pub device_public_key: String,
    /// Application numbers left in the locally held block.
    pub numbers_left: u64,
    /// exlic version.
    pub version: String,
    /// Reference data version loaded.
    pub reference_version: String,
}

/// `GET /api/v1/sync` on an enterprise node: the link to its authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncStatus {
    /// Whether the node syncs with an authority at all.
    pub configured: bool,
    /// Connected to the authority now.
    pub online: bool,
    /// Enrolled with the authority.
    pub enrolled: bool,
    /// Last complete sync, Unix ms.
    pub last_sync_ms: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Documents changed here and not yet acknowledged.
    pub docs_waiting: u64,
    /// Sealed submissions waiting for a receipt.
    pub submissions_waiting: u64,
    /// Bytes of submissions and attachments waiting.
    pub bytes_waiting: u64,
    /// Sync rounds completed since the node started.
    pub rounds: u64,
}
