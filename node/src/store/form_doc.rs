//! How an application lives inside its Automerge document.
//!
//! ```text
//! { "type": "application", "v": 1, "created_at_ms": i64, "deleted": bool,
//!   "form": { …ApplicationForm fields as strings…, "goods": [ {…} ], "contract": {…} },
//!   "attachments": [ { "sha256", "name", "size", "media_type" } ] }
//! ```
//!
//! Writes go through `reconcile`: only values that differ become operations, so two
//! devices editing different fields merge cleanly and an unchanged save adds nothing.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutoSerde, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use exlic_client::application::ApplicationForm;
use exlic_client::attachment::AttachmentRef;
use serde_json::Value as Json;

/// The document's `type` value for applications.
pub const TYPE_APPLICATION: &str = "application";

/// Sets up a new application document.
pub fn init(
    doc: &mut AutoCommit,
    created_at_ms: i64,
    form: &ApplicationForm,
) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "type", TYPE_APPLICATION)?;
    doc.put(ROOT, "v", 1i64)?;
    doc.put(ROOT, "created_at_ms", created_at_ms)?;
    doc.put(ROOT, "deleted", false)?;
    doc.put_object(ROOT, "attachments", ObjType::List)?;
    write_form(doc, form)
}

/// Writes `form` into the document, changing only what differs.
pub fn write_form(
    doc: &mut AutoCommit,
    form: &ApplicationForm,
) -> Result<(), automerge::AutomergeError> {
    let value = serde_json::to_value(form).expect("form serialises");
    let obj = map_child(doc, &ROOT, "form")?;
    reconcile_map(doc, &obj, value.as_object().expect("form is an object"))
}

/// Reads the form, keeping only the fields this version knows.
pub fn read_form(doc: &AutoCommit) -> ApplicationForm {
    let root = serde_json::to_value(AutoSerde::from(doc)).unwrap_or(Json::Null);
    form_from_json(root.get("form"))
}

/// Reads the form as it was at `heads`.
pub fn read_form_at(
    doc: &mut AutoCommit,
    heads: &[automerge::ChangeHash],
) -> Result<ApplicationForm, automerge::AutomergeError> {
    let (mut now, mut then) = (doc.get_heads(), heads.to_vec());
    now.sort();
    then.sort();
    if now == then {
        return Ok(read_form(doc)); // the usual case, without replaying history into a fork
    }
    let old = doc.fork_at(heads)?;
    Ok(read_form(&old))
}

fn form_from_json(v: Option<&Json>) -> ApplicationForm {
    let known = serde_json::to_value(ApplicationForm::default()).expect("serialises");
    let filtered = v.map(|v| filter_known(v, &known)).unwrap_or(Json::Null);
    serde_json::from_value(filtered).unwrap_or_default()
}

/// Drops keys the template does not have, recursively (list elements use the template's
/// element shape, taken from a default goods line).
fn filter_known(v: &Json, template: &Json) -> Json {
    match (v, template) {
        (Json::Object(m), Json::Object(t)) => Json::Object(
            m.iter()
                .filter_map(|(k, v)| {
                    let tv = t.get(k)?;
                    Some((k.clone(), filter_known(v, tv)))
                })
                .collect(),
        ),
        (Json::Array(items), Json::Array(_)) => {
            let line = serde_json::to_value(exlic_client::application::GoodsLine::default())
                .expect("serialises");
            Json::Array(items.iter().map(|i| filter_known(i, &line)).collect())
        }
        (Json::String(_), Json::String(_)) => v.clone(),
        (_, Json::String(_)) => Json::String(String::new()),
        _ => v.clone(),
    }
}

/// A field of the form that holds more than one value: two devices set it while apart.
/// Each value comes with the actor (device) that wrote it; the first is the one
/// [`read_form`] shows.
pub type Conflict = (String, Vec<(String, automerge::ActorId)>);

