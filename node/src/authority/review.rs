//! Two-stage review (经办人 初审 → 处长 复审) and issuing, on the authority: each decision
//! is one transaction that updates the case row, the case document synced to the
//! enterprise, the audit trail and, on issue, the licence and its number.

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::certificate::key_id;
use exlic_client::seal::SealedSubmission;
use exlic_client::status::ApplicationStatus;

use super::AuthorityError;
use super::command::{Op, Outcome};
use super::office::Office;
use crate::clock::china_date;
use crate::domain::review::{self, Refusal, Stage};
use crate::domain::{issuing, rules};
use crate::store::case_doc::Case;
use crate::store::cases::{self, CaseRow};
use crate::store::{StoreError, WriteBatch, audit, licences, meta_get, meta_put, seals};
use exlic_client::standing::State;
use exlic_client::translog::EntryKind;

/// 初审, 复审 and issuance.
#[derive(Debug, Clone)]
pub struct Review {
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl Review {
    /// Records a review decision by `actor`. A refusal needs a reason.
    pub fn decide(
        &self,
        app: DocId,
        stage: Stage,
        approve: bool,
        reason: &str,
        actor: &str,
    ) -> Result<(ApplicationStatus, Option<String>), AuthorityError> {
        let reason = reason.trim();
        if !approve && reason.is_empty() {
            return Err(AuthorityError::bad_input(
                "reason",
                Refusal::NoReason.to_string(),
            ));
        }
        let done = self.office.run(Op::Review {
            application: app.0,
            second: stage == Stage::Second,
            approve,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
        })?;
        match done {
            Outcome::Reviewed { status, licence_no } => Ok((status, licence_no)),
            other => Err(Outcome::unexpected(other)),
        }
    }
}

/// A review decision as a command carries it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decided<'a> {
    pub app: DocId,
    pub stage: Stage,
    pub approve: bool,
    pub reason: &'a str,
    pub actor: &'a str,
}

/// Applies a review decision stamped `now` (see [`Review::decide`]): one write that
/// updates the case row, the case document, the audit trail and, on issue, numbers, signs
/// and logs the licence.
pub(super) fn apply_decision(
    office: &Office,
    w: &mut WriteBatch<'_>,
    now: i64,
    d: Decided<'_>,
) -> Result<Outcome, AuthorityError> {
    let Decided {
        app,
        stage,
        approve,
        reason,
        actor,
    } = d;
    let row = cases::get(w, app)?
        .ok_or_else(|| AuthorityError::not_found("application", format!("no case for {app}")))?;
    let decision = review::decide(stage, row.status, approve, reason).map_err(|r| match r {
        Refusal::NoReason => AuthorityError::bad_input("reason", r.to_string()),
        Refusal::WrongStage { .. } => AuthorityError::wrong_state("status", r.to_string()),
    })?;
    let (next, action) = (decision.next, decision.action);
    let (now, key) = office.signer_at(now);
    let (licence_no, licence) = if decision.issues() {
        issue(office, w, app, &row.application_no, row.revision, now, &key)?
    } else {
        (String::new(), Vec::new())
    };
    let (standing, licence_proof) = if licence_no.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let index = super::translog::append(w, EntryKind::Licence, &licence, &licence_no)?;
        let standing =
            super::licence_request::put_statement(w, &licence_no, State::Valid, now, now, &key)?;
        // The licence leaves the office with its proof into the tree this transaction
        // signs: nothing signed goes out that is not in the log.
        let (size, note) =
            super::translog::sign_head(office, w, now)?.ok_or(StoreError::Record("tlog"))?;
        let proof = super::translog::prove_in(w, index, size, note)?;
        (standing, proof.encode())
    };
    let (owner, app_no, revision) = (row.owner.clone(), row.application_no.clone(), row.revision);
    cases::put(
        w,
        app,
        &CaseRow {
            status: next,
            ..row
        },
    )?;
    let case = Case {
        application: app,
        status: next,
        revision,
        reason: reason.to_owned(),
        licence_no: licence_no.clone(),
        licence,
        licence_proof,
        licence_state: String::new(),
        standing,
        requests: Vec::new(),
        usage: String::new(),
    };
    super::case_docs::put(w, &owner, &case, &format!("{action}|{reason}"), now)?;
    audit::append(
        w,
        now,
        actor,
        app,
        decision.code,
        &if licence_no.is_empty() {
            format!("@reason={reason}")
        } else {
            format!("@licence_no={licence_no}")
        },
    )?;
    tracing::info!(%app_no, action, %actor, "review decision");
    Ok(Outcome::Reviewed {
        status: next,
        licence_no: (!licence_no.is_empty()).then_some(licence_no),
    })
}

