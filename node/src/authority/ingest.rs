//! 上报 received: everything that only reads (decoding, the seal and its certificate, the
//! content at the sealed heads, the receipt's signature, a first case document) runs on the
//! caller's thread in parallel with other peers; the writes go through the group commit,
//! many submissions to one durable transaction, and a receipt is handed out only after
//! the commit that holds it.

use std::sync::Arc;

use exlic_client::application::ApplicationForm;
use exlic_client::certificate::Trust;
use exlic_client::error::Severity;
use exlic_client::protocol::{ErrorCode, Response};
use exlic_client::receipt::Receipt;
use exlic_client::refusal::Refusal;
use exlic_client::seal::{SealPayload, SealedSubmission, canonical_content};
use exlic_client::status::ApplicationStatus;

use super::command::{Op, Outcome, Received};
use super::office::Office;
use super::{AuthorityError, Handled, case_docs};
use crate::store::cases::{self, CaseRow};
use crate::store::group::GroupCommit;
use crate::store::{StoreError, WriteBatch, audit, blobs, certs, feed, form_doc, seals};

/// A verified submission waiting for the group commit.
#[derive(Debug)]
pub(super) struct IngestJob {
    receipt: Vec<u8>,
    case: crate::store::case_doc::Case,
    built_case: Option<crate::store::BuiltDoc>,
    enterprise: String,
    envelope: Vec<u8>,
    payload: SealPayload,
    summary: cases::CaseSummary,
    seal_hash: [u8; 32],
    received_at_ms: i64,
}
/// What the read-only checks of a submission came to.
#[derive(Debug)]
enum Prepared {
    /// Its final answer: a refusal, a violation, or the receipt it was given before.
    Answered(Handled),
    /// It passed: its writes, for the group commit.
    Job(Box<IngestJob>),
}

/// Submissions and receipts.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub(super) office: Arc<Office>,
    pub(super) group: Arc<GroupCommit<IngestJob, Result<Handled, AuthorityError>>>,
}

impl Ingest {
    /// 上报 received: everything that only reads (decoding, the seal and its certificate,
    /// the content at the sealed heads) runs here in parallel with other peers; the writes
    /// go through the group commit, many submissions to one durable transaction.
    pub(super) fn submit(&self, e: &str, env: &[u8]) -> Result<Handled, AuthorityError> {
        match self.prepare_settled(e, env)? {
            Prepared::Answered(h) => Ok(h),
            Prepared::Job(job) => Ok(self.store_jobs(vec![*job])?.pop().expect("one answer")),
        }
    }

