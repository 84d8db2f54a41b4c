//! Sealed submissions on their way to the issuing office and what it answers: the outbox
//! with what each seal covers, a signed receipt (the application is 待初审), a refusal
//! for good, or a signed refusal at receipt naming the rules the sealed form failed (the
//! application is 暂存 again).

use exlic_client::DocId;
use exlic_client::error::Severity;
use exlic_client::receipt::Receipt;
use exlic_client::refusal::Refusal;
use exlic_client::seal::SealPayload;
use exlic_client::status::ApplicationStatus;

use exlic_client::certificate::Trust;
use exlic_client::protocol::{ErrorCode, Response};

use super::{EnterpriseError, Result};
use crate::store::app_state::AppState;
use crate::store::blobs::{self, Queue};
use crate::store::{StoreError, WriteBatch, form_doc, seals};
use crate::upstream::Link;

/// An outbox entry ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Outbox position.
    pub seq: u64,
    /// The application.
    pub doc: DocId,
    /// The revision.
    pub revision: u32,
    /// The sealed submission envelope.
    pub envelope: Vec<u8>,
    /// The attachments the seal covers: (hash, size).
    pub attachments: Vec<([u8; 32], u64)>,
}

/// What a batch of answers came to.
#[derive(Debug, Default)]
pub struct Applied {
    /// Submissions received (待初审).
    pub received: usize,
    /// Submissions refused for good or at receipt.
    pub refused: usize,
    /// The first refusal that leaves its submission queued (the office could not take
    /// it now), if any.
    pub left: Option<(ErrorCode, String)>,
}

