//! The applications on this node: 新增, 暂存 and field edits (each one transaction over the
//! Automerge document, its state and its list row), deletion, the list and 查询.

use std::sync::Arc;

use exlic_client::DocId;
use exlic_client::application::{
    ApplicationForm, ApplicationSummary, ApplicationView, ConflictValue, FieldConflict,
};
use exlic_client::query::{ApplicationQuery, Page};
use exlic_client::status::ApplicationStatus;

use super::device::Device;
use super::{EnterpriseError, Result};
use crate::clock::{china_date, date_key};
use crate::domain::lifecycle::{self, Action};
use crate::domain::rules::{self};
use crate::domain::totals;
use crate::store::app_state::AppState;
use crate::store::kind;
use crate::store::{WriteBatch, docs, form_doc, index, seals};

/// The applications: 新增, 暂存, edits, deletion, the list and 查询.
#[derive(Debug, Clone)]
pub struct Applications {
    pub(super) device: Arc<Device>,
}

impl Applications {
    /// 新增: creates an application holding `form` (a draft; only 暂存 checks apply).
    pub fn create(&self, form: &ApplicationForm) -> Result<ApplicationView> {
        self.create_with(form, &[], "")
    }

    /// 复制为新申请: a new draft with the form of `id` and the attachments this node holds,
    /// for this year when `id`'s quota year has passed (a case of last year still at 待复审
    /// on 1 January cannot be issued).
    pub fn copy(&self, id: DocId) -> Result<ApplicationView> {
        let (mut form, attachments, deleted) = self
            .device
            .store
            .with_doc(id, |d| {
                (
                    form_doc::read_form(d),
                    form_doc::attachments(d),
                    form_doc::is_deleted(d),
                )
            })?
            .ok_or(EnterpriseError::NotFound(id))?;
        if deleted {
            return Err(EnterpriseError::NotFound(id));
        }
        let this_year = china_date(self.device.clock.now_ms()).year();
        if rules::parse_year(&form.quota_year).is_some_and(|y| i32::from(y) < i32::from(this_year))
        {
            form.quota_year = this_year.to_string();
        }
        let held: Vec<_> = {
            let txn = self.device.store.read()?;
            let mut held = Vec::new();
            for a in attachments {
                let mut h = [0u8; 32];
                if hex::decode_to_slice(&a.sha256, &mut h).is_ok()
                    && crate::store::blobs::info(&txn, &h)?.is_some()
                {
                    held.push(a);
                }
            }
            held
        };
        let from = self
            .get(id)?
            .application_no
            .unwrap_or_else(|| id.to_string());
        self.create_with(&form, &held, &format!("@from={from}"))
    }

    fn create_with(
        &self,
        form: &ApplicationForm,
        attachments: &[exlic_client::attachment::AttachmentRef],
        note: &str,
    ) -> Result<ApplicationView> {
        self.device.check_draft(form)?;
        let now = self.device.clock.now_ms();
        let id = DocId(crate::random::bytes());
        let mut w = self.device.store.write()?;
        let opts = self.device.commit_opts();
        let doc = w.create_doc(id, kind::APPLICATION)?;
        form_doc::init(doc, now, form)?;
        for a in attachments {
            form_doc::add_attachment(doc, a)?;
        }
        doc.commit_with(opts);
        w.save_doc(id)?;
        let mut state = AppState {
            status: ApplicationStatus::Draft,
            revision: 0,
            application_no: None,
            licence_no: None,
            application_date: date_key(china_date(now)),
            created_at_ms: now,
            updated_at_ms: now,
            history: Vec::new(),
        };
        state.log(now, "created", note);
        self.device.put_state_and_row(&w, id, form, &state)?;
        w.commit()?;
        self.get(id)
    }

    /// The application as the node shows it.
    pub fn get(&self, id: DocId) -> Result<ApplicationView> {
        let (state, refusal) = {
            let txn = self.device.store.read()?;
            (Device::state(&txn, id)?, seals::refusal(&txn, id)?)
        };
        // Shown while the refused revision is the latest: the next seal supersedes it.
        let refused_at_receipt = refusal
            .and_then(|b| {
                exlic_client::signed::peek(&b)
                    .ok()
                    .and_then(|p| exlic_client::refusal::Refusal::decode(p).ok())
            })
            .filter(|r| r.revision == state.revision)
            .map(|r| exlic_client::application::ReceiptRefusal {
                revision: r.revision,
                refused_at_ms: r.refused_at_ms,
                findings: r.findings,
            });
        let (form, attachments, deleted, heads, conflicts) = self
            .device
            .store
            .with_doc(id, |d| {
                let mut heads: Vec<String> =
                    d.get_heads().iter().map(|h| hex::encode(h.0)).collect();
                heads.sort();
                (
                    form_doc::read_form(d),
                    form_doc::attachments(d),
                    form_doc::is_deleted(d),
                    heads,
                    form_doc::conflicts(d),
                )
            })?
            .ok_or(EnterpriseError::NotFound(id))?;
        let me = self.device.store.actor();
        let conflicts = conflicts
            .into_iter()
            .map(|(field, values)| FieldConflict {
                field,
                values: values
                    .into_iter()
                    .map(|(value, actor)| ConflictValue {
                        value,
                        device: actor.to_hex_string(),
                        mine: actor == me,
                    })
                    .collect(),
            })
            .collect();
        if deleted {
            return Err(EnterpriseError::NotFound(id));
        }
        let office = self.device.agency_for(&form);
        Ok(ApplicationView {
            office,
            id,
            status: state.status,
            application_no: state.application_no.clone(),
            revision: state.revision,
            frozen: lifecycle::is_frozen(state.status),
            commodity_name: self.device.commodity_name(&form),
            totals: totals::compute(&form, &self.device.reference()),
            form,
            attachments,
            application_date: state.application_date.to_string(),
            created_at_ms: state.created_at_ms,
            updated_at_ms: state.updated_at_ms,
            licence_no: state.licence_no.clone(),
            heads,
            history: state.history,
            refused_at_receipt,
            conflicts,
        })
    }

