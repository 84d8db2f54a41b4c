//! Query parameters of the application list and 查询, and the page they return.

use serde::{Deserialize, Serialize};

use crate::status::ApplicationStatus;

/// Filters of the 许可证申请 list and the 查询 screen; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationQuery {
    /// 许可证类型: only `export` (出口许可证) exists today.
    pub licence_type: Option<String>,
    /// 年度: the quota year.
    pub year: Option<u16>,
    /// 申请开始日期, `YYYYMMDD` or `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// 申请结束日期, `YYYYMMDD` or `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    /// 商品代码: exact 10 digits, or a leading part of them.
    pub commodity_code: Option<String>,
    /// 贸易方式 code.
    pub trade_mode: Option<String>,
    /// 申请表号: any part of it (the manual's fuzzy search).
    pub application_no: Option<String>,
    /// 状态.
    pub status: Option<ApplicationStatus>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Rows per page, 1–200 (default 20).
    pub per_page: Option<u32>,
}

/// One page of results, newest application first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// This page's number, from 1.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Whether a further page exists.
    pub has_more: bool,
    /// How many rows match, on every page.
    #[serde(default)]
    pub total: u64,
}
