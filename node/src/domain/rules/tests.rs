//! One passing sample (the seed's values) and a failing case for every rule the
//! enterprise side checks, each asserting its rule id.

use exlic_client::application::{ApplicationForm, GoodsLine};
use exlic_client::error::Severity;
use jiff::civil::date;

use super::*;

pub(crate) const USCC: &str = exlic_client::sample::USCC;

/// The seed's sample: 柠檬酸 2918140000, 申请数量 23, applied for on 2024-12-11.
pub(crate) fn seed_form() -> ApplicationForm {
    exlic_client::sample::application(exlic_client::sample::NAME, USCC, 2024)
}

struct Fixture {
    reference: Reference,
    limits: TextLimits,
    allow: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            reference: Reference::embedded(),
            limits: TextLimits::default(),
            allow: vec![],
        }
    }
    fn ctx(&self) -> Context<'_> {
        Context {
            reference: &self.reference,
            today: date(2024, 12, 11),
            enterprise_uscc: USCC,
            agency_code: "AA",
            limits: &self.limits,
            uscc_allow_list: &self.allow,
            attachment_count: 1,
            has_device_key: true,
        }
    }
}

fn errors(form: &ApplicationForm, ctx: &Context<'_>) -> Vec<(String, String)> {
    check_seal(form, ctx)
        .into_iter()
        .filter(|e| e.severity == Severity::Error)
        .map(|e| (e.field, e.rule))
        .collect()
}

#[track_caller]
fn fails(edit: impl FnOnce(&mut ApplicationForm), field: &str, rule: &str) {
    let fx = Fixture::new();
    let mut form = seed_form();
    edit(&mut form);
    let errs = errors(&form, &fx.ctx());
    assert!(
        errs.contains(&(field.to_string(), rule.to_string())),
        "expected {rule} on {field}, got {errs:?}"
    );
}

#[test]
fn the_seed_sample_passes_every_rule() {
    let fx = Fixture::new();
    assert_eq!(check_seal(&seed_form(), &fx.ctx()), vec![]);
}

#[test]
fn v01_exporter() {
    fails(
        |f| f.exporter_uscc = "91350100M000100Y44".into(),
        "exporter_uscc",
        "V01",
    );
    fails(|f| f.exporter_code = "12345".into(), "exporter_code", "V01");
}

#[test]
fn v01_allow_list_overrides_the_checksum() {
    let mut fx = Fixture::new();
    fx.allow = vec!["91350203M0001QAY9B".into()];
    let mut form = seed_form();
    form.consignor_uscc = "91350203M0001QAY9B".into();
    form.consignor_code = "1234567890123".into();
    assert_eq!(errors(&form, &fx.ctx()), vec![]);
}

#[test]
fn v02_consignor() {
    fails(
        |f| f.consignor_uscc = "9135010".into(),
        "consignor_uscc",
        "V02",
    );
    fails(|f| f.consignor_code = "ABC".into(), "consignor_code", "V02");
}

#[test]
fn v03_quota_goods_need_exporter_as_consignor() {
    fails(
        |f| {
            f.commodity_code = "8110101000".into(); // 锑锭, quota, designated ports
            f.customs_district = "5200".into();
            f.consignor_uscc = "91350100M000100Y43".into();
        },
        "consignor_uscc",
        "V03",
    );
}

#[test]
fn v04_exporter_is_this_enterprise_and_a_key_exists() {
    fails(
        |f| {
            f.exporter_uscc = "91350100M000100Y43".into();
            f.consignor_uscc = "91350100M000100Y43".into();
        },
        "exporter_uscc",
        "V04",
    );
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    ctx.has_device_key = false;
    assert!(errors(&seed_form(), &ctx).contains(&("seal".into(), "V04".into())));
}

#[test]
fn v05_trade_mode() {
    fails(|f| f.trade_mode = "smuggling".into(), "trade_mode", "V05");
}

#[test]
fn v06_contract_number() {
    fails(|f| f.contract_no = "X".repeat(18), "contract_no", "V06");
    fails(|f| f.contract_no = "A1,A2".into(), "contract_no", "V06");
}

#[test]
fn v07_customs_district() {
    fails(
        |f| f.customs_district = "9999".into(),
        "customs_district",
        "V07",
    );
    fails(
        |f| {
            f.commodity_code = "8110101000".into();
            f.customs_district = "3700".into();
        },
        "customs_district",
        "V07",
    );
}