/// Every field of the form in conflict, by its path (`contract_no`, `contract.buyer_name`,
/// `goods[0].quantity`).
pub fn conflicts(doc: &AutoCommit) -> Vec<Conflict> {
    let mut out = Vec::new();
    if let Ok(Some((Value::Object(ObjType::Map), form))) = doc.get(ROOT, "form") {
        scan_conflicts(doc, &form, "", &mut out);
    }
    out
}

fn scan_conflicts(doc: &AutoCommit, obj: &ObjId, prefix: &str, out: &mut Vec<Conflict>) {
    for key in doc.keys(obj) {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let all = doc.get_all(obj, key.as_str()).unwrap_or_default();
        match all.as_slice() {
            [(Value::Object(ObjType::Map), child)] => scan_conflicts(doc, child, &path, out),
            [(Value::Object(ObjType::List), list)] => {
                for i in 0..doc.length(list) {
                    if let Ok(Some((Value::Object(ObjType::Map), item))) = doc.get(list, i) {
                        scan_conflicts(doc, &item, &format!("{path}[{i}]"), out);
                    }
                }
            }
            [_, _, ..] => {
                // The value `get` returns (the one shown) first.
                let shown = doc.get(obj, key.as_str()).ok().flatten().map(|(_, id)| id);
                let mut all = all.clone();
                if let Some(i) = all.iter().position(|(_, id)| Some(id) == shown.as_ref()) {
                    all[..=i].rotate_right(1);
                }
                let values: Vec<(String, automerge::ActorId)> = all
                    .iter()
                    .filter_map(|(v, id)| match (v, id) {
                        (Value::Scalar(s), automerge::ObjId::Id(_, actor, _)) => {
                            Some((scalar_text(s), actor.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                // Two devices that typed the same value do not disagree.
                let mut distinct: Vec<&String> = values.iter().map(|(v, _)| v).collect();
                distinct.sort();
                distinct.dedup();
                if distinct.len() > 1 {
                    out.push((path, values));
                }
            }
            _ => {}
        }
    }
}

fn scalar_text(s: &ScalarValue) -> String {
    match s {
        ScalarValue::Str(t) => t.to_string(),
        other => other.to_string(),
    }
}

/// Keeps `value` for the field at `path` (as [`conflicts`] names it): one new write that
/// supersedes every value the devices wrote, even when it equals the one shown.
pub fn resolve(
    doc: &mut AutoCommit,
    path: &str,
    value: &str,
) -> Result<(), automerge::AutomergeError> {
    let Ok(Some((Value::Object(_), mut obj))) = doc.get(ROOT, "form") else {
        return Ok(());
    };
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if parts.peek().is_none() && index.is_none() {
            doc.put(&obj, key, value)?;
            return Ok(());
        }
        let Ok(Some((Value::Object(_), child))) = doc.get(&obj, key) else {
            return Ok(());
        };
        obj = match index {
            Some(i) => match doc.get(&child, i) {
                Ok(Some((Value::Object(_), item))) => item,
                _ => return Ok(()),
            },
            None => child,
        };
    }
    Ok(())
}

/// The attachment list.
pub fn attachments(doc: &AutoCommit) -> Vec<AttachmentRef> {
    let root = serde_json::to_value(AutoSerde::from(doc)).unwrap_or(Json::Null);
    root.get("attachments")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default()
}

/// Appends an attachment (no-op if one with the same hash is there).
pub fn add_attachment(
    doc: &mut AutoCommit,
    a: &AttachmentRef,
) -> Result<bool, automerge::AutomergeError> {
    if attachments(doc).iter().any(|x| x.sha256 == a.sha256) {
        return Ok(false);
    }
    let list = list_child(doc, &ROOT, "attachments")?;
    let at = doc.length(&list);
    let obj = doc.insert_object(&list, at, ObjType::Map)?;
    doc.put(&obj, "sha256", a.sha256.as_str())?;
    doc.put(&obj, "name", a.name.as_str())?;
    doc.put(&obj, "size", a.size)?;
    doc.put(&obj, "media_type", a.media_type.as_str())?;
    Ok(true)
}

/// Removes the attachment with this hash; false if there was none.
pub fn remove_attachment(
    doc: &mut AutoCommit,
    sha256: &str,
) -> Result<bool, automerge::AutomergeError> {
    let Some(pos) = attachments(doc).iter().position(|x| x.sha256 == sha256) else {
        return Ok(false);
    };
    let list = list_child(doc, &ROOT, "attachments")?;
    doc.delete(&list, pos)?;
    Ok(true)
}

/// Marks the document deleted (a tombstone that syncs like any change).
pub fn mark_deleted(doc: &mut AutoCommit) -> Result<(), automerge::AutomergeError> {
    doc.put(ROOT, "deleted", true)
}

/// Whether the document is an application.
pub fn is_application(doc: &AutoCommit) -> bool {
    matches!(doc.get(ROOT, "type"), Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Str(t) if t.as_str() == TYPE_APPLICATION))
}

/// Whether the document is a deleted draft.
pub fn is_deleted(doc: &AutoCommit) -> bool {
    matches!(doc.get(ROOT, "deleted"), Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
}

/// `created_at_ms` of the document.
pub fn created_at_ms(doc: &AutoCommit) -> i64 {
    match doc.get(ROOT, "created_at_ms") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            ScalarValue::Uint(u) => *u as i64,
            _ => 0,
        },
        _ => 0,
    }
}

fn map_child(
    doc: &mut AutoCommit,
    parent: &ObjId,
    key: &str,
) -> Result<ObjId, automerge::AutomergeError> {
    match doc.get(parent, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => doc.put_object(parent, key, ObjType::Map),
    }
}

fn list_child(
    doc: &mut AutoCommit,
    parent: &ObjId,
    key: &str,
) -> Result<ObjId, automerge::AutomergeError> {
    match doc.get(parent, key)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => doc.put_object(parent, key, ObjType::List),
    }
}

fn scalar_eq(current: Option<(Value<'_>, ObjId)>, s: &str) -> bool {
    matches!(current, Some((Value::Scalar(v), _)) if matches!(v.as_ref(), ScalarValue::Str(x) if x.as_str() == s))
}

fn reconcile_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    value: &serde_json::Map<String, Json>,
) -> Result<(), automerge::AutomergeError> {
    for (k, v) in value {
        match v {
            Json::String(s) => {
                if !scalar_eq(doc.get(obj, k.as_str())?, s) {
                    doc.put(obj, k.as_str(), s.as_str())?;
                }
            }
            Json::Object(m) => {
                let child = map_child(doc, obj, k)?;
                reconcile_map(doc, &child, m)?;
            }
            Json::Array(items) => {
                let child = list_child(doc, obj, k)?;
                reconcile_list(doc, &child, items)?;
            }
            other => unreachable!("forms hold strings, objects and lists only, got {other}"),
        }
    }
    Ok(())
}

fn reconcile_list(
    doc: &mut AutoCommit,
    list: &ObjId,
    items: &[Json],
) -> Result<(), automerge::AutomergeError> {
    let len = doc.length(list);
    for (i, item) in items.iter().enumerate() {
        let Json::Object(m) = item else {
            unreachable!("lists in forms hold objects")
        };
        let child = if i < len {
            match doc.get(list, i)? {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => {
                    doc.delete(list, i)?;
                    doc.insert_object(list, i, ObjType::Map)?
                }
            }
        } else {
            doc.insert_object(list, i, ObjType::Map)?
        };
        reconcile_map(doc, &child, m)?;
    }
    for i in (items.len()..len).rev() {
        doc.delete(list, i)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exlic_client::application::GoodsLine;

    #[test]
    fn values_set_apart_are_conflicts_until_one_is_kept() {
        let base_form = ApplicationForm {
            contract_no: "X-0".into(),
            goods: vec![GoodsLine {
                quantity: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut a = AutoCommit::new().with_actor(automerge::ActorId::from(&[1u8; 16][..]));
        init(&mut a, 0, &base_form).unwrap();
        let mut b = a
            .fork()
            .with_actor(automerge::ActorId::from(&[2u8; 16][..]));
        let mut fa = base_form.clone();
        fa.contract_no = "X-A".into();
        fa.goods[0].quantity = "2".into();
        fa.remarks = "same".into();
        write_form(&mut a, &fa).unwrap();
        let mut fb = base_form.clone();
        fb.contract_no = "X-B".into();
        fb.goods[0].quantity = "3".into();
        fb.remarks = "same".into();
        write_form(&mut b, &fb).unwrap();
        a.merge(&mut b).unwrap();
        let found = conflicts(&a);
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        // The same value typed on both devices is no disagreement.
        assert_eq!(fields, ["contract_no", "goods[0].quantity"], "{found:?}");
        let values: Vec<&str> = found[0].1.iter().map(|(v, _)| v.as_str()).collect();
        assert!(
            values.contains(&"X-A") && values.contains(&"X-B"),
            "{values:?}"
        );
        let shown = read_form(&a).contract_no;
        assert_eq!(found[0].1[0].0, shown, "the first value is the one shown");

        // Keeping the value already shown still settles it: a write supersedes both.
        resolve(&mut a, "contract_no", &shown).unwrap();
        resolve(&mut a, "goods[0].quantity", "3").unwrap();
        assert!(conflicts(&a).is_empty(), "{:?}", conflicts(&a));
        assert_eq!(read_form(&a).goods[0].quantity, "3");
        b.merge(&mut a).unwrap();
        assert!(conflicts(&b).is_empty());
        assert_eq!(read_form(&b).contract_no, shown);
    }

    #[test]
    fn forms_round_trip_and_unchanged_saves_add_nothing() {
        let mut doc = AutoCommit::new();
        let mut form = ApplicationForm {
            exporter_name: "甲".into(),
            goods: vec![GoodsLine {
                quantity: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        init(&mut doc, 5, &form).unwrap();
        doc.commit();
        assert_eq!(read_form(&doc), form);
        assert_eq!(created_at_ms(&doc), 5);
        let heads = doc.get_heads();
        write_form(&mut doc, &form).unwrap();
        assert!(doc.commit().is_none(), "no-op write made a change");
        form.goods.push(GoodsLine::default());
        form.contract.buyer_name = "乙".into();
        write_form(&mut doc, &form).unwrap();
        doc.commit();
        assert_eq!(read_form(&doc), form);
        form.goods.clear();
        write_form(&mut doc, &form).unwrap();
        assert_eq!(read_form(&doc), form);
        assert_eq!(read_form_at(&mut doc, &heads).unwrap().goods.len(), 1);
    }

    #[test]
    fn concurrent_edits_of_different_fields_merge() {
        let mut a = AutoCommit::new();
        init(&mut a, 0, &ApplicationForm::default()).unwrap();
        a.commit();
        let mut b = a.fork();
        let mut fa = read_form(&a);
        fa.remarks = "from a".into();
        write_form(&mut a, &fa).unwrap();
        let mut fb = read_form(&b);
        fb.contract_no = "B-1".into();
        write_form(&mut b, &fb).unwrap();
        a.merge(&mut b).unwrap();
        let merged = read_form(&a);
        assert_eq!(
            (merged.remarks.as_str(), merged.contract_no.as_str()),
            ("from a", "B-1")
        );
    }

    #[test]
    fn attachments_add_and_remove() {
        let mut doc = AutoCommit::new();
        init(&mut doc, 0, &ApplicationForm::default()).unwrap();
        let a = AttachmentRef {
            sha256: "ab".repeat(32),
            name: "合同.pdf".into(),
            size: 3,
            media_type: "application/pdf".into(),
        };
        assert!(add_attachment(&mut doc, &a).unwrap());
        assert!(!add_attachment(&mut doc, &a).unwrap());
        assert_eq!(attachments(&doc), vec![a.clone()]);
        assert!(remove_attachment(&mut doc, &a.sha256).unwrap());
        assert!(attachments(&doc).is_empty());
    }
}
