//! Application statuses, with the manual's Chinese names.

use serde::{Deserialize, Serialize};

/// Where an application stands (domain.md §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// 暂存: a draft, never validated.
    Draft,
    /// 待上报: sealed, not yet reported.
    Sealed,
    /// 待上报 (上报中): reported, waiting in the outbox for the authority's receipt.
    Queued,
    /// 待初审.
    PendingInitial,
    /// 待复审.
    PendingSecond,
    /// 初审不予通过: returned for correction; editable again.
    Returned,
    /// 复审不予通过: final.
    Rejected,
    /// 已发证.
    Issued,
}

impl ApplicationStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ApplicationStatus; 8] = [
        Self::Draft,
        Self::Sealed,
        Self::Queued,
        Self::PendingInitial,
        Self::PendingSecond,
        Self::Returned,
        Self::Rejected,
        Self::Issued,
    ];

    /// The stable code used in the API and the index tables.
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sealed => "sealed",
            Self::Queued => "queued",
            Self::PendingInitial => "pending_initial",
            Self::PendingSecond => "pending_second",
            Self::Returned => "returned",
            Self::Rejected => "rejected",
            Self::Issued => "issued",
        }
    }

    /// The name the manual uses.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Draft => "暂存",
            Self::Sealed => "待上报",
            Self::Queued => "上报中",
            Self::PendingInitial => "待初审",
            Self::PendingSecond => "待复审",
            Self::Returned => "初审不予通过",
            Self::Rejected => "复审不予通过",
            Self::Issued => "已发证",
        }
    }

    /// The one-byte tag used in index keys.
    pub fn tag(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).expect("listed") as u8
    }

    /// The status of an index tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.get(tag as usize).copied()
    }

    /// Parses a code as produced by [`ApplicationStatus::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tags_round_trip() {
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::from_code(s.code()), Some(s));
            assert_eq!(ApplicationStatus::from_tag(s.tag()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.code()));
        }
    }
}