/// Builds, numbers and signs the licence for the sealed revision under review.
fn issue(
    office: &Office,
    w: &WriteBatch<'_>,
    app: DocId,
    app_no: &str,
    revision: u32,
    now: i64,
    key: &ed25519_dalek::SigningKey,
) -> Result<(String, Vec<u8>), AuthorityError> {
    let env = seals::get(w, app, revision)?.ok_or(StoreError::Record("seals"))?;
    let sub = SealedSubmission::decode(&env).map_err(|_| StoreError::Record("seals"))?;
    let form: ApplicationForm =
        serde_json::from_slice(&sub.content).map_err(|_| StoreError::Record("sealed content"))?;
    let today = china_date(now);
    let reference = office.reference();
    let quota_year = rules::parse_year(&form.quota_year)
        .ok_or_else(|| AuthorityError::bad_input("quota_year", "not a year"))?;
    let months = reference
        .commodity(quota_year, &form.commodity_code)
        .and_then(|e| e.validity_months)
        .unwrap_or(6);
    let expiry = issuing::expiry(today, quota_year as i16, months as i8).map_err(|e| {
        if i32::from(quota_year) < i32::from(today.year()) {
            AuthorityError::wrong_state(
                "quota_year",
                format!(
                    "配额年度 {quota_year} has ended; no {quota_year} licence can be issued on {today}. Refuse the application: the enterprise can copy it into a new application for {}.",
                    today.year()
                ),
            )
        } else {
            AuthorityError::wrong_state("quota_year", e.to_string())
        }
    })?;
    // Serial per office and quota year, in the same write: unique under concurrency
    // (writes are serialised, and replicated ones applied in log order) and across restarts.
    let serial_key = format!("licence_serial.{quota_year}");
    let serial = meta_get(w, &serial_key)?
        .and_then(|v| v.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
        + 1;
    meta_put(w, &serial_key, &serial.to_be_bytes())?;
    let licence_no = issuing::licence_no(quota_year, &office.info.agency_code, serial)
        .map_err(|e| AuthorityError::wrong_state("licence_no", e.to_string()))?;
    if licences::get(w, &licence_no)?.is_some() {
        // Never overwrite a licence: a replica whose serial counter disagrees with its
        // licences halts here rather than sign a second licence under one number.
        return Err(StoreError::Invariant(format!("licence {licence_no} exists already")).into());
    }
    let licence = issuing::build_licence(
        &form,
        issuing::Issuance {
            licence_no: licence_no.clone(),
            application_id: app,
            application_no: app_no,
            quota_year,
            expiry,
            issue_date: today,
            issued_at_ms: now,
            agency: [office.info.agency_code.clone(), office.info.name.clone()],
            key_id: key_id(&key.verifying_key().to_bytes()),
        },
        &reference,
    )
    .map_err(|e| AuthorityError::wrong_state(e.field, e.reason))?;
    let file = licence.sign(key);
    licences::put(w, &licence_no, &file)?;
    Ok((licence_no, file))
}

impl Review {
    /// A signed licence by number.
    pub fn licence(&self, no: &str) -> Result<Option<Vec<u8>>, AuthorityError> {
        Ok(licences::file(&self.office.store.read()?, no)?)
    }

    /// One page of the cases in `status`, oldest received first (`limit` from `offset`),
    /// each with its inbox summary, and how many there are in all.
    #[allow(clippy::type_complexity)]
    pub fn inbox(
        &self,
        status: ApplicationStatus,
        filter: &cases::CaseFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<(DocId, CaseRow, Option<cases::CaseSummary>)>), AuthorityError> {
        let txn = self.office.store.read()?;
        let (total, rows) = cases::page(&txn, status, filter, offset, limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, row) in rows {
            let summary = cases::summary(&txn, id)?;
            out.push((id, row, summary));
        }
        Ok((total, out))
    }
}

impl Review {
    /// The status of an application at the authority, if submitted.
    pub fn case_status(
        &self,
        doc: DocId,
    ) -> Result<Option<(ApplicationStatus, u32)>, AuthorityError> {
        Ok(cases::get(&self.office.store.read()?, doc)?.map(|c| (c.status, c.revision)))
    }

    /// One page of the issued licences whose number contains `part`, newest first, each
    /// with its standing here, and how many there are in all.
    pub fn licence_page(
        &self,
        part: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<licences::ListedLicence>, u64), AuthorityError> {
        Ok(licences::newest_page(
            &self.office.store.read()?,
            part,
            offset,
            limit,
        )?)
    }
}
