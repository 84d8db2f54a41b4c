//! The authority side of 删证申请 and 核销申请: requests arrive as enterprise documents,
//! are checked against the licence the authority issued (owner, standing, validity, one
//! open request), wait in the 待审核 inbox, and the decision changes the licence's
//! standing and reaches the enterprise in the application's case document.

use exlic_client::DocId;
use exlic_client::licence::Licence;
use redb::ReadableTable;

use super::{Authority, AuthorityError};
use crate::clock::china_date;
use crate::domain::licence_requests::{self, Standing};
use crate::store::licence_req::{self, Record, Status};
use crate::store::tables::{LICENCE_REQS, LICENCE_STATE, LICENCES};
use crate::store::{StoreError, WriteBatch, case_doc};

fn licence_in(w: &WriteBatch<'_>, no: &str) -> Result<Option<Licence>, StoreError> {
    let t = w.txn().open_table(LICENCES)?;
    let file = t.get(no)?.map(|v| v.value().to_vec());
    Ok(file.and_then(|f| {
        exlic_client::signed::peek(&f)
            .ok()
            .and_then(|p| Licence::decode(p).ok())
    }))
}

fn standing_in(w: &WriteBatch<'_>, no: &str) -> Result<Standing, StoreError> {
    Ok(w.txn()
        .open_table(LICENCE_STATE)?
        .get(no)?
        .map(|v| Standing::from_tag(v.value()))
        .unwrap_or(Standing::Valid))
}

impl Authority {
    /// Called for every document an enterprise changed: records a new 删证/核销 request
    /// (待审核), or refuses it at once with the reason when a guard fails.
    pub(super) fn note_licence_request(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        doc: DocId,
    ) -> Result<(), StoreError> {
        let Some(r) = w.doc(doc)?.and_then(|d| licence_req::read(d)) else {
            return Ok(());
        };
        if w.txn().open_table(LICENCE_REQS)?.get(doc.0)?.is_some() {
            return Ok(()); // already recorded; later edits of the document change nothing
        }
        let now = self.clock.now_ms();
        let open = {
            let t = w.txn().open_table(LICENCE_REQS)?;
            let mut open = false;
            for e in t.iter()? {
                let (_, v) = e?;
                if let Some(x) = Record::decode(v.value())
                    && x.licence_no == r.licence_no
                    && x.status == Status::Pending
                {
                    open = true;
                    break;
                }
            }
            open
        };
        let today = china_date(now).strftime("%Y%m%d").to_string();
        let verdict = match licence_in(w, &r.licence_no)? {
            None => Err(format!("no licence {} was issued here", r.licence_no)),
            Some(l) => {
                let standing = standing_in(w, &r.licence_no)?;
                licence_requests::check(r.kind, &l, owner, standing, open, &today)
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
        w.txn()
            .open_table(LICENCE_REQS)?
            .insert(doc.0, rec.encode().as_slice())?;
        Self::audit(
            w,
            now,
            owner,
            doc,
            r.kind.zh(),
            &match &verdict {
                Ok(_) => format!("{} 待审核", r.licence_no),
                Err(why) => format!("{} refused: {why}", r.licence_no),
            },
        )?;
        if verdict.is_err()
            && let Some(l) = licence_in(w, &r.licence_no)?
            && l.exporter[2] == owner
        {
            self.put_request_decision(w, owner, &l, doc, &rec, None)?;
        }
        Ok(())
    }

    /// Writes a decision into the case document of the licence's application.
    fn put_request_decision(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        l: &Licence,
        request: DocId,
        rec: &Record,
        standing: Option<Standing>,
    ) -> Result<(), StoreError> {
        let cid = case_doc::case_id(l.application_id);
        let Some(mut case) = w.doc(cid)?.and_then(|d| case_doc::read(d)) else {
            return Ok(());
        };
        case.licence = Vec::new(); // unchanged; `write` skips it when empty
        if let Some(s) = standing
            && s != Standing::Valid
        {
            case.licence_state = s.code().to_owned();
        }
        case.requests = vec![(
            request.to_string(),
            rec.status.code().to_owned(),
            rec.reason.clone(),
        )];
        self.put_case(
            w,
            owner,
            &case,
            &format!("{}|{}|{}", rec.kind.code(), rec.status.code(), rec.reason),
        )
    }

    /// 删证/核销 requests, by status, oldest first.
    pub fn licence_requests(
        &self,
        status: Option<Status>,
    ) -> Result<Vec<(DocId, Record)>, AuthorityError> {
        let t = self.store.read()?;
        let mut out = Vec::new();
        for e in t.open_table(LICENCE_REQS)?.iter()? {
            let (k, v) = e?;
            if let Some(r) = Record::decode(v.value())
                && status.is_none_or(|s| r.status == s)
            {
                out.push((DocId(k.value()), r));
            }
        }
        out.sort_by_key(|(_, r)| r.created_ms);
        Ok(out)
    }

    /// A licence's standing here.
    pub fn licence_standing(&self, no: &str) -> Result<Standing, AuthorityError> {
        let t = self.store.read()?;
        Ok(t.open_table(LICENCE_STATE)?
            .get(no)?
            .map(|v| Standing::from_tag(v.value()))
            .unwrap_or(Standing::Valid))
    }

    /// 审核通过 / 审核不通过 of a 删证/核销 request; a refusal needs its reason.
    pub fn decide_licence_request(
        &self,
        id: DocId,
        approve: bool,
        reason: &str,
        actor: &str,
    ) -> Result<Record, AuthorityError> {
        let reason = reason.trim();
        if !approve && reason.is_empty() {
            return Err(AuthorityError::Invalid(
                "reason: a refusal must give its reason".into(),
            ));
        }
        let mut w = self.store.write()?;
        let mut rec = w
            .txn()
            .open_table(LICENCE_REQS)?
            .get(id.0)?
            .and_then(|v| Record::decode(v.value()))
            .ok_or_else(|| AuthorityError::Invalid(format!("request: no request {id}")))?;
        if rec.status != Status::Pending {
            return Err(AuthorityError::Invalid(format!(
                "status: the request is already {}",
                rec.status.code()
            )));
        }
        let l = licence_in(&w, &rec.licence_no)?.ok_or_else(|| {
            AuthorityError::Invalid(format!("licence_no: no licence {}", rec.licence_no))
        })?;
        let now = self.clock.now_ms();
        rec.status = if approve {
            Status::Approved
        } else {
            Status::Rejected
        };
        rec.reason = reason.to_owned();
        rec.decided_ms = now;
        w.txn()
            .open_table(LICENCE_REQS)?
            .insert(id.0, rec.encode().as_slice())?;
        let standing = approve.then(|| Standing::after(rec.kind));
        if let Some(s) = standing {
            w.txn()
                .open_table(LICENCE_STATE)?
                .insert(rec.licence_no.as_str(), s.tag())?;
        }
        let owner = rec.owner.clone();
        self.put_request_decision(&mut w, &owner, &l, id, &rec, standing)?;
        Self::audit(
            &w,
            now,
            actor,
            id,
            &format!(
                "{} {}",
                rec.kind.zh(),
                if approve {
                    "审核通过"
                } else {
                    "审核不通过"
                }
            ),
            &format!("{} {reason}", rec.licence_no),
        )?;
        w.commit()?;
        Ok(rec)
    }
}