    /// Keeps `value` for `field`, which two devices set while apart: one write that
    /// supersedes both, recorded in the history with the value kept. Refused, changing
    /// nothing, when the field is not in conflict or `value` is not one of its values.
    pub fn resolve(&self, id: DocId, field: &str, value: &str) -> Result<ApplicationView> {
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        let bad = |message: &str| EnterpriseError::BadInput {
            field: "field".into(),
            message: message.into(),
        };
        let Some((_, values)) = form_doc::conflicts(doc)
            .into_iter()
            .find(|(f, _)| f == field)
        else {
            return Err(bad(&format!("{field} is not in conflict")));
        };
        if !values.iter().any(|(v, _)| v == value) {
            return Err(EnterpriseError::BadInput {
                field: "value".into(),
                message: format!("not one of the values of {field}"),
            });
        }
        form_doc::resolve(doc, field, value)?;
        let detail = format!("@field={field};value={value}");
        self.finish_edit_with(w, id, state, "resolved", &detail)
    }

    /// Opens an editable application inside a write; refuses frozen or deleted ones.
    pub(super) fn begin_edit(
        &self,
        id: DocId,
        action: Action,
    ) -> Result<(WriteBatch<'_>, AppState)> {
        let mut w = self.device.store.write()?;
        let state = Device::state(&w, id)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        if form_doc::is_deleted(doc) {
            return Err(EnterpriseError::NotFound(id));
        }
        lifecycle::check(state.status, action)?;
        Ok((w, state))
    }

    /// Saves the document change, state and list row, then commits.
    pub(super) fn finish_edit(
        &self,
        w: WriteBatch<'_>,
        id: DocId,
        state: AppState,
        event: &str,
    ) -> Result<ApplicationView> {
        self.finish_edit_with(w, id, state, event, "")
    }

    /// [`finish_edit`](Self::finish_edit) with the history entry's detail.
    fn finish_edit_with(
        &self,
        mut w: WriteBatch<'_>,
        id: DocId,
        mut state: AppState,
        event: &str,
        detail: &str,
    ) -> Result<ApplicationView> {
        let opts = self.device.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        doc.commit_with(opts);
        let form = form_doc::read_form(doc);
        if w.save_doc(id)? {
            state.log(self.device.clock.now_ms(), event, detail);
            self.device.put_state_and_row(&w, id, &form, &state)?;
            w.commit()?;
        } else {
            // Nothing changed: release the write (and the cache it holds) before reading.
            drop(w);
        }
        self.get(id)
    }

    /// 暂存: replaces the whole form (only what differs becomes a change).
    pub fn save(&self, id: DocId, form: &ApplicationForm) -> Result<ApplicationView> {
        self.device.check_draft(form)?;
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        form_doc::write_form(doc, form)?;
        self.finish_edit(w, id, state, "saved")
    }

