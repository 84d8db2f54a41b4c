//! The authority side of 删证申请 and 核销申请: requests arrive as enterprise documents,
//! are checked against the licence the authority issued (owner, standing, validity, one
//! open request), wait in the 待审核 inbox, and the decision changes the licence's
//! standing and reaches the enterprise in the application's case document.

use exlic_client::DocId;
use exlic_client::licence::Licence;
use exlic_client::translog::EntryKind;

use super::AuthorityError;
use super::command::{Op, Outcome};
use super::office::Office;
use crate::clock::china_date;
use crate::domain::licence_request::{self as policy, Standing};
use crate::store::licence_request::{self as stored, Record, Status};
use crate::store::{StoreError, WriteBatch, audit, case_doc, licences};

/// 删证 and 核销 requests.
#[derive(Debug, Clone)]
pub struct LicenceRequests {
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl LicenceRequests {
    /// Called for every document an enterprise changed: records a new 删证/核销 request
    /// (待审核), or refuses it at once with the reason when a guard fails.
    pub(super) fn note(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        doc: DocId,
    ) -> Result<(), StoreError> {
        let Some(r) = w.doc(doc)?.and_then(|d| stored::read(d)) else {
            return Ok(());
        };
        if stored::get(w, doc)?.is_some() {
            return Ok(()); // already recorded; later edits of the document change nothing
        }
        let now = self.office.clock.now_ms();
        let open = stored::open_for(w, &r.licence_no)?;
        let today = china_date(now).strftime("%Y%m%d").to_string();
        let verdict = match licences::get(w, &r.licence_no)? {
            None => Err(format!("no licence {} was issued here", r.licence_no)),
            Some(l) => {
                let standing = licences::standing(w, &r.licence_no)?;
                let uses = crate::store::usage::counted(w, &r.licence_no)?.uses;
                policy::check(r.kind, &l, owner, standing, open, &today)
                    .and_then(|()| policy::check_usage(r.kind, &l, uses))
                    .map_err(|m| m.trim_start_matches("licence_no: ").to_owned())
                    .map(|()| l)
            }
        };
        let mut rec = Record {
            kind: r.kind,
            licence_no: r.licence_no.clone(),
            status: Status::Pending,
            created_ms: now,
            decided_ms: 0,
            reason: String::new(),
            owner: owner.to_owned(),
        };
        if let Err(why) = &verdict {
            rec.status = Status::Rejected;
            rec.decided_ms = now;
            rec.reason = why.clone();
        }
        stored::put(w, doc, &rec)?;
        audit::append(
            w,
            now,
            owner,
            doc,
            &format!("licence_request.{}", r.kind.code()),
            &match &verdict {
                Ok(_) => format!("@result=pending;licence_no={}", r.licence_no),
                Err(why) => format!("@result=refused;licence_no={};reason={why}", r.licence_no),
            },
        )?;
        if verdict.is_err()
            && let Some(l) = licences::get(w, &r.licence_no)?
            && l.exporter[2] == owner
        {
            put_request_decision(w, owner, &l, doc, &rec, None, now)?;
        }
        Ok(())
    }

    /// 删证/核销 requests, by status, oldest first.
    pub fn list(&self, status: Option<Status>) -> Result<Vec<(DocId, Record)>, AuthorityError> {
        let mut out = stored::all(&self.office.store.read()?)?;
        out.retain(|(_, r)| status.is_none_or(|s| r.status == s));
        out.sort_by_key(|(_, r)| r.created_ms);
        Ok(out)
    }

    /// What the office holds of licence `no`'s standing: its newest signed statement and
    /// the recorded standing.
    pub fn standing_evidence(
        &self,
        no: &str,
    ) -> Result<(Option<Vec<u8>>, exlic_client::standing::State), AuthorityError> {
        let txn = self.office.store.read()?;
        Ok((
            licences::statement(&txn, no)?,
            licences::standing(&txn, no)?.state(),
        ))
    }

    /// A licence's standing here.
    pub fn standing(&self, no: &str) -> Result<Standing, AuthorityError> {
        Ok(licences::standing(&self.office.store.read()?, no)?)
    }

    /// 审核通过 / 审核不通过 of a 删证/核销 request; a refusal needs its reason.
    pub fn decide(
        &self,
        id: DocId,
        approve: bool,
        reason: &str,
        actor: &str,
    ) -> Result<Record, AuthorityError> {
        let reason = reason.trim();
        if !approve && reason.is_empty() {
            return Err(AuthorityError::bad_input(
                "reason",
                "a refusal must give its reason",
            ));
        }
        let done = self.office.run(Op::LicenceRequest {
            request: id.0,
            approve,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
        })?;
        if done != Outcome::LicenceRequestDecided {
            return Err(Outcome::unexpected(done));
        }
        stored::get(&self.office.store.read()?, id)?
            .ok_or_else(|| AuthorityError::not_found("request", format!("no request {id}")))
    }
}

/// Applies the decision on request `id` stamped `now` (see [`LicenceRequests::decide`]).
pub(super) fn apply_decision(
    office: &Office,
    w: &mut WriteBatch<'_>,
    now: i64,
    id: DocId,
    approve: bool,
    reason: &str,
    actor: &str,
) -> Result<Outcome, AuthorityError> {
    let mut rec = stored::get(w, id)?
        .ok_or_else(|| AuthorityError::not_found("request", format!("no request {id}")))?;
    if rec.status != Status::Pending {
        return Err(AuthorityError::wrong_state(
            "status",
            format!("the request is already {}", rec.status.code()),
        ));
    }
    let l = licences::get(w, &rec.licence_no)?.ok_or_else(|| {
        AuthorityError::not_found("licence_no", format!("no licence {}", rec.licence_no))
    })?;
    if approve {
        let uses = crate::store::usage::counted(w, &rec.licence_no)?.uses;
        policy::check_usage(rec.kind, &l, uses).map_err(|m| {
            AuthorityError::wrong_state(
                "licence_no",
                m.trim_start_matches("licence_no: ").to_owned(),
            )
        })?;
    }
    rec.status = if approve {
        Status::Approved
    } else {
        Status::Rejected
    };
    rec.reason = reason.to_owned();
    rec.decided_ms = now;
    stored::put(w, id, &rec)?;
    let mut standing = None;
    if approve {
        let s = Standing::after(rec.kind);
        licences::set_standing(w, &rec.licence_no, s)?;
        let (at, key) = office.signer_at(now);
        let statement = put_statement(w, &rec.licence_no, s.state(), now.min(at), at, &key)?;
        standing = Some((s, statement));
    }
    let owner = rec.owner.clone();
    put_request_decision(w, &owner, &l, id, &rec, standing, now)?;
    super::translog::sign_head(office, w, now)?;
    audit::append(
        w,
        now,
        actor,
        id,
        &format!(
            "licence_request.{}.{}",
            rec.kind.code(),
            if approve { "approve" } else { "reject" }
        ),
        &format!("@licence_no={};reason={reason}", rec.licence_no),
    )?;
    Ok(Outcome::LicenceRequestDecided)
}

/// Writes a decision into the case document of the licence's application.
fn put_request_decision(
    w: &mut WriteBatch<'_>,
    owner: &str,
    l: &Licence,
    request: DocId,
    rec: &Record,
    standing: Option<(Standing, Vec<u8>)>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let cid = case_doc::case_id(l.application_id);
    let Some(mut case) = w.doc(cid)?.and_then(|d| case_doc::read(d)) else {
        return Ok(());
    };
    case.licence = Vec::new(); // unchanged; `write` skips it when empty
    case.licence_proof = Vec::new();
    if let Some((s, statement)) = standing {
        case.standing = statement;
        if s != Standing::Valid {
            case.licence_state = s.code().to_owned();
        }
    }
    case.requests = vec![(
        request.to_string(),
        rec.status.code().to_owned(),
        rec.reason.clone(),
    )];
    super::case_docs::put(
        w,
        owner,
        &case,
        &format!("{}|{}|{}", rec.kind.code(), rec.status.code(), rec.reason),
        now_ms,
    )
}

/// Signs the office's standing statement of licence `no` with `key` at `as_of_ms` and keeps
/// it as the newest, puts the licence on the standing feed (what customs nodes follow) and
/// the statement in the log (the caller signs the log's head before it commits); returns
/// the signed statement (it rides to the enterprise in the case).
pub(super) fn put_statement(
    w: &WriteBatch<'_>,
    no: &str,
    state: exlic_client::standing::State,
    since_ms: i64,
    as_of_ms: i64,
    key: &ed25519_dalek::SigningKey,
) -> Result<Vec<u8>, StoreError> {
    let signed = exlic_client::standing::Standing {
        licence_no: no.to_owned(),
        state,
        since_ms,
        as_of_ms,
        authority_key: key.verifying_key().to_bytes(),
    }
    .sign(key);
    licences::put_statement(w, no, &signed)?;
    crate::store::usage::feed_append(w, no)?;
    super::translog::append(w, EntryKind::Standing, &signed, no)?;
    Ok(signed)
}