#[test]
fn v08_country_not_a_grouping() {
    fails(|f| f.country = "EUN".into(), "country", "V08");
    fails(|f| f.country = "XXX".into(), "country", "V08");
}

#[test]
fn v09_payment_mode() {
    fails(
        |f| f.payment_mode = "barter-ish".into(),
        "payment_mode",
        "V09",
    );
}

#[test]
fn v10_transport_mode_and_frozen_warning() {
    fails(
        |f| f.transport_mode = "teleport".into(),
        "transport_mode",
        "V10",
    );
    let fx = Fixture::new();
    let mut form = seed_form();
    form.commodity_code = "0202300090".into(); // frozen beef
    form.transport_mode = "rail".into();
    form.goods[0].unit = "t".into();
    let all = check_seal(&form, &fx.ctx());
    assert!(
        all.iter()
            .any(|e| e.rule == "V10" && e.severity == Severity::Warning),
        "{all:?}"
    );
    assert!(all.iter().all(|e| e.severity == Severity::Warning));
}

#[test]
fn v11_commodity_code_in_the_years_catalogue() {
    fails(
        |f| f.commodity_code = "29181400".into(),
        "commodity_code",
        "V11",
    );
    fails(
        |f| f.commodity_code = "9999999999".into(),
        "commodity_code",
        "V11",
    );
}

#[test]
fn v14_goods_rows() {
    fails(
        |f| f.goods[0].quantity = "0".into(),
        "goods[0].quantity",
        "V14",
    );
    fails(
        |f| f.goods[0].unit_price = "1,250".into(),
        "goods[0].unit_price",
        "V14",
    );
    fails(|f| f.goods[0].unit = "kg".into(), "goods[0].unit", "V14");
    fails(|f| f.currency = "XYZ".into(), "currency", "V14");
}

#[test]
fn v15_amounts_must_be_computable() {
    fails(
        |f| {
            f.goods[0].quantity = "99999999999".into();
            f.goods[0].unit_price = "99999999999".into();
        },
        "goods[0].unit_price",
        "V15",
    );
}

#[test]
fn v16_fob() {
    fails(|f| f.price_term = "CIF".into(), "price_term", "V16");
}

#[test]
fn v17_batch_mode_and_remark() {
    fails(|f| f.batch_mode = "multi".into(), "remarks", "V17");
    fails(
        |f| {
            f.batch_mode = "multi".into();
            f.remarks = "非一批一证".into();
        },
        "batch_mode",
        "V17",
    );
    fails(|f| f.remarks = "非一批一证".into(), "remarks", "V17");
    fails(|f| f.batch_mode = "twice".into(), "batch_mode", "V17");
}

#[test]
fn v18_quota_year() {
    fails(|f| f.quota_year = "2023".into(), "quota_year", "V18");
    fails(|f| f.quota_year = "2025".into(), "remarks", "V18");
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    ctx.today = date(2024, 12, 9);
    let mut form = seed_form();
    form.quota_year = "2025".into();
    assert!(errors(&form, &ctx).contains(&("quota_year".into(), "V18".into())));
    ctx.today = date(2024, 12, 10);
    form.remarks = "本证自2025年1月1日起有效".into();
    assert_eq!(errors(&form, &ctx), vec![]);
}

#[test]
fn v20_issuing_agency_scope() {
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    ctx.agency_code = "35";
    let mut form = seed_form();
    form.commodity_code = "5201000000".into(); // cotton: 许可证局 only
    form.batch_mode = "single".into();
    assert!(errors(&form, &ctx).contains(&("commodity_code".into(), "V20".into())));
}

#[test]
fn v21_contract_table() {
    fails(
        |f| f.contract.buyer_name.clear(),
        "contract.buyer_name",
        "V21",
    );
    fails(
        |f| f.contract.contract_no = "OTHER".into(),
        "contract.contract_no",
        "V21",
    );
    fails(
        |f| f.contract.signed_on = "2024/12/02".into(),
        "contract.signed_on",
        "V21",
    );
    fails(
        |f| f.contract.buyer_country = "EUN".into(),
        "contract.buyer_country",
        "V21",
    );
}

#[test]
fn v22_at_least_one_attachment() {
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    ctx.attachment_count = 0;
    assert!(errors(&seed_form(), &ctx).contains(&("attachments".into(), "V22".into())));
}

