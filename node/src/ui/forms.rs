//! The application form on screen: its field groups (as on the paper form), the select
//! options from the reference data, and the mapping between flat `name=value` form posts
//! and [`ApplicationForm`] (`goods[0].quantity`, `contract.buyer_name`, …), which are the
//! same names the validation rules report, so each error lands beside its field.

use std::collections::BTreeMap;

use exlic_client::application::ApplicationForm;
use exlic_client::reference::ReferenceData;
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::field_paths::flatten;

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The form name (also the rule engine's field name).
    pub name: &'static str,
    /// Catalogue key of the label.
    pub label: String,
    /// `text`, `select`, `date` or `textarea`.
    pub kind: &'static str,
    /// For selects: which option list.
    pub options: &'static str,
    /// Marked ★.
    pub required: bool,
    /// Spans the whole row.
    pub wide: bool,
    /// A datalist id.
    pub list: &'static str,
    /// The mobile keyboard hint.
    pub inputmode: &'static str,
}

/// A fieldset.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Catalogue key of the legend.
    pub legend: &'static str,
    /// Its fields.
    pub fields: Vec<Field>,
    /// Whether the goods table follows this group.
    pub goods_after: bool,
}

fn f(name: &'static str, kind: &'static str, options: &'static str, required: bool) -> Field {
    let label = format!("field.{}", name.replace("contract.", "contract_"));
    Field {
        name,
        label,
        kind,
        options,
        required,
        wide: kind == "textarea",
        list: if name == "commodity_code" {
            "commodities"
        } else {
            ""
        },
        inputmode: match name {
            "exporter_code" | "consignor_code" | "commodity_code" | "quota_year" => "numeric",
            "contract.total_amount" => "decimal",
            _ => "",
        },
    }
}

/// The groups of the 出口许可证申请表 and its 合同信息表, in paper order.
pub fn groups() -> Vec<Group> {
    vec![
        Group {
            legend: "group.parties",
            fields: vec![
                f("exporter_name", "text", "", true),
                f("exporter_code", "text", "", true),
                f("exporter_uscc", "text", "", true),
                f("consignor_name", "text", "", true),
                f("consignor_code", "text", "", true),
                f("consignor_uscc", "text", "", true),
            ],
            goods_after: false,
        },
        Group {
            legend: "group.trade",
            fields: vec![
                f("trade_mode", "select", "trade_modes", true),
                f("contract_no", "text", "", true),
                f("customs_district", "select", "customs_districts", true),
                f("country", "select", "countries", true),
                f("payment_mode", "select", "payment_modes", true),
                f("transport_mode", "select", "transport_modes", true),
            ],
            goods_after: false,
        },
        Group {
            legend: "group.goods",
            fields: vec![
                f("commodity_code", "text", "", true),
                f("currency", "select", "currencies", true),
                f("price_term", "select", "price_terms", true),
                f("quota_year", "text", "", true),
                f("batch_mode", "select", "batch_modes", true),
            ],
            goods_after: true,
        },
        Group {
            legend: "group.remarks",
            fields: vec![
                f("remarks", "textarea", "", false),
                f("additional_info", "textarea", "", false),
            ],
            goods_after: false,
        },
        Group {
            legend: "group.contract",
            fields: vec![
                f("contract.contract_no", "text", "", false),
                f("contract.signed_on", "date", "", false),
                f("contract.signed_at", "text", "", false),
                f("contract.buyer_name", "text", "", false),
                f("contract.buyer_address", "text", "", false),
                f("contract.buyer_country", "select", "countries", false),
                f("contract.total_amount", "text", "", false),
                f("contract.currency", "select", "currencies", false),
                f("contract.delivery_by", "date", "", false),
                f("contract.notes", "textarea", "", false),
            ],
            goods_after: false,
        },
    ]
}

