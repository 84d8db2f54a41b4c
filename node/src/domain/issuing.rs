//! Issuing rules (domain.md §3.2, §4.1): licence numbers, expiry dates and the number of
//! customs declarations a licence allows.

use jiff::ToSpan;
use jiff::civil::{Date, date};

/// Why a licence cannot be issued as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The agency code is not two characters A–Z/0–9.
    #[error("agency code must be two characters A-Z or 0-9")]
    Agency,
    /// The per-office, per-year serial space (6 digits) is used up.
    #[error("licence serials for this year are used up (999999)")]
    SerialsExhausted,
    /// The quota year cannot be issued on this date.
    #[error(
        "a {quota_year} licence cannot be issued on {issue}: only this year's, or next year's from 10 December"
    )]
    QuotaYear {
        /// The quota year asked for.
        quota_year: i16,
        /// The issue date.
        issue: Date,
    },
}

/// 许可证号: two-digit issue year, agency code, six-digit serial (per office, per year).
pub fn licence_no(issue: Date, agency: &str, serial: u32) -> Result<String, IssueError> {
    if agency.len() != 2
        || !agency
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(IssueError::Agency);
    }
    if serial == 0 || serial > 999_999 {
        return Err(IssueError::SerialsExhausted);
    }
    Ok(format!("{:02}{agency}{serial:06}", issue.year() % 100))
}

/// 有效截止日期: at most `months` months from the start of validity, never past 31 December
/// of the quota year. Next year's licences (issued from 10 December) start on 1 January.
pub fn expiry(issue: Date, quota_year: i16, months: i8) -> Result<Date, IssueError> {
    let start = if quota_year == issue.year() {
        issue
    } else if quota_year == issue.year() + 1 && issue >= date(issue.year(), 12, 10) {
        date(quota_year, 1, 1)
    } else {
        return Err(IssueError::QuotaYear { quota_year, issue });
    };
    let by_length = start
        .checked_add(i64::from(months).months())
        .and_then(|d| d.checked_sub(1.day()))
        .unwrap_or(date(quota_year, 12, 31));
    Ok(by_length.min(date(quota_year, 12, 31)))
}

/// Customs declarations allowed: 1 for 一批一证, 12 for 非一批一证.
pub fn max_uses(batch_mode: &str) -> u8 {
    if batch_mode == "multi" { 12 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_year_agency_serial() {
        assert_eq!(
            licence_no(date(2024, 3, 1), "AA", 900_009).unwrap(),
            "24AA900009"
        );
        assert_eq!(licence_no(date(2026, 1, 1), "31", 1).unwrap(), "2631000001");
        assert_eq!(
            licence_no(date(2026, 1, 1), "aa", 1),
            Err(IssueError::Agency)
        );
        assert_eq!(
            licence_no(date(2026, 1, 1), "AA", 1_000_000),
            Err(IssueError::SerialsExhausted)
        );
    }

    #[test]
    fn six_months_capped_at_the_end_of_the_quota_year() {
        assert_eq!(
            expiry(date(2026, 3, 15), 2026, 6).unwrap(),
            date(2026, 9, 14)
        );
        assert_eq!(
            expiry(date(2026, 8, 31), 2026, 6).unwrap(),
            date(2026, 12, 31)
        );
        assert_eq!(
            expiry(date(2026, 12, 10), 2027, 6).unwrap(),
            date(2027, 6, 30),
            "next year's licence starts 1 Jan"
        );
        assert!(
            expiry(date(2026, 12, 9), 2027, 6).is_err(),
            "next year's licences only from 10 December"
        );
        assert!(expiry(date(2026, 5, 1), 2025, 6).is_err());
        assert_eq!(max_uses("multi"), 12);
        assert_eq!(max_uses("single"), 1);
    }
}
