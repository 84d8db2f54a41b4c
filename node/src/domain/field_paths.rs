//! The flat field paths of an application (`goods[0].quantity`, `contract.buyer_name`, …):
//! the names the rules report, the form screens post and the revision diff shows, and the
//! mapping between those flat `name → value` pairs and [`ApplicationForm`].

use std::collections::BTreeMap;

use exlic_client::application::ApplicationForm;
use serde_json::{Map, Value};

/// The form as flat `name → value` (nested objects with `.`, lists with `[i]`).
pub fn flatten(form: &ApplicationForm) -> BTreeMap<String, String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, v, out);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            Value::String(s) => {
                out.insert(prefix.to_owned(), s.clone());
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        "",
        &serde_json::to_value(form).expect("form serialises"),
        &mut out,
    );
    out
}

/// Most goods rows a form post may carry.
pub const MAX_GOODS: usize = 50;

/// Builds the form from posted pairs. Unknown names are ignored (the guard's `_csrf`, the
/// button's `action`); goods rows left wholly empty are dropped.
pub fn unflatten(pairs: &[(String, String)]) -> Result<ApplicationForm, String> {
    let mut top = Map::new();
    let mut contract = Map::new();
    let mut goods: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    let blank = serde_json::to_value(ApplicationForm::default()).expect("form serialises");
    for (k, v) in pairs {
        let v = Value::String(v.clone());
        if let Some(rest) = k.strip_prefix("contract.") {
            if blank["contract"].get(rest).is_some() {
                contract.insert(rest.to_owned(), v);
            }
        } else if let Some(rest) = k.strip_prefix("goods[") {
            let Some((i, col)) = rest.split_once("].") else {
                continue;
            };
            let i: usize = i.parse().map_err(|_| format!("{k}: bad row number"))?;
            if i >= MAX_GOODS {
                return Err(format!("{k}: at most {MAX_GOODS} goods rows"));
            }
            if matches!(col, "spec" | "unit" | "quantity" | "unit_price") {
                goods.entry(i).or_default().insert(col.to_owned(), v);
            }
        } else if k != "contract" && k != "goods" && blank.get(k).is_some() {
            top.insert(k.clone(), v);
        }
    }
    let rows: Vec<Value> = goods
        .into_values()
        .filter(|r| {
            r.values()
                .any(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))
        })
        .map(Value::Object)
        .collect();
    top.insert("goods".into(), Value::Array(rows));
    top.insert("contract".into(), Value::Object(contract));
    let mut merged = blank;
    merge(&mut merged, Value::Object(top));
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_then_unflatten_round_trips() {
        let mut form = ApplicationForm {
            exporter_name: "厦门 <b>".into(),
            ..Default::default()
        };
        form.contract.buyer_name = "Osaka".into();
        form.goods.push(exlic_client::application::GoodsLine {
            spec: "BP".into(),
            unit: "t".into(),
            quantity: "1.5".into(),
            unit_price: "10".into(),
        });
        let flat: Vec<(String, String)> = flatten(&form).into_iter().collect();
        assert!(flat.iter().any(|(k, _)| k == "goods[0].quantity"));
        assert!(flat.iter().any(|(k, _)| k == "contract.buyer_name"));
        assert_eq!(unflatten(&flat).unwrap(), form);
    }

    #[test]
    fn empty_rows_and_unknown_names_are_dropped() {
        let pairs = vec![
            ("_csrf".to_owned(), "x".to_owned()),
            ("goods[0].spec".to_owned(), String::new()),
            ("goods[2].spec".to_owned(), "A".to_owned()),
            ("remarks".to_owned(), "r".to_owned()),
        ];
        let f = unflatten(&pairs).unwrap();
        assert_eq!(f.goods.len(), 1);
        assert_eq!(f.goods[0].spec, "A");
        assert_eq!(f.remarks, "r");
        assert!(unflatten(&[("goods[99].spec".into(), "x".into())]).is_err());
    }
}
