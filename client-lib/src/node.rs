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
    /// The link to each other office the enterprise is enrolled with (the fields above
    /// are the home office's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offices: Vec<OfficeSync>,
}

/// The link to one other office of an enterprise ([`SyncStatus::offices`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficeSync {
    /// The office's agency code.
    pub agency_code: String,
    /// Connected now.
    pub online: bool,
    /// Enrolled with it.
    pub enrolled: bool,
    /// Last complete sync, Unix ms.
    pub last_sync_ms: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// `GET /api/v1/certificate`: 查看本机证书.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateView {
    /// Serial.
    pub serial: u64,
    /// The enterprise (holder).
    pub enterprise_uscc: String,
    /// The authorised mobile number.
    pub mobile: String,
    /// SHA-256 fingerprint of the device key, hex.
    pub key_fingerprint: String,
    /// Valid from, Unix ms.
    pub not_before_ms: i64,
    /// Valid until, Unix ms.
    pub not_after_ms: i64,
    /// `valid`, `expiring` (within 30 days), `expired` or `revoked`.
    pub status: String,
}

/// `POST /api/v1/certificate/requests`: a request signed with the e-key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CertRequestInput {
    /// `new` (新授权), `number_change` (手机号码变更), `device_change` (手机变更), `renew`
    /// (续签) or `revoke` (注销).
    pub kind: String,
    /// The (new) mobile number.
    #[serde(default)]
    pub mobile: String,
    /// The number being replaced (number_change).
    #[serde(default)]
    pub old_mobile: String,
    /// The e-key PIN or passphrase.
    pub pin: String,
    /// For 手机变更 of another phone: that device's public key, hex (default: this device).
    #[serde(default)]
    pub device_key: Option<String>,
}

/// One row of the request history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertRequestView {
    /// Position.
    pub seq: u64,
    /// 请求类型 code.
    pub kind: String,
    /// 请求类型 as the manual names it.
    pub kind_zh: String,
    /// 手机号码.
    pub mobile: String,
    /// The replaced number.
    pub old_mobile: String,
    /// 请求时间, Unix ms.
    pub created_ms: i64,
    /// 请求状态: `submitted` (已提交), `issued` (证书已签发), `refused`.
    pub status: String,
    /// Why it was refused.
    pub outcome: String,
}

/// The e-key's state (`GET /api/v1/ekey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EkeyView {
    /// Wrong PINs in a row.
    pub failures: u32,
    /// Locked after six wrong PINs; only the issuing office unlocks it.
    pub locked: bool,
    /// An unlock was asked for and has not arrived yet.
    pub unlock_requested: bool,
}