    /// Stores verified submissions: through the log when the office is replicated (every
    /// replica applies them with [`ingest_one`]), else through the group commit. One
    /// answer per job, in order.
    fn store_jobs(&self, jobs: Vec<IngestJob>) -> Result<Vec<Handled>, AuthorityError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        if self.office.replicated.get().is_some() {
            let n = jobs.len();
            let done = self.office.run(Op::Ingest {
                submissions: jobs.into_iter().map(IngestJob::into_received).collect(),
            })?;
            let Outcome::Ingested { answers } = done else {
                return Err(Outcome::unexpected(done));
            };
            if answers.len() != n {
                return Err(StoreError::Invariant("an answer per submission".into()).into());
            }
            return answers
                .iter()
                .map(|a| {
                    Response::decode(a)
                        .map(Handled::ok)
                        .map_err(|_| StoreError::Record("ingest answer").into())
                })
                .collect();
        }
        self.group
            .run_many(jobs, |jobs| self.ingest_batch(jobs))
            .map_err(AuthorityError::from)?
            .into_iter()
            .collect()
    }

    /// A peer's batch of sealed submissions (an outbox draining): each is checked as
    /// [`Self::submit`] checks one, spread over every core, and all that pass go to the
    /// group commit together, so the batch costs one durable commit (shared with other
    /// peers' submissions queued meanwhile). One answer per envelope, in order.
    pub(super) fn submit_many(
        &self,
        e: &str,
        envs: &[Vec<u8>],
    ) -> Result<Vec<Handled>, AuthorityError> {
        // Checked on every core; stored together below.
        let prepared =
            crate::par::par_map(envs.iter().collect(), |env| self.prepare_settled(e, env));
        let mut answers: Vec<Option<Handled>> = Vec::with_capacity(envs.len());
        let mut jobs = Vec::new();
        for p in prepared {
            match p? {
                Prepared::Answered(h) => answers.push(Some(h)),
                Prepared::Job(job) => {
                    answers.push(None);
                    jobs.push(*job);
                }
            }
        }
        let mut stored = self.store_jobs(jobs)?.into_iter();
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| stored.next().expect("one result per job")))
            .collect())
    }

    /// [`Self::prepare`], decided again after a read barrier when a replica of a
    /// replicated office would refuse it: the refusal may come from a write this replica
    /// has not applied yet (the sealing device's certificate, made through another
    /// replica), and a refusal is final.
    fn prepare_settled(&self, e: &str, env: &[u8]) -> Result<Prepared, AuthorityError> {
        let p = self.prepare(e, env)?;
        let refused = matches!(&p, Prepared::Answered(h) if matches!(h.response, Response::Error { .. } | Response::Refused(_)));
        if refused && self.office.settle()? {
            return self.prepare(e, env);
        }
        Ok(p)
    }

    /// [`Self::submit`] with `between` run after the submission's checks and receipt and
    /// before it is stored: a test's way into that window.
    #[cfg(test)]
    pub(super) fn submit_with_pause(
        &self,
        e: &str,
        env: &[u8],
        between: impl FnOnce(),
    ) -> Result<Handled, AuthorityError> {
        let p = self.prepare_settled(e, env)?;
        between();
        match p {
            Prepared::Answered(h) => Ok(h),
            Prepared::Job(job) => Ok(self.store_jobs(vec![*job])?.pop().expect("one answer")),
        }
    }

    /// Everything about one submission that only reads: its final answer if it fails a
    /// check (or was received before), else the job for the group commit.
    fn prepare(&self, e: &str, env: &[u8]) -> Result<Prepared, AuthorityError> {
        let done = |h: Handled| Ok(Prepared::Answered(h));
        let sub = match SealedSubmission::decode(env) {
            Ok(s) => s,
            Err(err) => return done(Handled::violation(format!("sealed submission: {err}"))),
        };
        let seal_hash = sub.seal_hash();
        let (now, key) = self.office.signer();
        let claimed = match SealPayload::decode(&sub.payload) {
            Ok(p) => p,
            Err(err) => return done(Handled::violation(format!("seal payload: {err}"))),
        };
        let txn = self.office.store.read()?;
        // The certificate the seal names (else the sealing device's newest), valid and
        // unrevoked at *our* receipt time.
        let named = match claimed.certificate_serial {
            Some(s) => Some(s),
            None => certs::newest_for(&txn, &claimed.device_key)?,
        };
        let Some(serial) = named.filter(|s| certs::get(&txn, *s).ok().flatten().is_some()) else {
            return done(Handled::refuse(
                ErrorCode::BadSeal,
                "the sealing device has no certificate",
            ));
        };
        let cert = certs::signed(&txn, serial)?.ok_or(StoreError::Record("cert_bytes"))?;
        let revoked_at = certs::get(&txn, serial)?
            .ok_or(StoreError::Record("certs"))?
            .revoked_ms;
        let payload = match self.office.trust().verify_seal_with(&sub, &cert, now, |s| {
            // Fails closed: a certificate whose serial is not the one on record is revoked.
            if s != serial {
                Some(i64::MIN)
            } else {
                revoked_at
            }
        }) {
            Ok(p) => p,
            Err(err) => return done(Handled::refuse(ErrorCode::BadSeal, format!("seal: {err}"))),
        };
        if payload.enterprise_uscc != e {
            return done(Handled::refuse(
                ErrorCode::BadSeal,
                "the seal names another enterprise",
            ));
        }
        // Idempotent: the same seal, sent again by its enterprise, gets the same receipt.
        if let Some(r) = seals::receipt(&txn, seal_hash)? {
            return done(Handled::ok(Response::Receipt(r)));
        }
        // The content check reads history at the sealed heads, which later changes cannot
        // alter, so it runs outside the writer.
        let doc = payload.application_id;
        if feed::owner(&txn, doc)?.as_deref() != Some(e) {
            return done(Handled::refuse(
                ErrorCode::NotFound,
                "the sealed application has not been synced",
            ));
        }
        let replica = crate::store::docs::load(&txn, doc)?;
        let new_case = cases::get(&txn, doc)?.is_none();
        drop(txn);
        let form = match Self::check_sealed_content(replica, &payload, &sub) {
            Ok(form) => form,
            Err((code, reason)) => return done(Handled::refuse(code, reason)),
        };
        // The office decides: every rule it can check, on its own reference data and
        // clock. A failure is final for this revision and answered with a signed refusal.
        let findings = self
            .office
            .findings(e, &form, payload.attachments.len(), now);
        if findings.iter().any(|f| f.severity == Severity::Error) {
            tracing::info!(enterprise = e, application = %payload.application_no, revision = payload.revision, findings = findings.len(), "submission refused at receipt");
            let refusal = Refusal {
                seal_hash,
                application_id: doc,
                application_no: payload.application_no.clone(),
                revision: payload.revision,
                enterprise_uscc: e.into(),
                refused_at_ms: now,
                findings,
                authority_key: key.verifying_key().to_bytes(),
            };
            return done(Handled::ok(Response::Refused(refusal.sign(&key))));
        }
        let case = received_case(&payload);
        // A first submission's case document is new: build it here, in parallel.
        let built_case = if new_case {
            Some(case_docs::build(
                &self.office,
                &case,
                &format!("received|revision {}", payload.revision),
                now,
            )?)
        } else {
            None
        };
        // Signed here, in parallel; handed out only once the group commit stored it.
        let receipt = Receipt {
            seal_hash,
            application_id: doc,
            application_no: payload.application_no.clone(),
            revision: payload.revision,
            enterprise_uscc: e.into(),
            received_at_ms: now,
            authority_key: key.verifying_key().to_bytes(),
        }
        .sign(&key);
        let job = IngestJob {
            receipt,
            case,
            built_case,
            enterprise: e.to_owned(),
            envelope: env.to_vec(),
            payload,
            summary: summary_of(&form),
            seal_hash,
            received_at_ms: now,
        };
        Ok(Prepared::Job(Box::new(job)))
    }

    /// Applies verified submissions in one durable transaction. A job refused here wrote
    /// nothing (every check comes before its first write); a storage failure fails the
    /// whole batch, so no receipt is handed out for anything not committed.
    fn ingest_batch(&self, jobs: Vec<IngestJob>) -> Vec<Result<Handled, AuthorityError>> {
        let n = jobs.len();
        let fail_all = |err: StoreError| {
            (0..n)
                .map(|_| Err(AuthorityError::Store(StoreError::batch(&err))))
                .collect()
        };
        let mut w = match self.office.store.write() {
            Ok(w) => w,
            Err(err) => return fail_all(err),
        };
        let mut out = Vec::with_capacity(n);
        let mut received = Vec::new();
        for job in jobs {
            let what = (
                job.enterprise.clone(),
                job.payload.application_no.clone(),
                job.payload.revision,
            );
            match ingest_one(&mut w, &self.office.trust(), job) {
                Ok(h) => {
                    if matches!(h.response, Response::Receipt(_)) {
                        received.push(what);
                    }
                    out.push(Ok(h));
                }
                Err(err) => return fail_all(err),
            }
        }
        if let Err(err) = w.commit() {
            return fail_all(err);
        }
        for (enterprise, application, revision) in received {
            tracing::info!(%enterprise, %application, revision, "submission received");
        }
        out
    }

    /// The replica at the sealed heads must reproduce the sealed content exactly.
    /// Whether the replica at the sealed heads reproduces the sealed content. Heads not
    /// synced yet are `Unavailable` (the device retries after its next sync round); a
    /// mismatch is `BadSeal` (final).
    fn check_sealed_content(
        replica: Option<automerge::AutoCommit>,
        p: &SealPayload,
        sub: &SealedSubmission,
    ) -> Result<ApplicationForm, (ErrorCode, String)> {
        let heads: Vec<automerge::ChangeHash> =
            p.heads.iter().map(|h| automerge::ChangeHash(*h)).collect();
        let not_yet = |m: &str| (ErrorCode::Unavailable, m.to_owned());
        let Some(mut doc) = replica else {
            return Err(not_yet("the sealed application has not been synced"));
        };
        let doc = &mut doc;
        if !doc.get_missing_deps(&heads).is_empty()
            || heads.iter().any(|h| doc.get_change_by_hash(h).is_none())
        {
            return Err(not_yet("the sealed revision has not been synced yet"));
        }
        let form = form_doc::read_form_at(doc, &heads).map_err(|e| {
            (
                ErrorCode::BadSeal,
                format!("cannot read the sealed revision: {e}"),
            )
        })?;
        if canonical_content(&form) != sub.content {
            return Err((
                ErrorCode::BadSeal,
                "the synced document at the sealed heads differs from the sealed content".into(),
            ));
        }
        Ok(form)
    }

    /// Submissions accepted.
    pub fn submission_count(&self) -> Result<u64, AuthorityError> {
        Ok(cases::submission_count(&self.office.store.read()?)?)
    }
}

