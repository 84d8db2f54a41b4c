//! 删证申请 and 核销申请 as the JSON APIs of both nodes carry them.

use serde::{Deserialize, Serialize};

use crate::DocId;

/// A new request (enterprise node, `POST /api/v1/licence-requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceRequestInput {
    /// `delete` (删证) or `write_off` (核销).
    pub kind: String,
    /// 出口许可证号 of a licence this node holds.
    pub licence_no: String,
}

/// A request and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceRequestView {
    /// The request document's id.
    pub id: DocId,
    /// `delete` or `write_off`.
    pub kind: String,
    /// 出口许可证号.
    pub licence_no: String,
    /// `pending` (待审核), `approved` or `rejected`.
    pub status: String,
    /// The authority's reason (or why the request was refused on arrival).
    pub reason: String,
    /// Made (enterprise) or received (authority), Unix ms.
    pub created_ms: i64,
    /// Decided, Unix ms (0 while pending).
    pub decided_ms: i64,
    /// The enterprise (USCC).
    pub enterprise_uscc: String,
}

/// A decision (authority node, `POST /api/v1/licence-requests/{id}/decision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceDecisionInput {
    /// 审核通过 (true) or 审核不通过 (false).
    pub approve: bool,
    /// Required when refusing.
    #[serde(default)]
    pub reason: String,
}

/// A licence's standing: `valid`, `deleted` or `written_off`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceStatus {
    /// 出口许可证号.
    pub licence_no: String,
    /// `valid`, `deleted` or `written_off`.
    pub status: String,
}