#[test]
fn v23_required_fields() {
    fails(|f| f.exporter_name.clear(), "exporter_name", "V23");
    fails(|f| f.customs_district.clear(), "customs_district", "V23");
    fails(|f| f.goods.clear(), "goods", "V23");
    fails(|f| f.goods[0].quantity.clear(), "goods[0].quantity", "V23");
    let fx = Fixture::new();
    let errs = errors(&ApplicationForm::default(), &fx.ctx());
    assert!(errs.len() >= 15, "{errs:?}");
}

#[test]
fn v24_text_limits_are_configurable() {
    fails(|f| f.remarks = "备".repeat(501), "remarks", "V24");
    fails(
        |f| f.goods[0].spec = "x".repeat(201),
        "goods[0].spec",
        "V24",
    );
    let mut fx = Fixture::new();
    fx.limits.remarks = 10;
    let mut form = seed_form();
    form.remarks = "一二三四五六七八九十一".into();
    assert!(errors(&form, &fx.ctx()).contains(&("remarks".into(), "V24".into())));
}

#[test]
fn drafts_refuse_only_what_can_never_be_right() {
    //! Regression: 暂存 refused a mistyped quantity, year or commodity code, which it
    //! exists to keep; only a code no list offers is refused, and the typed formats wait
    //! for 保存并盖章.
    let fx = Fixture::new();
    assert_eq!(check_draft(&ApplicationForm::default(), &fx.ctx()), vec![]);
    let form = ApplicationForm {
        trade_mode: "nope".into(),
        commodity_code: "29181".into(),
        quota_year: "26".into(),
        goods: vec![GoodsLine {
            quantity: "lots".into(),
            unit_price: "1,250".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let errs: Vec<_> = check_draft(&form, &fx.ctx())
        .into_iter()
        .map(|e| (e.field, e.rule))
        .collect();
    assert_eq!(errs, vec![("trade_mode".to_string(), "V05".to_string())]);
    let sealing = errors(&form, &fx.ctx());
    for (field, rule) in [
        ("commodity_code", "V11"),
        ("quota_year", "V18"),
        ("goods[0].quantity", "V14"),
        ("goods[0].unit_price", "V14"),
    ] {
        assert!(
            sealing.contains(&(field.into(), rule.into())),
            "{field} {rule} at sealing: {sealing:?}"
        );
    }
}

#[test]
fn invisible_and_control_characters_are_refused_in_every_text_field() {
    fails(|f| f.exporter_name.push('\0'), "exporter_name", "V24");
    fails(
        |f| f.goods[0].spec = "柠檬酸\u{202E}fdp.exe".into(),
        "goods[0].spec",
        "V24",
    );
    fails(
        |f| f.contract.buyer_name.insert(3, '\u{200B}'),
        "contract.buyer_name",
        "V24",
    );
    fails(|f| f.contract_no.push('\u{2067}'), "contract_no", "V24");
    fails(|f| f.remarks = "a\u{7}b".into(), "remarks", "V24");
    fails(|f| f.exporter_name.push('\n'), "exporter_name", "V24");
    // Line breaks are text in the multi-line boxes, and a draft is refused the same way.
    let fx = Fixture::new();
    let mut form = seed_form();
    form.remarks = "分两批装运\n第一批 12 吨".into();
    assert_eq!(check_seal(&form, &fx.ctx()), vec![]);
    form.additional_info.push('\u{FEFF}');
    let draft = check_draft(&form, &fx.ctx());
    assert_eq!(draft.len(), 1, "{draft:?}");
    assert_eq!(
        (draft[0].field.as_str(), draft[0].rule.as_str()),
        ("additional_info", "V24")
    );
    assert!(draft[0].message.contains("U+FEFF"), "{}", draft[0].message);
}

#[test]
fn a_commodity_outside_every_catalogue_is_reported_once() {
    let fx = Fixture::new();
    let mut form = seed_form();
    form.commodity_code = "2918140099".into();
    let v11: Vec<_> = check_seal(&form, &fx.ctx())
        .into_iter()
        .filter(|e| e.field == "commodity_code" && e.rule == "V11")
        .collect();
    assert_eq!(v11.len(), 1, "{v11:?}");
    assert!(v11[0].message.contains("出口许可证管理货物目录"), "{v11:?}");
}
