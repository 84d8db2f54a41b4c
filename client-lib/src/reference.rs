//! Reference data: code lists and the yearly commodity catalogue, as shipped in the
//! node's `reference/` files and served at `GET /api/v1/reference`.

use serde::{Deserialize, Serialize};

/// A code with its Chinese and English names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeName {
    /// The stable code.
    pub code: String,
    /// 中文名称.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// A country or region of purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Country {
    /// ISO 3166 alpha-3 code, or a grouping code.
    pub code: String,
    /// 中文名称.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// A regional grouping (欧盟, …), never allowed as 进口国 (V08).
    #[serde(default)]
    pub grouping: bool,
    /// Shares a land border with China (land transport of frozen goods is plausible, V10).
    #[serde(default)]
    pub land_border: bool,
}

/// A currency with the rate used for 总值折美元.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// ISO 4217 code.
    pub code: String,
    /// 中文名称.
    pub name: String,
    /// US dollars per one unit of this currency, as a decimal string.
    pub usd_rate: String,
}

/// One entry of the yearly 出口许可证管理货物目录.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogueEntry {
    /// 10-digit 商品编码.
    pub code: String,
    /// 商品名称.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// The unit code goods rows must use.
    pub unit: String,
    /// 非一批一证 allowed for this commodity.
    #[serde(default)]
    pub multi_batch: bool,
    /// Under quota or quota-bidding management (发货人 must equal 出口商, V03).
    #[serde(default)]
    pub quota: bool,
    /// Frozen goods (V10 warning on land transport to overseas destinations).
    #[serde(default)]
    pub frozen: bool,
    /// Designated customs districts; empty means any (V07).
    #[serde(default)]
    pub designated_ports: Vec<String>,
    /// Agency codes allowed to issue it (分级发证目录); empty means any (V20).
    #[serde(default)]
    pub agencies: Vec<String>,
    /// Months of validity of its licences (domain §3.2); absent means 6. Never past
    /// 31 December of the quota year either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_months: Option<u8>,
    /// Overfill customs allow on its licences' quantity, in percent (domain §3.3); absent
    /// means 5 for bulk goods (those that may be 非一批一证) and 0 for the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overfill_percent: Option<u8>,
}

impl CatalogueEntry {
    /// The overfill tolerance customs allow, in percent.
    pub fn overfill(&self) -> u8 {
        self.overfill_percent
            .unwrap_or(if self.multi_batch { 5 } else { 0 })
    }
}

/// The catalogue of one quota year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The quota year it governs.
    pub year: u16,
    /// Where it comes from (announcement or sample).
    pub source: String,
    /// Its entries.
    pub entries: Vec<CatalogueEntry>,
}

/// An issuing agency (发证机构).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Two-character licence code (许可证号 positions 3–4).
    pub code: String,
    /// 名称.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Its two digits in every 申请表号 block it hands out (positions 3–4), unique among
    /// all agencies, so no two offices ever give out the same number.
    pub block: u8,
}

/// All reference data a node loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReferenceData {
    /// Version of the code lists, e.g. `2026.1`.
    pub version: String,
    /// 贸易方式.
    pub trade_modes: Vec<CodeName>,
    /// 付款方式.
    pub payment_modes: Vec<CodeName>,
    /// 运输方式; `land` marks rail and road.
    pub transport_modes: Vec<CodeName>,
    /// 进口国(地区).
    pub countries: Vec<Country>,
    /// 报关口岸 (customs districts).
    pub customs_districts: Vec<CodeName>,
    /// 单位.
    pub units: Vec<CodeName>,
    /// Currencies with USD rates.
    pub currencies: Vec<Currency>,
    /// Issuing agencies.
    pub agencies: Vec<Agency>,
    /// Catalogues by quota year.
    #[serde(default)]
    pub catalogues: Vec<Catalogue>,
}
