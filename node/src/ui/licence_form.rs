//! The e-licence as the printed 中华人民共和国出口许可证: boxes 1–21 in the paper form's
//! order under the form's own bilingual labels, with values in the reader's language. The
//! page (`licence_form.html`) and the PDF (`licence_pdf`) both draw this one description.

use exlic_client::licence::Licence;
use serde::Serialize;

/// The form's title, as printed.
pub const TITLE: (&str, &str) = (
    "中华人民共和国出口许可证",
    "EXPORT LICENCE OF THE PEOPLE'S REPUBLIC OF CHINA",
);

/// One box: its number, the printed Chinese and English labels, and its value's lines.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The box number (`"11"`), empty for an unnumbered part of a box.
    pub no: &'static str,
    /// The Chinese label.
    pub zh: String,
    /// The English label.
    pub en: String,
    /// The value, one entry per printed line.
    pub lines: Vec<String>,
}

fn cell(no: &'static str, zh: &str, en: &str, lines: Vec<String>) -> Cell {
    Cell {
        no,
        zh: zh.to_owned(),
        en: en.to_owned(),
        lines,
    }
}

/// The whole form, top to bottom.
#[derive(Debug, Clone, Serialize)]
pub struct Form {
    /// The form's title, Chinese and English.
    pub title: (&'static str, &'static str),
    /// Boxes side by side: 1|3, 2|4, 5|8, 6|9, 7|10, 11 (name | code).
    pub pairs: Vec<[Cell; 2]>,
    /// The headings of the goods columns, boxes 12–17 (the currency in 15 and 16).
    pub goods_head: Vec<Cell>,
    /// The goods rows: 规格, 单位, 数量, 单价, 总值, 总值折美元.
    pub goods: Vec<[String; 6]>,
    /// Box 18: the totals under 16 and 17.
    pub total: Cell,
    /// Box 18's two values: in the licence's currency and in US dollars.
    pub total_values: [String; 2],
    /// Box 19, 备注.
    pub remarks: Cell,
    /// Box 20, the issuing authority's seal: its name and the signing key id.
    pub seal: Cell,
    /// Box 21, 发证日期.
    pub issue_date: Cell,
    /// Facts printed under the form (申请表号, 配额年度, uses), label and value.
    pub notes: Vec<(String, String)>,
}

/// `20261231` as `2026-12-31`; anything else unchanged.
pub fn date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_owned()
    }
}

/// The commodity's name in the reader's language: the catalogue's English name when `en`,
/// else the name the licence carries.
pub fn commodity_name(l: &Licence, en: bool) -> String {
    super::forms::commodity_name(&l.commodity[0], &l.commodity[1], en)
}