/// One verified submission's writes: its receipt, seal, case row, case document and
/// audit entry. Refusals come before any write.
pub(super) fn ingest_one(
    w: &mut WriteBatch<'_>,
    trust: &Trust,
    job: IngestJob,
) -> Result<Handled, StoreError> {
    let (e, payload, doc) = (&job.enterprise, &job.payload, job.payload.application_id);
    let built_case = job.built_case;
    // A resend that raced its original into the same batch gets the same receipt.
    if let Some(r) = seals::receipt(w, job.seal_hash)? {
        return Ok(Handled::ok(Response::Receipt(r)));
    }
    // The receipt was signed before this apply, by the key in force where it was taken: a
    // rollover applied in between retired that key at a time before the receipt's, and no
    // verifier would accept it. The device sends the seal again and gets a receipt
    // signed by the key in force.
    let signed_by = exlic_client::signed::peek(&job.receipt)
        .ok()
        .and_then(|b| Receipt::decode(b).ok())
        .ok_or(StoreError::Record("receipt"))?;
    if !trust.valid_at(&signed_by.authority_key, signed_by.received_at_ms) {
        return Ok(Handled::refuse(
            ErrorCode::Unavailable,
            "the office's signing key changed while this was received; send it again",
        ));
    }
    for a in &payload.attachments {
        match blobs::info(w, &a.sha256)? {
            Some((size, _)) if size == a.size => {}
            _ => {
                return Ok(Handled::refuse(
                    ErrorCode::BadSeal,
                    format!("attachment {} has not been uploaded", hex::encode(a.sha256)),
                ));
            }
        }
    }
    let prior = cases::get(w, doc)?.map(|c| (c.revision, c.status));
    if let Err(stale) = crate::domain::review::accept_revision(prior, payload.revision) {
        return Ok(Handled::refuse(ErrorCode::StaleRevision, stale.to_string()));
    }
    let receipt = job.receipt;
    seals::put_receipt(w, job.seal_hash, &receipt)?;
    cases::put_submission(w, job.seal_hash, doc, payload.revision)?;
    seals::put(w, doc, payload.revision, &job.envelope)?;
    cases::put(
        w,
        doc,
        &CaseRow {
            owner: e.clone(),
            application_no: payload.application_no.clone(),
            revision: payload.revision,
            status: ApplicationStatus::PendingInitial,
            seal_hash: job.seal_hash,
            received_ms: job.received_at_ms,
        },
    )?;
    cases::put_summary(w, doc, &job.summary)?;
    case_docs::put_with(
        w,
        e,
        &job.case,
        &format!("received|revision {}", payload.revision),
        built_case,
        job.received_at_ms,
    )?;
    audit::append(
        w,
        job.received_at_ms,
        e,
        doc,
        "report",
        &format!("@revision={}", payload.revision),
    )?;
    Ok(Handled::ok(Response::Receipt(receipt)))
}

