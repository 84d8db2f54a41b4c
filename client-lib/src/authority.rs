//! The authority node's JSON shapes (its HTTP API under `/api/v1/`).

use serde::{Deserialize, Serialize};

use crate::ids::DocId;
use crate::status::ApplicationStatus;

/// `GET /api/v1/node` on an authority node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorityInfo {
    /// Always `authority`.
    pub role: String,
    /// 发证机构 name.
    pub name: String,
    /// Agency code.
    pub agency_code: String,
    /// The authority's current signing key, hex.
    pub public_key: String,
    /// Its root (identity) key, hex: the key in enrolment tokens, where every verifier's
    /// chain starts (equal to `public_key` until the first key rollover).
    pub root_key: String,
    /// libp2p addresses it is reachable on.
    pub p2p_addrs: Vec<String>,
    /// Documents in its replica.
    pub docs_held: u64,
    /// Submissions received.
    pub submissions: u64,
    /// When the office runs as replicas: this one's view of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterStatus>,
}

/// A replicated office as one replica sees it (`cluster` of `GET /api/v1/node`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterStatus {
    /// This replica's id.
    pub id: u64,
    /// `leader`, `follower`, `candidate`, `learner` or `stopped`.
    pub role: String,
    /// The leader it knows of, if any.
    pub leader: Option<u64>,
    /// The election term.
    pub term: u64,
    /// The last entry in its log.
    pub last_log: u64,
    /// The last entry it has applied.
    pub applied: u64,
    /// The voters and learners (a replica being added); on the leader with how far each
    /// has replicated.
    pub replicas: Vec<ReplicaStatus>,
}

/// One replica of the membership as a replica sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaStatus {
    /// Its id.
    pub id: u64,
    /// Where the others reach it (a multiaddress).
    pub addr: String,
    /// A voter; a learner (being brought up to date before it votes) when false.
    pub voter: bool,
    /// The last entry the leader knows it holds this term (only the leader knows; none
    /// when it has not heard from it this term).
    pub matched: Option<u64>,
    /// Entries it is behind the leader's log (only the leader knows).
    pub lag: Option<u64>,
}

/// One key of the authority's signing-key chain (`GET /api/v1/keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyEntry {
    /// The public key, hex.
    pub key: String,
    /// Its 8-byte id, hex (what signed objects name).
    pub key_id: String,
    /// Valid from, Unix ms (`None`: from the beginning).
    pub from_ms: Option<i64>,
    /// Retired at, Unix ms (`None`: the current key).
    pub until_ms: Option<i64>,
}

/// `GET /api/v1/keys`: the authority's signing-key chain and the rollover records that
/// link it (pass them in order to `exlic verify --rollover`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyChain {
    /// The root (identity) key, hex.
    pub root: String,
    /// Every key, oldest first.
    pub keys: Vec<KeyEntry>,
    /// The rollover records, hex, oldest first.
    pub records: Vec<String>,
}

/// `POST /api/v1/invites`: an enrolment token for one device of an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The enterprise's USCC.
    pub uscc: String,
    /// 企业名称.
    pub name: String,
    /// 申请表号 to grant (default 100,000).
    #[serde(default)]
    pub numbers: Option<u64>,
    /// Days the token stays valid (default 30).
    #[serde(default)]
    pub valid_days: Option<i64>,
}

/// The token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteResponse {
    /// `EXLIC1-…`.
    pub token: String,
}

/// A document's heads in the authority's replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocHeads {
    /// The document.
    pub id: DocId,
    /// Change hashes, hex, sorted.
    pub heads: Vec<String>,
}

/// An application as the authority records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseView {
    /// The application.
    pub id: DocId,
    /// Its status at the authority.
    pub status: ApplicationStatus,
    /// The revision received last.
    pub revision: u32,
}

/// `POST /api/v1/cases/{id}/decisions`: a review decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `initial` (初审, 经办人) or `second` (复审, 处长).
    pub stage: String,
    /// 通过 (true) or 不予通过 (false).
    pub approve: bool,
    /// Required when refusing.
    #[serde(default)]
    pub reason: String,
}

/// The answer to a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionResult {
    /// The status after the decision.
    pub status: ApplicationStatus,
    /// 许可证号 when issued.
    pub licence_no: Option<String>,
}

/// A row of an inbox (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxRow {
    /// The application.
    pub id: DocId,
    /// 申请表号.
    pub application_no: String,
    /// Revision under review.
    pub revision: u32,
    /// Received at (authority clock), Unix ms.
    pub received_ms: i64,
    /// The enterprise (USCC).
    #[serde(default)]
    pub owner: String,
    /// 出口商 name (empty for cases received before inbox summaries were kept).
    #[serde(default)]
    pub exporter: String,
    /// 商品编码.
    #[serde(default)]
    pub commodity_code: String,
    /// Total quantity of the goods rows, and their unit code.
    #[serde(default)]
    pub quantity: String,
    /// Unit code of the quantity.
    #[serde(default)]
    pub unit: String,
    /// Total amount of the contract, and its currency.
    #[serde(default)]
    pub amount: String,
    /// Currency code of the amount.
    #[serde(default)]
    pub currency: String,
}

/// One page of an inbox: `GET /cases?status=…&page=…&per_page=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxPage {
    /// Cases in this status in all.
    pub total: u64,
    /// This page, from 1.
    pub page: u32,
    /// Rows a page.
    pub per_page: u32,
    /// The rows, oldest received first.
    pub rows: Vec<InboxRow>,
}

/// A licence in a list (查看电子许可证).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceSummary {
    /// 许可证号.
    pub licence_no: String,
    /// 商品编码.
    pub commodity_code: String,
    /// 商品名称.
    pub commodity_name: String,
    /// 发证日期 `YYYYMMDD`.
    pub issue_date: String,
    /// 有效截止日期 `YYYYMMDD`.
    pub expiry: String,
}
