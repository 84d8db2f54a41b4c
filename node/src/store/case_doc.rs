//! The case document: the authority's record of one submitted application, written only by
//! the authority and synced to the enterprise that owns the application.
//!
//! ```text
//! { "type": "case", "application": hex id, "status": code, "revision": int,
//!   "reason": str, "licence_no": str, "licence": bytes, "events": [ "ms|what|detail" ],
//!   "licence_proof": bytes (its inclusion proof, `exlic_client::translog`),
//!   "licence_state": "" | "deleted" | "written_off",
//!   "standing": bytes (the office's signed statement, `exlic/standing/v1`),
//!   "usage": str (the licence's usage at customs, JSON `exlic_client::usage::UsageView`),
//!   "requests": { request doc id hex: "approved|reason" | "rejected|reason" } }
//! ```

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use exlic_client::DocId;
use exlic_client::status::ApplicationStatus;

/// The `type` of case documents.
pub const TYPE_CASE: &str = "case";

/// The case document's id for an application: derived, so both sides agree.
pub fn case_id(application: DocId) -> DocId {
    let h =
        exlic_client::seal::sha256(&[b"exlic/case/".as_slice(), application.as_bytes()].concat());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[..16]);
    DocId(id)
}

/// What a case says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The application.
    pub application: DocId,
    /// Its status at the authority.
    pub status: ApplicationStatus,
    /// The revision under review.
    pub revision: u32,
    /// The reason of the last decision, if any.
    pub reason: String,
    /// 许可证号 once issued.
    pub licence_no: String,
    /// The signed licence once issued.
    pub licence: Vec<u8>,
    /// Its proof of inclusion in the office's transparency log, to the checkpoint the
    /// office signed when it issued it (`exlic_client::translog::InclusionProof`).
    pub licence_proof: Vec<u8>,
    /// The licence's standing after 删证/核销 (`deleted`, `written_off`; empty: valid).
    pub licence_state: String,
    /// The office's newest signed standing statement of the licence (empty: unchanged).
    pub standing: Vec<u8>,
    /// Decisions on 删证/核销 requests about this licence: (request id, `approved` or
    /// `rejected`, reason).
    pub requests: Vec<(String, String, String)>,
    /// The licence's usage at customs (JSON `UsageView`; empty: unchanged or none).
    pub usage: String,
}

fn str_of(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn bytes_of(doc: &AutoCommit, key: &str) -> Vec<u8> {
    match doc.get(ROOT, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => b.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Whether the document is a case.
pub fn is_case(doc: &AutoCommit) -> bool {
    str_of(doc, "type").as_deref() == Some(TYPE_CASE)
}

/// Writes the case (only changed values become operations) and appends an event.
pub fn write(doc: &mut AutoCommit, c: &Case, event: &str) -> Result<(), automerge::AutomergeError> {
    let set = |doc: &mut AutoCommit, k: &str, v: &str| -> Result<(), automerge::AutomergeError> {
        if str_of(doc, k).as_deref() != Some(v) {
            doc.put(ROOT, k, v)?;
        }
        Ok(())
    };
    set(doc, "type", TYPE_CASE)?;
    set(doc, "application", &c.application.to_string())?;
    set(doc, "status", c.status.code())?;
    doc.put(ROOT, "revision", i64::from(c.revision))?;
    set(doc, "reason", &c.reason)?;
    set(doc, "licence_no", &c.licence_no)?;
    if !c.licence.is_empty() {
        doc.put(ROOT, "licence", ScalarValue::Bytes(c.licence.clone()))?;
    }
    if !c.licence_proof.is_empty() {
        doc.put(
            ROOT,
            "licence_proof",
            ScalarValue::Bytes(c.licence_proof.clone()),
        )?;
    }
    if !c.licence_state.is_empty() {
        set(doc, "licence_state", &c.licence_state)?;
    }
    if !c.standing.is_empty() && bytes_of(doc, "standing") != c.standing {
        doc.put(ROOT, "standing", ScalarValue::Bytes(c.standing.clone()))?;
    }
    if !c.usage.is_empty() {
        set(doc, "usage", &c.usage)?;
    }
    if !c.requests.is_empty() {
        let map = match doc.get(ROOT, "requests")? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => doc.put_object(ROOT, "requests", ObjType::Map)?,
        };
        for (id, outcome, reason) in &c.requests {
            let v = format!("{outcome}|{reason}");
            let same = matches!(doc.get(&map, id.as_str())?, Some((Value::Scalar(s), _))
                if matches!(s.as_ref(), ScalarValue::Str(t) if t.as_str() == v));
            if !same {
                doc.put(&map, id.as_str(), v)?;
            }
        }
    }
    let events = match doc.get(ROOT, "events")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => doc.put_object(ROOT, "events", ObjType::List)?,
    };
    let n = doc.length(&events);
    doc.insert(&events, n, event)?;
    Ok(())
}

/// Reads a case document.
pub fn read(doc: &AutoCommit) -> Option<Case> {
    if !is_case(doc) {
        return None;
    }
    let revision = match doc.get(ROOT, "revision").ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Int(i) => u32::try_from(*i).ok()?,
            ScalarValue::Uint(u) => u32::try_from(*u).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    let licence = bytes_of(doc, "licence");
    Some(Case {
        application: str_of(doc, "application")?.parse().ok()?,
        status: ApplicationStatus::from_code(&str_of(doc, "status")?)?,
        revision,
        reason: str_of(doc, "reason").unwrap_or_default(),
        licence_no: str_of(doc, "licence_no").unwrap_or_default(),
        licence,
        licence_proof: bytes_of(doc, "licence_proof"),
        licence_state: str_of(doc, "licence_state").unwrap_or_default(),
        standing: bytes_of(doc, "standing"),
        requests: read_requests(doc),
        usage: str_of(doc, "usage").unwrap_or_default(),
    })
}

fn read_requests(doc: &AutoCommit) -> Vec<(String, String, String)> {
    let Ok(Some((Value::Object(ObjType::Map), map))) = doc.get(ROOT, "requests") else {
        return Vec::new();
    };
    doc.keys(&map)
        .filter_map(|key| {
            let v = match doc.get(&map, key.as_str()).ok()?? {
                (Value::Scalar(s), _) => match s.as_ref() {
                    ScalarValue::Str(t) => t.to_string(),
                    _ => return None,
                },
                _ => return None,
            };
            let (outcome, reason) = v.split_once('|')?;
            Some((key, outcome.to_owned(), reason.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_round_trip() {
        let mut d = AutoCommit::new();
        let c = Case {
            application: DocId([3; 16]),
            status: ApplicationStatus::Returned,
            revision: 2,
            reason: "合同号与合同不符".into(),
            licence_no: String::new(),
            licence: vec![],
            licence_proof: vec![1],
            licence_state: "deleted".into(),
            standing: vec![1, 2, 3],
            requests: vec![("ab".into(), "approved".into(), "ok".into())],
            usage: r#"{"uses":1}"#.into(),
        };
        write(&mut d, &c, "1|returned|x").unwrap();
        assert_eq!(read(&d), Some(c));
        assert_ne!(case_id(DocId([3; 16])), DocId([3; 16]));
    }
}
