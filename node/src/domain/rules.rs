//! The validation rules of 保存并盖章 (domain.md §10, V01–V24) and the lighter checks of
//! 暂存.
//!
//! Rule ids are cited in every error. Presence of a required field is V23 throughout;
//! format and meaning are the specific rule. Enforced by construction rather than checked
//! here: V12 (商品名称 is derived from the code, never entered), V13 (the form has a
//! single commodity code), V19 (system fields are not part of the form; the API names them
//! with V19 when a client sends them). V04's certificate part arrives with device
//! certificates; here it checks the exporter is this node's enterprise and a device key
//! exists.

use exlic_client::application::ApplicationForm;
use exlic_client::error::{FieldError, Severity};
use exlic_client::uscc;
use jiff::civil::Date;
use rust_decimal::Decimal;

use super::reference::Reference;
use super::totals::parse_decimal;

/// Configurable free-text limits (V24), in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLimits {
    /// Names of parties and buyers.
    pub name: usize,
    /// Codes such as 出口商代码.
    pub code: usize,
    /// Addresses and places.
    pub address: usize,
    /// 规格、等级.
    pub spec: usize,
    /// 备注.
    pub remarks: usize,
    /// 附加说明信息 and contract notes.
    pub additional_info: usize,
    /// Most goods rows.
    pub goods_lines: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        Self {
            name: 100,
            code: 32,
            address: 200,
            spec: 200,
            remarks: 500,
            additional_info: 1000,
            goods_lines: 50,
        }
    }
}

/// What the rules need besides the form.
#[derive(Debug)]
pub struct Context<'a> {
    /// Code lists and catalogues.
    pub reference: &'a Reference,
    /// Today's date in China (UTC+8), from the injected clock.
    pub today: Date,
    /// The enterprise this node belongs to.
    pub enterprise_uscc: &'a str,
    /// The issuing agency this node reports to.
    pub agency_code: &'a str,
    /// Text limits.
    pub limits: &'a TextLimits,
    /// USCCs accepted although they fail the checksum (registry exceptions).
    pub uscc_allow_list: &'a [String],
    /// Attachments on the application.
    pub attachment_count: usize,
    /// Whether this node holds a device key to seal with.
    pub has_device_key: bool,
}

#[derive(Debug, Default)]
struct Report(Vec<FieldError>);

impl Report {
    /// The findings with one per field, rule and severity: where the 暂存 rules and the
    /// 保存并盖章 rules both report, the later (more specific) one stays.
    fn one_per_rule(self) -> Vec<FieldError> {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<FieldError> = self
            .0
            .into_iter()
            .rev()
            .filter(|f| {
                seen.insert((
                    f.field.clone(),
                    f.rule.clone(),
                    f.severity == Severity::Error,
                ))
            })
            .collect();
        out.reverse();
        out
    }

    fn err(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            rule: rule.into(),
            message: message.into(),
            severity: Severity::Error,
        });
    }
    fn warn(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            rule: rule.into(),
            message: message.into(),
            severity: Severity::Warning,
        });
    }
    /// V23: reports an empty required field; true when present.
    fn required(&mut self, field: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.err(field, "V23", "is required");
            false
        } else {
            true
        }
    }
}

fn len(s: &str) -> usize {
    s.chars().count()
}

/// A character that must never reach a signed licence: a control character (line breaks
/// only in the two multi-line boxes), a bidirectional override or isolate, which can make
/// text read differently from what is signed (U+202E), or a zero-width character.
fn invisible(c: char, multi_line: bool) -> bool {
    (c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t')))
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width space, joiners, direction marks
            | '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // isolates
            | '\u{FEFF}' // zero-width no-break space
            | '\u{061C}' // Arabic letter mark
        )
}

/// V24 (text): every text field is free of invisible and control characters, each
/// offending field named with the first such character.
fn invisible_characters(form: &ApplicationForm, r: &mut Report) {
    for (field, value) in crate::domain::field_paths::flatten(form) {
        let multi_line = matches!(
            field.as_str(),
            "remarks" | "additional_info" | "contract.notes"
        );
        if let Some(c) = value.chars().find(|&c| invisible(c, multi_line)) {
            r.err(
                field,
                "V24",
                format!(
                    "contains an invisible or control character (U+{:04X}); type the text again without it",
                    u32::from(c)
                ),
            );
        }
    }
}