/// Lays licence `l` out as the paper form; `t` translates catalogue keys in the reader's
/// language, `en` picks the names of codes.
pub fn form(l: &Licence, en: bool, t: &dyn Fn(&str) -> String) -> Form {
    let opts = super::forms::options(super::forms::EMBEDDED.data());
    let n = |list: &str, code: &str| vec![super::forms::name_of(&opts, list, code, en)];
    let party = |p: &[String; 3]| {
        vec![
            p[0].clone(),
            format!("{} {}", t("lic.code"), p[1]),
            format!("{} {}", t("lic.uscc"), p[2]),
        ]
    };
    // The Chinese label names the currency in Chinese, the English one by its code.
    let cur = super::forms::name_of(&opts, "currencies", &l.currency, false);
    let cur_en = super::forms::name_of(&opts, "currencies", &l.currency, true);
    let one = |v: &str| vec![v.to_owned()];
    Form {
        title: TITLE,
        pairs: vec![
            [
                cell("1", "出口商", "Exporter", party(&l.exporter)),
                cell(
                    "3",
                    "出口许可证号",
                    "Export licence No.",
                    one(&l.licence_no),
                ),
            ],
            [
                cell("2", "发货人", "Consignor", party(&l.consignor)),
                cell(
                    "4",
                    "出口许可证有效截止日期",
                    "Export licence expiry date",
                    one(&date(&l.expiry)),
                ),
            ],
            [
                cell(
                    "5",
                    "贸易方式",
                    "Terms of trade",
                    n("trade_modes", &l.trade_mode),
                ),
                cell(
                    "8",
                    "进口国（地区）",
                    "Country/Region of purchase",
                    n("countries", &l.country),
                ),
            ],
            [
                cell("6", "合同号", "Contract No.", one(&l.contract_no)),
                cell(
                    "9",
                    "付款方式",
                    "Payment conditions",
                    n("payment_modes", &l.payment_mode),
                ),
            ],
            [
                cell(
                    "7",
                    "报关口岸",
                    "Place of clearance",
                    n("customs_districts", &l.customs_district),
                ),
                cell(
                    "10",
                    "运输方式",
                    "Mode of transport",
                    n("transport_modes", &l.transport_mode),
                ),
            ],
            [
                cell(
                    "11",
                    "商品名称",
                    "Description of goods",
                    vec![commodity_name(l, en)],
                ),
                cell("", "商品编码", "Code of goods", one(&l.commodity[0])),
            ],
        ],
        goods_head: vec![
            cell("12", "规格、等级", "Specification", Vec::new()),
            cell("13", "单位", "Unit", Vec::new()),
            cell("14", "数量", "Quantity", Vec::new()),
            cell(
                "15",
                &format!("单价（{cur}）"),
                &format!("Unit price ({cur_en})"),
                Vec::new(),
            ),
            cell(
                "16",
                &format!("总值（{cur}）"),
                &format!("Amount ({cur_en})"),
                Vec::new(),
            ),
            cell("17", "总值折美元", "Amount in USD", Vec::new()),
        ],
        goods: l
            .lines
            .iter()
            .map(|g| {
                [
                    g.spec.clone(),
                    super::forms::name_of(&opts, "units", &g.unit, en),
                    g.quantity.clone(),
                    g.unit_price.clone(),
                    g.amount.clone(),
                    g.amount_usd.clone(),
                ]
            })
            .collect(),
        total: cell("18", "总计", "Total", Vec::new()),
        total_values: [l.total[0].clone(), l.total[1].clone()],
        remarks: cell(
            "19",
            "备注",
            "Supplementary details",
            l.remarks.lines().map(str::to_owned).collect(),
        ),
        seal: cell(
            "20",
            "发证机关签章",
            "Issuing authority's stamp & signature",
            vec![
                l.agency[1].clone(),
                format!("{} {}", t("lic.key_id"), hex::encode(l.key_id)),
            ],
        ),
        issue_date: cell("21", "发证日期", "Licence date", one(&date(&l.issue_date))),
        notes: vec![
            (t("field.application_no"), l.application_no.clone()),
            (t("field.quota_year"), l.quota_year.to_string()),
            (t("lic.max_uses"), l.max_uses.to_string()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_come_in_the_paper_forms_order_with_names_not_codes() {
        let l = exlic_client::sample::licence();
        let f = form(&l, false, &|k| format!("<{k}>"));
        let numbers: Vec<&str> = f
            .pairs
            .iter()
            .flat_map(|p| p.iter().map(|c| c.no))
            .chain(f.goods_head.iter().map(|c| c.no))
            .chain([f.total.no, f.remarks.no, f.seal.no, f.issue_date.no])
            .filter(|n| !n.is_empty())
            .collect();
        assert_eq!(
            numbers,
            [
                "1", "3", "2", "4", "5", "8", "6", "9", "7", "10", "11", "12", "13", "14", "15",
                "16", "17", "18", "19", "20", "21"
            ]
        );
        assert_eq!(f.pairs[2][0].lines, ["一般贸易"], "a name, not `general`");
        assert!(f.goods_head[3].zh.contains("美元"), "{:?}", f.goods_head[3]);
        assert_eq!(f.goods[0][1], "吨", "the unit by name");
        assert_eq!(f.pairs[1][1].lines, [date(&l.expiry)]);
        assert!(f.pairs[1][1].lines[0].contains('-'));
        let en = form(&l, true, &|k| k.to_owned());
        assert_eq!(en.pairs[2][0].lines, ["General trade"]);
        assert!(
            en.goods_head[3].en.contains("USD"),
            "{:?}",
            en.goods_head[3]
        );
    }

    #[test]
    fn dates_read_as_dates() {
        assert_eq!(date("20261231"), "2026-12-31");
        assert_eq!(date("2026-12-31"), "2026-12-31");
        assert_eq!(date(""), "");
    }
}