    /// Edits some fields: a JSON merge patch (RFC 7396) over the form.
    pub fn patch(&self, id: DocId, patch: &serde_json::Value) -> Result<ApplicationView> {
        let serde_json::Value::Object(_) = patch else {
            return Err(EnterpriseError::BadInput {
                field: "body".into(),
                message: "a patch must be a JSON object of form fields".into(),
            });
        };
        let (mut w, state) = self.begin_edit(id, Action::Edit)?;
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        let mut current = serde_json::to_value(form_doc::read_form(doc)).expect("serialises");
        merge_patch(&mut current, patch);
        let form: ApplicationForm =
            serde_path_to_error::deserialize(current).map_err(|e| EnterpriseError::BadInput {
                field: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        let agency = self.device.agency_for(&form);
        let errs = rules::check_draft(
            &form,
            &self.device.ctx(&self.device.reference(), &agency, 0),
        );
        if !errs.is_empty() {
            return Err(EnterpriseError::Invalid(errs));
        }
        form_doc::write_form(doc, &form)?;
        self.finish_edit(w, id, state, "saved")
    }

    /// Deletes a draft (or a sealed application not yet reported).
    pub fn delete(&self, id: DocId) -> Result<()> {
        let (mut w, mut state) = self.begin_edit(id, Action::Delete)?;
        let opts = self.device.commit_opts();
        let doc = w.doc(id)?.ok_or(EnterpriseError::NotFound(id))?;
        form_doc::mark_deleted(doc)?;
        doc.commit_with(opts);
        w.save_doc(id)?;
        state.log(self.device.clock.now_ms(), "deleted", "");
        Device::put_state(&w, id, &state)?;
        index::put_summary(&w, id, None)?;
        w.commit()?;
        Ok(())
    }

    /// The list and 查询.
    pub fn query(&self, q: &ApplicationQuery) -> Result<Page<ApplicationSummary>> {
        let bad = |field: &str, message: &str| EnterpriseError::BadInput {
            field: field.into(),
            message: message.into(),
        };
        if let Some(t) = &q.licence_type
            && t != "export"
        {
            return Err(bad(
                "licence_type",
                "only `export` (出口许可证) is supported",
            ));
        }
        let page = q.page.unwrap_or(1);
        if page == 0 {
            return Err(bad("page", "pages count from 1"));
        }
        let per_page = q.per_page.unwrap_or(20);
        if !(1..=200).contains(&per_page) {
            return Err(bad("per_page", "must be between 1 and 200"));
        }
        // A day in China as [start, end) Unix ms.
        let day = |field: &str, v: &Option<String>| -> Result<Option<(i64, i64)>> {
            match v.as_deref() {
                None | Some("") => Ok(None),
                Some(s) => {
                    let digits: String = s.chars().filter(|c| *c != '-').collect();
                    let d = jiff::civil::Date::strptime("%Y%m%d", &digits)
                        .map_err(|_| bad(field, "must be a date YYYYMMDD or YYYY-MM-DD"))?;
                    let start = |d: jiff::civil::Date| {
                        d.to_zoned(crate::clock::china())
                            .map(|z| z.timestamp().as_millisecond())
                    };
                    let next = d.tomorrow().map_err(|_| bad(field, "date out of range"))?;
                    match (start(d), start(next)) {
                        (Ok(a), Ok(b)) => Ok(Some((a, b))),
                        _ => Err(bad(field, "date out of range")),
                    }
                }
            }
        };
        let from = day("from", &q.from)?.map(|(a, _)| a);
        let to = day("to", &q.to)?.map(|(_, b)| b);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(bad("to", "the end date is before the start date"));
        }
        let digits = |field: &str, v: &Option<String>, max: usize| -> Result<Option<String>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) if s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Some(s.to_owned()))
                }
                Some(_) => Err(bad(field, &format!("must be up to {max} digits"))),
            }
        };
        let commodity = digits("commodity_code", &q.commodity_code, 10)?;
        let application_no = digits("application_no", &q.application_no, 21)?;
        let trade_mode = match q.trade_mode.as_deref() {
            None | Some("") => None,
            Some(t) if self.device.reference().is_trade_mode(t) => Some(t.to_owned()),
            Some(_) => return Err(bad("trade_mode", "unknown trade mode")),
        };
        let filter = index::Filter {
            from,
            to,
            status: q.status,
            commodity,
            trade_mode,
            year: q.year,
            application_no,
        };
        let (items, total) = index::query(&self.device.store.read()?, &filter, page, per_page)?;
        let shown = u64::from(page.saturating_sub(1)) * u64::from(per_page) + items.len() as u64;
        Ok(Page {
            items,
            page,
            per_page,
            has_more: total > shown,
            total,
        })
    }

    /// How many applications stand in each status (the dashboard), from the list rows.
    pub fn counts(&self) -> Result<Vec<(ApplicationStatus, u32)>> {
        let rows = index::all_summaries(&self.device.store.read()?)?;
        Ok(ApplicationStatus::ALL
            .iter()
            .map(|s| {
                let n = rows.iter().filter(|(_, r)| r.status == *s).count();
                (*s, u32::try_from(n).unwrap_or(u32::MAX))
            })
            .collect())
    }

    /// Checks that list rows and indexes agree with the documents; returns the problems.
    pub fn check_consistency(&self) -> Result<Vec<String>> {
        let txn = self.device.store.read()?;
        let mut problems = index::check_consistency(&txn)?;
        for (id, row) in index::all_summaries(&txn)? {
            let state = Device::state(&txn, id)?;
            let form = self
                .device
                .store
                .with_doc(id, |d| form_doc::read_form(d))?
                .ok_or(EnterpriseError::NotFound(id))?;
            if self.device.summary(id, &form, &state) != row {
                problems.push(format!("list row of {id} differs from its document"));
            }
            if docs::kind(&txn, id)? != Some(kind::APPLICATION) {
                problems.push(format!("{id} has no document"));
            }
        }
        Ok(problems)
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