/// The checks a draft (暂存) must pass: anything a person typed is kept, however
/// unfinished or mistyped (its format is checked at 保存并盖章, [`typed_formats`]); only
/// what can never be stored is refused — over-long text, invisible characters, and codes
/// no list offers (a select's value, sent by a script or an old device).
pub fn check_draft(form: &ApplicationForm, ctx: &Context<'_>) -> Vec<FieldError> {
    let mut r = Report::default();
    lengths(form, ctx, &mut r);
    invisible_characters(form, &mut r);
    let refd = ctx.reference;
    let code_checks: [(&str, &str, &str, bool); 6] = [
        (
            "trade_mode",
            &form.trade_mode,
            "V05",
            refd.is_trade_mode(&form.trade_mode),
        ),
        (
            "customs_district",
            &form.customs_district,
            "V07",
            refd.is_district(&form.customs_district),
        ),
        (
            "country",
            &form.country,
            "V08",
            refd.country(&form.country).is_some(),
        ),
        (
            "payment_mode",
            &form.payment_mode,
            "V09",
            refd.is_payment_mode(&form.payment_mode),
        ),
        (
            "transport_mode",
            &form.transport_mode,
            "V10",
            refd.is_transport_mode(&form.transport_mode),
        ),
        (
            "currency",
            &form.currency,
            "V14",
            refd.usd_rate(&form.currency).is_some(),
        ),
    ];
    for (field, value, rule, known) in code_checks {
        if !value.is_empty() && !known {
            r.err(field, rule, format!("unknown code {value:?}"));
        }
    }
    if !form.batch_mode.is_empty() && !matches!(form.batch_mode.as_str(), "single" | "multi") {
        r.err(
            "batch_mode",
            "V17",
            "must be `single` (一批一证) or `multi` (非一批一证)",
        );
    }
    for (i, line) in form.goods.iter().enumerate() {
        if !line.unit.is_empty() && !refd.is_unit(&line.unit) {
            r.err(
                format!("goods[{i}].unit"),
                "V14",
                format!("unknown unit {:?}", line.unit),
            );
        }
    }
    let c = &form.contract;
    if !c.buyer_country.is_empty() && refd.country(&c.buyer_country).is_none() {
        r.err(
            "contract.buyer_country",
            "V21",
            format!("unknown code {:?}", c.buyer_country),
        );
    }
    if !c.currency.is_empty() && refd.usd_rate(&c.currency).is_none() {
        r.err(
            "contract.currency",
            "V21",
            format!("unknown code {:?}", c.currency),
        );
    }
    r.0
}

/// The formats of what a person types, checked at 保存并盖章 (a draft keeps them as
/// typed): the commodity code in a loaded catalogue, the quota year, decimal quantities,
/// prices and amounts, dates.
fn typed_formats(form: &ApplicationForm, ctx: &Context<'_>, r: &mut Report) {
    let refd = ctx.reference;
    if !form.commodity_code.is_empty() && refd.commodity_any_year(&form.commodity_code).is_none() {
        r.err(
            "commodity_code",
            "V11",
            format!(
                "{:?} is not in any loaded 出口许可证管理货物目录",
                form.commodity_code
            ),
        );
    }
    if !form.quota_year.is_empty() && parse_year(&form.quota_year).is_none() {
        r.err("quota_year", "V18", "must be a four-digit year");
    }
    for (i, line) in form.goods.iter().enumerate() {
        for (name, value) in [
            ("quantity", &line.quantity),
            ("unit_price", &line.unit_price),
        ] {
            if !value.is_empty() && parse_decimal(value).is_none() {
                r.err(
                    format!("goods[{i}].{name}"),
                    "V14",
                    "must be a decimal number such as 23 or 1250.50",
                );
            }
        }
    }
    let c = &form.contract;
    if !c.total_amount.is_empty() && parse_decimal(&c.total_amount).is_none() {
        r.err("contract.total_amount", "V21", "must be a decimal number");
    }
    for (field, value) in [
        ("contract.signed_on", &c.signed_on),
        ("contract.delivery_by", &c.delivery_by),
    ] {
        if !value.is_empty() && parse_date(value).is_none() {
            r.err(field, "V21", "must be a date YYYY-MM-DD");
        }
    }
}

/// The issuing office's check of a sealed form at receipt: every rule of [`check_seal`]
/// but the device-side one (whether the sealing device holds a key; the office checks the
/// seal and its certificate itself), evaluated on the office's reference data and clock.
pub fn check_at_office(form: &ApplicationForm, ctx: &Context<'_>) -> Vec<FieldError> {
    check_seal(
        form,
        &Context {
            has_device_key: true,
            ..*ctx
        },
    )
}

