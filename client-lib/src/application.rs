//! The export-licence application (出口许可证申请表) as it travels through the API.
//!
//! Every field the enterprise enters is a string, empty when not filled in yet: a draft
//! (暂存) may be incomplete, and decimals travel as strings so that no value is rounded
//! on the way. The node computes totals, names and statuses; they appear only in
//! [`ApplicationView`], never in what a client sends ([`ApplicationForm`]).

use serde::{Deserialize, Serialize};

use crate::attachment::AttachmentRef;
use crate::ids::DocId;
use crate::status::ApplicationStatus;

/// What the enterprise fills in: boxes 1–2 and 5–19 of the licence (domain.md §2.1–2.2),
/// the online extras (附加说明信息, 一批一证/非一批一证, 配额年度) and the contract table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationForm {
    /// 出口商 (box 1): the contract signatory.
    pub exporter_name: String,
    /// 出口商代码: legacy 13-digit enterprise code or a USCC.
    pub exporter_code: String,
    /// 出口商统一社会信用代码.
    pub exporter_uscc: String,
    /// 发货人 (box 2): the unit that ships and declares.
    pub consignor_name: String,
    /// 发货人代码.
    pub consignor_code: String,
    /// 发货人统一社会信用代码.
    pub consignor_uscc: String,
    /// 贸易方式 (box 5): a code from the trade-mode list.
    pub trade_mode: String,
    /// 合同号 (box 6): at most 17 characters.
    pub contract_no: String,
    /// 报关口岸 (box 7): one customs-district code (一证一关).
    pub customs_district: String,
    /// 进口国(地区) (box 8): one country/region code, never a grouping such as the EU.
    pub country: String,
    /// 付款方式 (box 9): a payment-mode code.
    pub payment_mode: String,
    /// 运输方式 (box 10): a transport-mode code.
    pub transport_mode: String,
    /// 商品编码 (box 11): 10 digits from the quota year's catalogue.
    pub commodity_code: String,
    /// Currency of the unit prices (box 15), an ISO 4217 code from the currency list.
    pub currency: String,
    /// Price term; online applications use FOB.
    pub price_term: String,
    /// Goods rows (boxes 12–17).
    pub goods: Vec<GoodsLine>,
    /// 配额年度, four digits.
    pub quota_year: String,
    /// `single` (一批一证) or `multi` (非一批一证, up to 12 customs declarations).
    pub batch_mode: String,
    /// 备注 (box 19).
    pub remarks: String,
    /// 附加说明信息.
    pub additional_info: String,
    /// 申请表合同信息表.
    pub contract: ContractTable,
}

/// One goods row of boxes 12–17.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GoodsLine {
    /// 规格、等级 (box 12).
    pub spec: String,
    /// 单位 (box 13): a unit code.
    pub unit: String,
    /// 数量 (box 14): a positive decimal, e.g. `"23"` or `"1.5"`.
    pub quantity: String,
    /// 单价 (box 15): a positive decimal in the form's currency.
    pub unit_price: String,
}

/// 申请表合同信息表: the contract the application rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ContractTable {
    /// 合同号; must equal the form's contract number once sealed.
    pub contract_no: String,
    /// 签约日期, `YYYY-MM-DD`.
    pub signed_on: String,
    /// 签约地点.
    pub signed_at: String,
    /// 买方名称.
    pub buyer_name: String,
    /// 买方地址.
    pub buyer_address: String,
    /// 买方国别(地区): a country code.
    pub buyer_country: String,
    /// 合同总金额: a positive decimal.
    pub total_amount: String,
    /// 合同币制: a currency code.
    pub currency: String,
    /// 交货期限, `YYYY-MM-DD`.
    pub delivery_by: String,
    /// 其他约定.
    pub notes: String,
}

/// Values the node computes from the form (boxes 16–18).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    /// 总值 per goods row, in the form's currency, two decimals; empty where not computable.
    pub line_amounts: Vec<String>,
    /// 总值折美元 per goods row.
    pub line_amounts_usd: Vec<String>,
    /// 总计 in the form's currency.
    pub total: String,
    /// 总计 in US dollars.
    pub total_usd: String,
    /// Sum of the quantities (申请数量).
    pub total_quantity: String,
}

