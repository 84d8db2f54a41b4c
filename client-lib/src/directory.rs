//! 发证机构联系方式 (directory) and 办事指南 (guides): edited by the issuing office,
//! synced to every enterprise node and readable there offline.

use serde::{Deserialize, Serialize};

/// One issuing office's contact entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// 发证机构 name.
    pub name: String,
    /// Address.
    #[serde(default)]
    pub address: String,
    /// Telephone.
    #[serde(default)]
    pub phone: String,
    /// Office hours or a note.
    #[serde(default)]
    pub note: String,
}

/// One guide (办事指南).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Guide {
    /// Title.
    pub title: String,
    /// Plain text (paragraphs separated by blank lines).
    pub body: String,
}

/// The directory and the guides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// 发证机构联系方式.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// 办事指南.
    #[serde(default)]
    pub guides: Vec<Guide>,
    /// Last edited, Unix ms (set by the authority).
    #[serde(default)]
    pub updated_ms: i64,
}

impl Directory {
    /// Checks sizes and required fields; the error is `(field, message)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: String, m: &str| Err((f, m.to_owned()));
        if self.contacts.len() > 200 || self.guides.len() > 200 {
            return bad("contacts".into(), "at most 200 contacts and 200 guides");
        }
        for (i, c) in self.contacts.iter().enumerate() {
            if c.name.trim().is_empty() {
                return bad(format!("contacts[{i}].name"), "is required");
            }
            if c.name.chars().count() > 200 || c.address.chars().count() > 500 {
                return bad(
                    format!("contacts[{i}]"),
                    "name ≤ 200, address ≤ 500 characters",
                );
            }
        }
        for (i, g) in self.guides.iter().enumerate() {
            if g.title.trim().is_empty() {
                return bad(format!("guides[{i}].title"), "is required");
            }
            if g.body.chars().count() > 20_000 {
                return bad(format!("guides[{i}].body"), "at most 20000 characters");
            }
        }
        Ok(())
    }
}