/// Every rule of 保存并盖章 that the enterprise side can check. Errors block sealing;
/// warnings are returned beside them.
pub fn check_seal(form: &ApplicationForm, ctx: &Context<'_>) -> Vec<FieldError> {
    let mut r = Report(check_draft(form, ctx));
    typed_formats(form, ctx, &mut r);
    let refd = ctx.reference;
    let year = parse_year(&form.quota_year);
    let entry = year.and_then(|y| refd.commodity(y, &form.commodity_code));

    // V01, V02: parties.
    for (prefix, rule) in [("exporter", "V01"), ("consignor", "V02")] {
        let (name, code, uscc_value) = if prefix == "exporter" {
            (
                &form.exporter_name,
                &form.exporter_code,
                &form.exporter_uscc,
            )
        } else {
            (
                &form.consignor_name,
                &form.consignor_code,
                &form.consignor_uscc,
            )
        };
        r.required(&format!("{prefix}_name"), name);
        if r.required(&format!("{prefix}_code"), code) && !is_enterprise_code(code, ctx) {
            r.err(
                format!("{prefix}_code"),
                rule,
                "must be a 13-digit enterprise code or a valid unified social credit code",
            );
        }
        if r.required(&format!("{prefix}_uscc"), uscc_value)
            && let Err(e) = check_uscc(uscc_value, ctx)
        {
            r.err(
                format!("{prefix}_uscc"),
                rule,
                format!("not a valid unified social credit code: {e}"),
            );
        }
    }
    // V03: quota goods are shipped by the exporter itself.
    if let Some(e) = entry
        && e.quota
        && (form.consignor_uscc != form.exporter_uscc || form.consignor_name != form.exporter_name)
    {
        r.err(
            "consignor_uscc",
            "V03",
            format!(
                "{} is under quota management: 发货人 must be the 出口商",
                e.name
            ),
        );
    }
    // V04: the exporter is the enterprise this node (and its device key) belongs to.
    if !form.exporter_uscc.is_empty() && form.exporter_uscc != ctx.enterprise_uscc {
        r.err(
            "exporter_uscc",
            "V04",
            format!(
                "the sealing key belongs to enterprise {}; the 出口商 must be that enterprise",
                ctx.enterprise_uscc
            ),
        );
    }
    if !ctx.has_device_key {
        r.err("seal", "V04", "this device has no sealing key");
    }
    // V05.
    r.required("trade_mode", &form.trade_mode);
    // V06: one contract number, at most 17 characters.
    if r.required("contract_no", &form.contract_no) {
        let c = &form.contract_no;
        if len(c) > 17 {
            r.err(
                "contract_no",
                "V06",
                format!("at most 17 characters, got {}", len(c)),
            );
        } else if !c.bytes().all(|b| b.is_ascii_graphic() || b == b' ') || c.contains([',', ';']) {
            r.err(
                "contract_no",
                "V06",
                "one contract number of ASCII letters, digits and punctuation (no lists)",
            );
        }
    }
    // V07: one customs district, a designated one where the commodity has any.
    if r.required("customs_district", &form.customs_district)
        && let Some(e) = entry
        && !e.designated_ports.is_empty()
        && !e.designated_ports.contains(&form.customs_district)
    {
        r.err(
            "customs_district",
            "V07",
            format!(
                "{} may only be declared at {}",
                e.name,
                e.designated_ports.join(", ")
            ),
        );
    }
    // V08: one country, not a grouping.
    if r.required("country", &form.country)
        && let Some(c) = refd.country(&form.country)
        && c.grouping
    {
        r.err(
            "country",
            "V08",
            format!(
                "{} is a regional grouping; name one country or region",
                c.name
            ),
        );
    }
    // V09, V10.
    r.required("payment_mode", &form.payment_mode);
    if r.required("transport_mode", &form.transport_mode) {
        let land = matches!(form.transport_mode.as_str(), "rail" | "road");
        let overseas = refd
            .country(&form.country)
            .is_some_and(|c| !c.land_border && c.code != "CHN");
        if entry.is_some_and(|e| e.frozen) && land && overseas {
            r.warn(
                "transport_mode",
                "V10",
                "frozen goods to an overseas destination are not shipped by rail or road",
            );
        }
    }
    // V11: the code is in the quota year's catalogue.
    if r.required("commodity_code", &form.commodity_code) {
        let c = &form.commodity_code;
        if c.len() != 10 || !c.bytes().all(|b| b.is_ascii_digit()) {
            r.err("commodity_code", "V11", "must be 10 digits");
        } else if let Some(y) = year {
            if !refd.has_catalogue(y) {
                r.err(
                    "commodity_code",
                    "V11",
                    format!("no 出口许可证管理货物目录 loaded for {y}"),
                );
            } else if entry.is_none() {
                r.err(
                    "commodity_code",
                    "V11",
                    format!("{c} is not in the {y} 出口许可证管理货物目录"),
                );
            }
        }
    }
    // V14, V15: goods rows.
    r.required("currency", &form.currency);
    if form.goods.is_empty() {
        r.err("goods", "V23", "at least one goods row is required");
    }
    let mut total = Some(Decimal::ZERO);
    for (i, line) in form.goods.iter().enumerate() {
        let f = |n: &str| format!("goods[{i}].{n}");
        if r.required(&f("unit"), &line.unit)
            && let Some(e) = entry
            && e.unit != line.unit
        {
            r.err(
                f("unit"),
                "V14",
                format!("{} is measured in {}", e.name, e.unit),
            );
        }
        for (name, value) in [
            ("quantity", &line.quantity),
            ("unit_price", &line.unit_price),
        ] {
            if r.required(&f(name), value) {
                match parse_decimal(value) {
                    Some(d) if d > Decimal::ZERO => {}
                    Some(_) => r.err(f(name), "V14", "must be greater than 0"),
                    None => {} // reported by check_draft
                }
            }
        }
        let amount = parse_decimal(&line.quantity)
            .zip(parse_decimal(&line.unit_price))
            .map(|(q, p)| q.checked_mul(p));
        match amount {
            Some(Some(a)) if a < Decimal::from(1_000_000_000_000_000i64) => {
                total = total.and_then(|t| t.checked_add(a));
            }
            Some(_) => r.err(f("unit_price"), "V15", "amount too large to compute"),
            None => {}
        }
    }
    if total.is_none_or(|t| t >= Decimal::from(1_000_000_000_000_000i64)) {
        r.err("goods", "V15", "total too large to compute");
    }
    // V16.
    if r.required("price_term", &form.price_term) && form.price_term != "FOB" {
        r.err(
            "price_term",
            "V16",
            "online applications use the FOB price term",
        );
    }
    // V17: 一批一证 / 非一批一证 and the remark.
    let multi_mark = form.remarks.contains("非一批一证");
    if r.required("batch_mode", &form.batch_mode) {
        match form.batch_mode.as_str() {
            "multi" => {
                if entry.is_some_and(|e| !e.multi_batch) {
                    r.err(
                        "batch_mode",
                        "V17",
                        "this commodity is not managed as 非一批一证",
                    );
                }
                if !multi_mark {
                    r.err(
                        "remarks",
                        "V17",
                        "a 非一批一证 licence must say 非一批一证 in 备注",
                    );
                }
            }
            "single" if multi_mark => {
                r.err(
                    "remarks",
                    "V17",
                    "备注 says 非一批一证 but the licence is 一批一证",
                );
            }
            _ => {}
        }
    }
    // V18: quota year is this year, or next year from 10 December with the remark.
    if r.required("quota_year", &form.quota_year)
        && let Some(y) = year
    {
        let this = ctx.today.year();
        let next_open = ctx.today >= Date::new(this, 12, 10).expect("valid date");
        if i32::from(y) == i32::from(this) {
        } else if i32::from(y) == i32::from(this) + 1 && next_open {
            if !form.remarks.contains("1月1日") {
                r.err(
                    "remarks",
                    "V18",
                    "a next-year licence must note in 备注 that validity starts 1月1日",
                );
            }
        } else if i32::from(y) == i32::from(this) + 1 {
            r.err(
                "quota_year",
                "V18",
                format!("next year's licences can be applied for from {this}-12-10"),
            );
        } else {
            r.err(
                "quota_year",
                "V18",
                format!("must be {this} (or {} from 10 December)", this + 1),
            );
        }
    }
    // V20: this agency may issue this commodity.
    if let Some(e) = entry
        && !e.agencies.is_empty()
        && !e.agencies.iter().any(|a| a == ctx.agency_code)
    {
        r.err(
            "commodity_code",
            "V20",
            format!(
                "{} is issued by agencies {}, not {}",
                e.name,
                e.agencies.join(", "),
                ctx.agency_code
            ),
        );
    }
    // V21: the contract table is filled and agrees with the form.
    let c = &form.contract;
    let mut filled = true;
    for (field, value) in [
        ("contract.contract_no", &c.contract_no),
        ("contract.signed_on", &c.signed_on),
        ("contract.buyer_name", &c.buyer_name),
        ("contract.buyer_country", &c.buyer_country),
        ("contract.total_amount", &c.total_amount),
        ("contract.currency", &c.currency),
    ] {
        if value.trim().is_empty() {
            r.err(field, "V21", "申请表合同信息表: required");
            filled = false;
        }
    }
    if filled && c.contract_no != form.contract_no {
        r.err(
            "contract.contract_no",
            "V21",
            "must equal the application's 合同号",
        );
    }
    if let Some(country) = refd.country(&c.buyer_country)
        && country.grouping
    {
        r.err(
            "contract.buyer_country",
            "V21",
            "name one country or region",
        );
    }
    // V22.
    if ctx.attachment_count == 0 {
        r.err(
            "attachments",
            "V22",
            "upload at least one attachment (the contract and the export approval document)",
        );
    }
    r.one_per_rule()
}

