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