/// The case of a submission just received: 待初审 at its revision.
fn received_case(payload: &SealPayload) -> crate::store::case_doc::Case {
    crate::store::case_doc::Case {
        application: payload.application_id,
        status: ApplicationStatus::PendingInitial,
        revision: payload.revision,
        reason: String::new(),
        licence_no: String::new(),
        licence: Vec::new(),
        licence_proof: Vec::new(),
        licence_state: String::new(),
        standing: Vec::new(),
        requests: Vec::new(),
        usage: String::new(),
    }
}

impl IngestJob {
    /// The job as a command carries it: what the replica that took it signed and stamped.
    fn into_received(self) -> Received {
        Received {
            enterprise: self.enterprise,
            envelope: self.envelope,
            receipt: self.receipt,
            received_at_ms: self.received_at_ms,
        }
    }

    /// The job a command carries, its case and summary derived again from the envelope
    /// (which the replica that took it verified); the case document is built in place.
    pub(super) fn from_received(r: Received) -> Result<Self, StoreError> {
        let bad = || StoreError::Record("ingest command");
        let sub = SealedSubmission::decode(&r.envelope).map_err(|_| bad())?;
        let payload = SealPayload::decode(&sub.payload).map_err(|_| bad())?;
        let form: ApplicationForm = serde_json::from_slice(&sub.content).map_err(|_| bad())?;
        Ok(Self {
            case: received_case(&payload),
            built_case: None,
            summary: summary_of(&form),
            seal_hash: sub.seal_hash(),
            payload,
            receipt: r.receipt,
            enterprise: r.enterprise,
            envelope: r.envelope,
            received_at_ms: r.received_at_ms,
        })
    }
}

/// What the inbox shows of a sealed form: exporter, commodity, total quantity and amount.
fn summary_of(form: &exlic_client::application::ApplicationForm) -> cases::CaseSummary {
    use std::str::FromStr as _;
    let quantity: rust_decimal::Decimal = form
        .goods
        .iter()
        .filter_map(|g| rust_decimal::Decimal::from_str(g.quantity.trim()).ok())
        .sum();
    cases::CaseSummary {
        exporter: form.exporter_name.clone(),
        commodity_code: form.commodity_code.clone(),
        quantity: quantity.normalize().to_string(),
        unit: form
            .goods
            .first()
            .map(|g| g.unit.clone())
            .unwrap_or_default(),
        amount: form.contract.total_amount.clone(),
        currency: form.currency.clone(),
    }
}