/// An application as the node shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    /// Document id.
    pub id: DocId,
    /// Where the application stands.
    pub status: ApplicationStatus,
    /// 申请表号, 21 digits, assigned at the first 保存并盖章.
    pub application_no: Option<String>,
    /// How many times it has been sealed (0 for a draft never sealed).
    pub revision: u32,
    /// Whether edits are refused (sealed and not returned for correction).
    pub frozen: bool,
    /// What the enterprise entered.
    pub form: ApplicationForm,
    /// 商品名称, filled from the catalogue.
    pub commodity_name: Option<String>,
    /// Computed amounts.
    pub totals: Totals,
    /// Uploaded attachments.
    pub attachments: Vec<AttachmentRef>,
    /// 申请日期 `YYYYMMDD`: creation date, China time.
    pub application_date: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Last change, Unix milliseconds.
    pub updated_at_ms: i64,
    /// 许可证号 once issued.
    pub licence_no: Option<String>,
    /// Automerge heads of the document here, hex, sorted.
    pub heads: Vec<String>,
    /// What happened to it, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The issuing office's refusal of the latest revision at receipt, if it refused it:
    /// the application is editable again and each finding belongs beside its field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_at_receipt: Option<ReceiptRefusal>,
    /// Fields two devices of this enterprise set to different values while apart. The
    /// document keeps every value until someone picks one (`POST …/resolve`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<FieldConflict>,
    /// The agency code of the office this application goes to: the one the 分级发证目录
    /// names for its commodity, among the offices the enterprise is enrolled with.
    #[serde(default)]
    pub office: String,
}

/// One field set on two devices while apart, with each value and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldConflict {
    /// The field's path in the form (`contract_no`, `goods[0].quantity`, `contract.buyer_name`).
    pub field: String,
    /// Every value the document holds for it; the first is the one shown until resolved.
    pub values: Vec<ConflictValue>,
}

/// One value of a [`FieldConflict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictValue {
    /// The value.
    pub value: String,
    /// The device that wrote it: the first 16 bytes of its public key, hex.
    pub device: String,
    /// Whether this device wrote it.
    pub mine: bool,
}

/// Picks one value of a field in conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// The field's path, as in [`FieldConflict::field`].
    pub field: String,
    /// The value to keep: one of the conflict's values.
    pub value: String,
}

/// The office's signed refusal of one sealed revision, as the node shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptRefusal {
    /// The revision refused.
    pub revision: u32,
    /// The office's clock when it checked, Unix milliseconds.
    pub refused_at_ms: i64,
    /// Every rule that failed at the office, field by field.
    pub findings: Vec<crate::error::FieldError>,
}

/// One event in an application's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Unix milliseconds (this node's clock).
    pub at_ms: i64,
    /// `created`, `saved`, `sealed`, `reported`, …
    pub event: String,
    /// Free text, e.g. the revision or a reviewer's reason.
    pub detail: String,
}

/// The row of the application list (许可证申请 list and 查询 results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationSummary {
    /// Document id.
    pub id: DocId,
    /// Status.
    pub status: ApplicationStatus,
    /// 申请表号, if sealed.
    pub application_no: Option<String>,
    /// 申请日期 `YYYYMMDD`.
    pub application_date: String,
    /// Creation time, Unix ms (orders the list, newest first).
    pub created_at_ms: i64,
    /// 商品编码.
    pub commodity_code: String,
    /// 商品名称.
    pub commodity_name: String,
    /// 申请数量.
    pub quantity: String,
    /// 贸易方式 code.
    pub trade_mode: String,
    /// 配额年度.
    pub quota_year: String,
    /// 一批一证 (`single`) or 非一批一证 (`multi`).
    pub batch_mode: String,
    /// 许可证号 once issued.
    pub licence_no: Option<String>,
    /// 合同号, which tells drafts (not yet numbered) apart in a list.
    #[serde(default)]
    pub contract_no: String,
}

/// What 保存并盖章 asks for, as the e-key does: its PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealConfirmation {
    /// The e-key's PIN where the node holds the e-key (a wrong one counts toward its
    /// lockout); on a device without the e-key, the sealing operator's own password.
    pub pin: String,
}

/// The answer to 保存并盖章.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealResult {
    /// 申请表号.
    pub application_no: String,
    /// The revision this seal covers (1 for the first).
    pub revision: u32,
    /// Hex SHA-256 of the signed payload (the seal's identity).
    pub seal_hash: String,
    /// Warnings (rules of severity W) that did not block sealing.
    pub warnings: Vec<crate::error::FieldError>,
}