fn lengths(form: &ApplicationForm, ctx: &Context<'_>, r: &mut Report) {
    let l = ctx.limits;
    let c = &form.contract;
    let fields: [(&str, &str, usize); 20] = [
        ("exporter_name", &form.exporter_name, l.name),
        ("exporter_code", &form.exporter_code, l.code),
        ("exporter_uscc", &form.exporter_uscc, l.code),
        ("consignor_name", &form.consignor_name, l.name),
        ("consignor_code", &form.consignor_code, l.code),
        ("consignor_uscc", &form.consignor_uscc, l.code),
        ("trade_mode", &form.trade_mode, l.code),
        ("contract_no", &form.contract_no, l.code),
        ("customs_district", &form.customs_district, l.code),
        ("country", &form.country, l.code),
        ("payment_mode", &form.payment_mode, l.code),
        ("transport_mode", &form.transport_mode, l.code),
        ("commodity_code", &form.commodity_code, l.code),
        ("remarks", &form.remarks, l.remarks),
        ("additional_info", &form.additional_info, l.additional_info),
        ("contract.contract_no", &c.contract_no, l.code),
        ("contract.signed_at", &c.signed_at, l.address),
        ("contract.buyer_name", &c.buyer_name, l.name),
        ("contract.buyer_address", &c.buyer_address, l.address),
        ("contract.notes", &c.notes, l.additional_info),
    ];
    for (field, value, max) in fields {
        if len(value) > max {
            r.err(
                field,
                "V24",
                format!("at most {max} characters, got {}", len(value)),
            );
        }
    }
    for (field, value) in [
        ("currency", &form.currency),
        ("price_term", &form.price_term),
        ("quota_year", &form.quota_year),
        ("batch_mode", &form.batch_mode),
        ("contract.signed_on", &c.signed_on),
        ("contract.buyer_country", &c.buyer_country),
        ("contract.total_amount", &c.total_amount),
        ("contract.currency", &c.currency),
        ("contract.delivery_by", &c.delivery_by),
    ] {
        if len(value) > l.code {
            r.err(
                field,
                "V24",
                format!("at most {} characters, got {}", l.code, len(value)),
            );
        }
    }
    if form.goods.len() > l.goods_lines {
        r.err(
            "goods",
            "V24",
            format!("at most {} goods rows", l.goods_lines),
        );
    }
    for (i, g) in form.goods.iter().enumerate() {
        if len(&g.spec) > l.spec {
            r.err(
                format!("goods[{i}].spec"),
                "V24",
                format!("at most {} characters, got {}", l.spec, len(&g.spec)),
            );
        }
        for (name, value) in [
            ("unit", &g.unit),
            ("quantity", &g.quantity),
            ("unit_price", &g.unit_price),
        ] {
            if len(value) > l.code {
                r.err(
                    format!("goods[{i}].{name}"),
                    "V24",
                    format!("at most {} characters", l.code),
                );
            }
        }
    }
}

fn check_uscc(code: &str, ctx: &Context<'_>) -> Result<(), uscc::UsccError> {
    if ctx.uscc_allow_list.iter().any(|a| a == code) {
        return Ok(());
    }
    uscc::validate(code)
}

fn is_enterprise_code(code: &str, ctx: &Context<'_>) -> bool {
    (code.len() == 13 && code.bytes().all(|b| b.is_ascii_digit())) || check_uscc(code, ctx).is_ok()
}

/// Parses a four-digit year.
pub fn parse_year(s: &str) -> Option<u16> {
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok().filter(|y| *y >= 2000)
    } else {
        None
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    s.parse::<Date>().ok()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::{USCC, seed_form};
}
