//! Issuing rules (domain.md §3.2, §4.1): licence numbers, expiry dates and the number of
//! customs declarations a licence allows.

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::licence::{Licence, LicenceLine};
use jiff::ToSpan;
use jiff::civil::{Date, date};

use super::reference::Reference;
use super::totals;

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

/// Whether `code` is an agency code (发证机构代码) as licence numbers carry it: two
/// characters, A–Z or 0–9.
pub fn valid_agency_code(code: &str) -> bool {
    code.len() == 2
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// 许可证号: the quota year's two digits, the agency code, a six-digit serial (per office and
/// quota year). A 2027 licence issued on 15 December 2026 is `27…`, from 2027's serial.
pub fn licence_no(quota_year: u16, agency: &str, serial: u32) -> Result<String, IssueError> {
    if !valid_agency_code(agency) {
        return Err(IssueError::Agency);
    }
    if serial == 0 || serial > 999_999 {
        return Err(IssueError::SerialsExhausted);
    }
    Ok(format!("{:02}{agency}{serial:06}", quota_year % 100))
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

/// What the office decides about a licence beyond the sealed form: its number, dates and
/// who signs it.
#[derive(Debug, Clone)]
pub struct Issuance<'a> {
    /// 许可证号.
    pub licence_no: String,
    /// The application it answers.
    pub application_id: DocId,
    /// Its 申请表号.
    pub application_no: &'a str,
    /// The quota year (already parsed from the form).
    pub quota_year: u16,
    /// 有效截止日期.
    pub expiry: Date,
    /// The issue date (China time).
    pub issue_date: Date,
    /// The issue instant, Unix ms.
    pub issued_at_ms: i64,
    /// 发证机构: agency code and name.
    pub agency: [String; 2],
    /// The id of the key that signs it.
    pub key_id: [u8; 8],
}

/// Why the office cannot build a licence from a sealed form with its own data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct NotIssuable {
    /// The form field the missing data hangs on.
    pub field: &'static str,
    /// What is missing.
    pub reason: String,
}

/// The licence for a sealed `form`, built only from office data where the office decides:
/// 商品名称 from the office's catalogue for the quota year, the amounts and the USD total
/// from the office's rates; the form's other boxes as sealed, and the note that a
/// next-year licence starts on 1 January. Anything missing refuses the issuance with the
/// reason — never a blank box.
pub fn build_licence(
    form: &ApplicationForm,
    i: Issuance<'_>,
    reference: &Reference,
) -> Result<Licence, NotIssuable> {
    let missing = |field, reason: String| NotIssuable { field, reason };
    let name = reference
        .commodity(i.quota_year, &form.commodity_code)
        .map(|c| c.name.clone())
        .ok_or_else(|| {
            missing(
                "commodity_code",
                format!(
                    "{} is not in this office's {} 出口许可证管理货物目录",
                    form.commodity_code, i.quota_year
                ),
            )
        })?;
    if reference.usd_rate(&form.currency).is_none() {
        return Err(missing(
            "currency",
            format!("this office has no USD rate for {:?}", form.currency),
        ));
    }
    let t = totals::compute(form, reference);
    if form.goods.is_empty()
        || t.total_usd.is_empty()
        || t.line_amounts_usd.iter().any(String::is_empty)
    {
        return Err(missing(
            "goods",
            "the amounts cannot be computed from the goods rows".into(),
        ));
    }
    let mut remarks = form.remarks.clone();
    if i32::from(i.quota_year) > i32::from(i.issue_date.year()) && !remarks.contains("1月1日") {
        remarks.push_str(&format!(" 本证自{}年1月1日起有效", i.quota_year));
    }
    Ok(Licence {
        licence_no: i.licence_no,
        application_id: i.application_id,
        application_no: i.application_no.into(),
        exporter: [
            form.exporter_name.clone(),
            form.exporter_code.clone(),
            form.exporter_uscc.clone(),
        ],
        consignor: [
            form.consignor_name.clone(),
            form.consignor_code.clone(),
            form.consignor_uscc.clone(),
        ],
        expiry: i.expiry.strftime("%Y%m%d").to_string(),
        trade_mode: form.trade_mode.clone(),
        contract_no: form.contract_no.clone(),
        customs_district: form.customs_district.clone(),
        country: form.country.clone(),
        payment_mode: form.payment_mode.clone(),
        transport_mode: form.transport_mode.clone(),
        commodity: [form.commodity_code.clone(), name],
        currency: form.currency.clone(),
        lines: form
            .goods
            .iter()
            .enumerate()
            .map(|(n, g)| LicenceLine {
                spec: g.spec.clone(),
                unit: g.unit.clone(),
                quantity: g.quantity.clone(),
                unit_price: g.unit_price.clone(),
                amount: t.line_amounts.get(n).cloned().unwrap_or_default(),
                amount_usd: t.line_amounts_usd.get(n).cloned().unwrap_or_default(),
            })
            .collect(),
        total: [t.total.clone(), t.total_usd],
        remarks: remarks.trim().to_owned(),
        quota_year: i.quota_year,
        max_uses: max_uses(&form.batch_mode),
        agency: i.agency,
        issue_date: i.issue_date.strftime("%Y%m%d").to_string(),
        issued_at_ms: i.issued_at_ms,
        key_id: i.key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_year_agency_serial() {
        assert_eq!(licence_no(2024, "AA", 900_009).unwrap(), "24AA900009");
        assert_eq!(licence_no(2026, "31", 1).unwrap(), "2631000001");
        assert_eq!(licence_no(2026, "aa", 1), Err(IssueError::Agency));
        assert_eq!(
            licence_no(2026, "AA", 1_000_000),
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

    fn issuance() -> Issuance<'static> {
        Issuance {
            licence_no: "26AA000001".into(),
            application_id: DocId([1; 16]),
            application_no: "269999400000560600000",
            quota_year: 2026,
            expiry: date(2026, 12, 31),
            issue_date: date(2026, 11, 27),
            issued_at_ms: 0,
            agency: ["AA".into(), "商务部配额许可证事务局".into()],
            key_id: [0; 8],
        }
    }

    #[test]
    fn the_licence_is_built_from_office_data_or_refused_with_the_reason() {
        let reference = Reference::embedded();
        let form = exlic_client::sample::application(
            exlic_client::sample::NAME,
            exlic_client::sample::USCC,
            2026,
        );
        let l = build_licence(&form, issuance(), &reference).unwrap();
        assert_eq!(l.commodity[1], "柠檬酸", "the name is the office's");
        assert_eq!(l.total, ["28750.00".to_string(), "28750.00".to_string()]);

        let mut outside = form.clone();
        outside.commodity_code = "2918140099".into();
        let e = build_licence(&outside, issuance(), &reference).unwrap_err();
        assert_eq!(e.field, "commodity_code");
        assert!(e.reason.contains("2918140099"), "{e}");

        let mut no_rate = form.clone();
        no_rate.currency = "XXX".into();
        assert_eq!(
            build_licence(&no_rate, issuance(), &reference)
                .unwrap_err()
                .field,
            "currency"
        );

        let mut no_goods = form;
        no_goods.goods.clear();
        assert_eq!(
            build_licence(&no_goods, issuance(), &reference)
                .unwrap_err()
                .field,
            "goods"
        );
    }
}
