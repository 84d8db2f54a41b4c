//! The JSON error body of every failed API call.

use serde::{Deserialize, Serialize};

/// Every failed call answers with this body and a 4xx/5xx status.
///
/// `code` is stable and meant for programs; `message` is for people; `field` names the
/// offending input (`goods[0].quantity`, `contract.buyer_name`) where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `sealed`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The input field at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule id (V01…V24) at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every field error, for validation failures (保存并盖章 reports all at once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One failed rule on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field path, e.g. `exporter_uscc`, `goods[1].unit_price`.
    pub field: String,
    /// The rule id, e.g. `V01`.
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
    /// `error` blocks sealing; `warning` does not.
    pub severity: Severity,
}

/// Whether a failed rule blocks the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks 保存并盖章.
    Error,
    /// Reported, does not block.
    Warning,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        for e in &self.errors {
            write!(f, "; {} {}: {}", e.rule, e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
