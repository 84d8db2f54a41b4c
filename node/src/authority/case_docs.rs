//! The case documents the authority writes (one per application, read by its enterprise
//! and never written by it): created on first use, or adopted when built outside the writer,
//! and put in the enterprise's feed on every change.

use super::office::Office;
use crate::store::case_doc::{self, Case};
use crate::store::{BuiltDoc, StoreError, WriteBatch, feed, kind};

/// Writes the case document for `case.application` (creating it on first use) and puts it
/// in `owner`'s feed; `event` joins the case's history, dated `now_ms`.
pub fn put(
    w: &mut WriteBatch<'_>,
    owner: &str,
    case: &Case,
    event: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    put_with(w, owner, case, event, None, now_ms)
}

/// A new case document built outside the writer (see [`put_with`]).
pub fn build(
    office: &Office,
    case: &Case,
    event: &str,
    now_ms: i64,
) -> Result<BuiltDoc, StoreError> {
    let id = case_doc::case_id(case.application);
    let event = format!("{now_ms}|{event}");
    office
        .store
        .build_doc(|d| case_doc::write(d, case, &event))
        .map_err(|e| StoreError::Document(id, e.to_string()))
}

/// [`put`], using `built` (from [`build`]) when the case document does not exist yet; an
/// existing one is updated in place instead.
pub fn put_with(
    w: &mut WriteBatch<'_>,
    owner: &str,
    case: &Case,
    event: &str,
    built: Option<BuiltDoc>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let id = case_doc::case_id(case.application);
    if let Some(built) = built
        && crate::store::docs::kind(w, id)?.is_none()
    {
        w.insert_built_doc(id, kind::OTHER, built)?;
        feed::add_authority_doc(w, id, owner)?;
        return feed::push(w, owner, id, feed::AUTHORITY_WRITER);
    }
    if w.doc(id)?.is_none() {
        w.create_doc(id, kind::OTHER)?;
        feed::add_authority_doc(w, id, owner)?;
    }
    let d = w.doc(id)?.expect("created");
    case_doc::write(d, case, &format!("{now_ms}|{event}"))
        .map_err(|e| StoreError::Document(id, e.to_string()))?;
    d.commit();
    w.save_doc(id)?;
    feed::push(w, owner, id, feed::AUTHORITY_WRITER)?;
    Ok(())
}