/// The outbox and the office's answers.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl Delivery {
    /// Sealed submissions waiting in the outbox for office `link`, with the attachments
    /// each still needs uploaded: of at most `limit` outbox entries after position
    /// `after` (from the first with `None`), oldest first, those that go to `link`; and,
    /// when `limit` entries were read (more may follow), the position of the last of
    /// them, whatever its office.
    pub fn outgoing(
        &self,
        link: &Link,
        after: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<Outgoing>, Option<u64>)> {
        let t = self.device.store.read()?;
        let mut out = Vec::new();
        let page = seals::outbox_page(&t, after, limit)?;
        let last = (page.len() == limit)
            .then(|| page.last().map(|q| q.seq))
            .flatten();
        for q in page {
            if self.device.office_of_doc(&t, q.app)? != *link {
                continue;
            }
            let env = seals::get(&t, q.app, q.revision)?.ok_or(StoreError::Record("seal"))?;
            let sub = exlic_client::seal::SealedSubmission::decode(&env)
                .map_err(|_| StoreError::Record("seal"))?;
            let payload =
                SealPayload::decode(&sub.payload).map_err(|_| StoreError::Record("seal"))?;
            let mut attachments = Vec::new();
            for a in &payload.attachments {
                // Off the upload queue means the home office confirmed it holds the bytes
                // (it never deletes a blob): asking again would cost a round trip each.
                // Another office is asked about each (the queue is the home office's).
                if !link.is_home() || blobs::is_queued(&t, Queue::Up, &a.sha256)? {
                    attachments.push((a.sha256, a.size));
                }
            }
            out.push(Outgoing {
                seq: q.seq,
                doc: q.app,
                revision: q.revision,
                envelope: env,
                attachments,
            });
        }
        Ok((out, last))
    }

    /// Applies the office's answers to a batch of submissions in one transaction: a
    /// receipt, a signed refusal at receipt, or a final refusal (a bad seal, a stale
    /// revision) takes its submission out of the outbox; any other refusal leaves it
    /// there for a later round and is returned (the first of them), for the session to
    /// end on. Nothing is written if any receipt or refusal fails to verify.
    pub fn apply_answers(
        &self,
        batch: &[Outgoing],
        answers: Vec<Response>,
        authority_key: &[u8; 32],
    ) -> Result<Applied> {
        let trust = self.device.authority_trust(authority_key)?;
        let mut w = self.device.store.write()?;
        let mut applied = Applied::default();
        for (out, answer) in batch.iter().zip(answers) {
            match answer {
                Response::Receipt(r) => {
                    self.receipt_in(&mut w, out, &r, &trust)?;
                    applied.received += 1;
                }
                Response::Refused(r) => {
                    let refusal = self.refusal_in(&mut w, out, &r, &trust)?;
                    tracing::warn!(application = %refusal.application_no, revision = refusal.revision, findings = refusal.findings.len(), "submission refused at receipt");
                    applied.refused += 1;
                }
                Response::Error {
                    code: code @ (ErrorCode::BadSeal | ErrorCode::StaleRevision),
                    message,
                } => {
                    tracing::warn!(?code, %message, "submission refused");
                    self.reject_in(&mut w, out, &message)?;
                    applied.refused += 1;
                }
                Response::Error { code, message } => {
                    applied.left.get_or_insert((code, message));
                }
                _ => {
                    return Err(EnterpriseError::BadInput {
                        field: "answer".into(),
                        message: "not an answer to a submission".into(),
                    });
                }
            }
        }
        w.commit()?;
        Ok(applied)
    }

    /// Stores the authority's receipt: the submission leaves the outbox and the
    /// application becomes 待初审, in one transaction.
    pub fn accept_receipt(
        &self,
        out: &Outgoing,
        receipt: &[u8],
        authority_key: &[u8; 32],
    ) -> Result<Receipt> {
        let trust = self.device.authority_trust(authority_key)?;
        let mut w = self.device.store.write()?;
        let r = self.receipt_in(&mut w, out, receipt, &trust)?;
        w.commit()?;
        Ok(r)
    }

    fn receipt_in(
        &self,
        w: &mut WriteBatch<'_>,
        out: &Outgoing,
        receipt: &[u8],
        trust: &Trust,
    ) -> Result<Receipt> {
        let r = Receipt::verify_trusted(receipt, trust).map_err(|e| EnterpriseError::BadInput {
            field: "receipt".into(),
            message: e.to_string(),
        })?;
        let sub = exlic_client::seal::SealedSubmission::decode(&out.envelope)
            .map_err(|_| StoreError::Record("seal"))?;
        if r.seal_hash != sub.seal_hash()
            || r.application_id != out.doc
            || r.revision != out.revision
        {
            return Err(EnterpriseError::BadInput {
                field: "receipt".into(),
                message: "the receipt is for another submission".into(),
            });
        }
        seals::dequeue(w, out.seq)?;
        seals::put_receipt(w, r.seal_hash, receipt)?;
        let mut state = super::device::Device::state(w, out.doc)?;
        if state.status == ApplicationStatus::Queued && state.revision == out.revision {
            state.status = ApplicationStatus::PendingInitial;
        }
        let at = jiff::Timestamp::from_millisecond(r.received_at_ms)
            .map(|t| {
                t.to_zoned(crate::clock::china())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        state.log(
            self.device.clock.now_ms(),
            "received",
            format!("@revision={};at={at}", r.revision),
        );
        self.put_state_and_row(w, out.doc, &state)?;
        Ok(r)
    }

    /// The authority refused a submission for good: it leaves the outbox and the
    /// application is sealed-not-reported again, with the reason in its history.
    pub fn reject_submission(&self, out: &Outgoing, reason: &str) -> Result<()> {
        let mut w = self.device.store.write()?;
        self.reject_in(&mut w, out, reason)?;
        w.commit()?;
        Ok(())
    }

    fn reject_in(&self, w: &mut WriteBatch<'_>, out: &Outgoing, reason: &str) -> Result<()> {
        seals::dequeue(w, out.seq)?;
        let mut state = super::device::Device::state(w, out.doc)?;
        if state.status == ApplicationStatus::Queued {
            state.status = ApplicationStatus::Sealed;
        }
        state.log(
            self.device.clock.now_ms(),
            "refused",
            format!("@revision={};reason={reason}", out.revision),
        );
        self.put_state_and_row(w, out.doc, &state)
    }

    /// The office refused a submission at receipt with its signed findings (its own
    /// checks of the sealed form failed): the submission leaves the outbox and the
    /// application is a draft again, editable, its next seal a new revision under the same
    /// 申请表号; the findings are kept to show beside their fields.
    pub fn refused_at_receipt(
        &self,
        out: &Outgoing,
        signed: &[u8],
        authority_root: &[u8; 32],
    ) -> Result<Refusal> {
        let trust = self.device.authority_trust(authority_root)?;
        let mut w = self.device.store.write()?;
        let r = self.refusal_in(&mut w, out, signed, &trust)?;
        w.commit()?;
        Ok(r)
    }

    fn refusal_in(
        &self,
        w: &mut WriteBatch<'_>,
        out: &Outgoing,
        signed: &[u8],
        trust: &Trust,
    ) -> Result<Refusal> {
        let bad = |message: String| EnterpriseError::BadInput {
            field: "refusal".into(),
            message,
        };
        let r = Refusal::verify_trusted(signed, trust).map_err(|e| bad(e.to_string()))?;
        if r.application_id != out.doc || r.revision != out.revision {
            return Err(bad("the refusal names another submission".into()));
        }
        seals::dequeue(w, out.seq)?;
        seals::put_refusal(w, out.doc, signed)?;
        let mut state = super::device::Device::state(w, out.doc)?;
        if state.status == ApplicationStatus::Queued && state.revision == out.revision {
            state.status = ApplicationStatus::Draft;
        }
        let mut rules: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule.as_str())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        state.log(
            self.device.clock.now_ms(),
            "refused",
            format!("@revision={};rules={}", out.revision, rules.join(", ")),
        );
        self.put_state_and_row(w, out.doc, &state)?;
        Ok(r)
    }

    /// Writes an application's state and its list row.
    fn put_state_and_row(
        &self,
        w: &mut WriteBatch<'_>,
        doc: DocId,
        state: &AppState,
    ) -> Result<()> {
        let form = form_doc::read_form(w.doc(doc)?.ok_or(EnterpriseError::NotFound(doc))?);
        self.device.put_state_and_row(w, doc, &form, state)
    }
}