/// The option lists the selects use, by name.
pub fn options(r: &ReferenceData) -> Value {
    let cn = |v: &[exlic_client::reference::CodeName]| {
        v.iter()
            .map(|c| json!({"code": c.code, "name": c.name, "name_en": c.name_en}))
            .collect::<Vec<_>>()
    };
    let mut commodities: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for c in &r.catalogues {
        for e in &c.entries {
            let en = if e.name_en.is_empty() {
                &e.name
            } else {
                &e.name_en
            };
            commodities.insert(&e.code, (&e.name, en));
        }
    }
    json!({
        "trade_modes": cn(&r.trade_modes),
        "payment_modes": cn(&r.payment_modes),
        "transport_modes": cn(&r.transport_modes),
        "customs_districts": cn(&r.customs_districts),
        "units": cn(&r.units),
        "countries": r.countries.iter().filter(|c| !c.grouping)
            .map(|c| json!({"code": c.code, "name": c.name, "name_en": c.name_en})).collect::<Vec<_>>(),
        "currencies": r.currencies.iter()
            .map(|c| json!({"code": c.code, "name": c.name, "name_en": c.code})).collect::<Vec<_>>(),
        "price_terms": [{"code": "FOB", "name": "FOB", "name_en": "FOB"}],
        "batch_modes": [
            {"code": "single", "name": "一批一证", "name_en": "single shipment"},
            {"code": "multi", "name": "非一批一证", "name_en": "up to 12 shipments"}
        ],
        "commodities": commodities.into_iter().map(|(code, (name, name_en))| json!({"code": code, "name": name, "name_en": name_en})).collect::<Vec<_>>(),
    })
}

/// The embedded reference data, parsed once: names for codes on screens that have no
/// configured reference of their own (the authority's).
pub static EMBEDDED: std::sync::LazyLock<crate::domain::reference::Reference> =
    std::sync::LazyLock::new(crate::domain::reference::Reference::embedded);

/// A commodity's name in the page's language: the catalogue's English name for `code`
/// when `en` (any year's catalogue), else `name` (the Chinese name a record carries).
pub fn commodity_name(code: &str, name: &str, en: bool) -> String {
    if !en {
        return name.to_owned();
    }
    EMBEDDED
        .data()
        .catalogues
        .iter()
        .flat_map(|c| &c.entries)
        .find(|e| e.code == code && !e.name_en.is_empty())
        .map_or_else(|| name.to_owned(), |e| e.name_en.clone())
}

/// A code as people read it, by its name in the page's language (`一般贸易`, `General
/// trade`): codes never reach the page; unknown codes stay as they are.
pub fn name_of(options: &Value, list: &str, code: &str, en: bool) -> String {
    options[list]
        .as_array()
        .and_then(|l| l.iter().find(|o| o["code"] == code))
        .and_then(|o| {
            let name = if en { &o["name_en"] } else { &o["name"] };
            name.as_str()
                .filter(|n| !n.is_empty())
                .or(o["name"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| code.to_owned())
}

/// The name of `code` in a reference list, in the page's language (the code itself when
/// the list does not have it).
pub fn code_name(list: &[exlic_client::reference::CodeName], code: &str, en: bool) -> String {
    list.iter()
        .find(|c| c.code == code)
        .map(|c| match en && !c.name_en.is_empty() {
            true => c.name_en.clone(),
            false => c.name.clone(),
        })
        .unwrap_or_else(|| code.to_owned())
}

/// The flat values for reading (not editing): select codes shown with their names.
pub fn display(form: &ApplicationForm, r: &ReferenceData, en: bool) -> BTreeMap<String, String> {
    let opts = options(r);
    let mut values = flatten(form);
    for g in groups() {
        for f in g.fields.iter().filter(|f| f.kind == "select") {
            if let Some(v) = values.get_mut(f.name) {
                *v = name_of(&opts, f.options, v, en);
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_shown_by_name_only() {
        //! Regression: `一般贸易 (general)`, `信用证 (lc)` and `t` reached the page.
        let opts = options(EMBEDDED.data());
        assert_eq!(name_of(&opts, "trade_modes", "general", false), "一般贸易");
        assert_eq!(name_of(&opts, "payment_modes", "lc", false), "信用证");
        assert_eq!(name_of(&opts, "units", "t", false), "吨");
        assert_eq!(name_of(&opts, "currencies", "USD", false), "美元");
        assert_eq!(name_of(&opts, "currencies", "USD", true), "USD");
        assert_eq!(
            name_of(&opts, "trade_modes", "no-such-code", false),
            "no-such-code"
        );
    }

    #[test]
    fn every_field_of_the_form_is_on_screen() {
        let names: Vec<&str> = groups()
            .iter()
            .flat_map(|g| g.fields.iter().map(|f| f.name))
            .collect();
        for k in flatten(&ApplicationForm::default()).keys() {
            assert!(names.contains(&k.as_str()), "{k} has no input");
        }
    }
}
