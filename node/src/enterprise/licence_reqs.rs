//! The enterprise side of 删证申请 and 核销申请: the read-only fields filled (offline)
//! from a licence this node holds, the guards, the request document that carries the
//! request to the authority, and the authority's decisions arriving in case documents.

use exlic_client::DocId;
use exlic_client::licence::Licence;
use redb::ReadableTable;

use super::{Enterprise, EnterpriseError, Result};
use crate::clock::china_date;
use crate::domain::licence_requests::{self, Filled, Kind, Standing};
use crate::store::case_doc::Case;
use crate::store::licence_req::{self, Record, RequestDoc, Status};
use crate::store::tables::{self, LICENCE_REQS, LICENCE_STATE, kind};
use crate::store::{StoreError, WriteBatch};

fn bad(message: impl Into<String>) -> EnterpriseError {
    EnterpriseError::BadInput {
        field: "licence_no".into(),
        message: message.into(),
    }
}

impl Enterprise {
    /// A licence this node holds, with its standing.
    pub fn held_licence(&self, licence_no: &str) -> Result<(Licence, Standing)> {
        let t = self.store.read()?;
        let file = t
            .open_table(tables::LICENCES)?
            .get(licence_no.trim())?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| {
                bad(format!(
                    "no licence {} on this node (it arrives with the case once issued)",
                    licence_no.trim()
                ))
            })?;
        let l = exlic_client::signed::peek(&file)
            .ok()
            .and_then(|p| Licence::decode(p).ok())
            .ok_or(StoreError::Record("licences"))?;
        let standing = t
            .open_table(LICENCE_STATE)?
            .get(licence_no.trim())?
            .map(|v| Standing::from_tag(v.value()))
            .unwrap_or(Standing::Valid);
        Ok((l, standing))
    }

    /// The standing of every licence that is no longer valid (absent: valid), in one read.
    pub fn licence_standings(&self) -> Result<std::collections::HashMap<String, Standing>> {
        let t = self.store.read()?;
        let mut out = std::collections::HashMap::new();
        for e in t.open_table(LICENCE_STATE)?.iter()? {
            let (k, v) = e?;
            out.insert(k.value().to_owned(), Standing::from_tag(v.value()));
        }
        Ok(out)
    }

    /// The form's read-only fields for `licence_no`, or why a request cannot be made.
    pub fn prefill_licence_request(&self, kind: Kind, licence_no: &str) -> Result<Filled> {
        let (l, standing) = self.held_licence(licence_no)?;
        let open = self.open_request_for(&l.licence_no)?;
        licence_requests::check(
            kind,
            &l,
            &self.identity.enterprise_uscc,
            standing,
            open,
            &self.today_key(),
        )
        .map_err(|m| bad(m.trim_start_matches("licence_no: ").to_owned()))?;
        Ok(licence_requests::fill(&l))
    }

    fn today_key(&self) -> String {
        china_date(self.clock.now_ms())
            .strftime("%Y%m%d")
            .to_string()
    }

    fn open_request_for(&self, licence_no: &str) -> Result<bool> {
        let t = self.store.read()?;
        for e in t.open_table(LICENCE_REQS)?.iter()? {
            let (_, v) = e?;
            if let Some(r) = Record::decode(v.value())
                && r.licence_no == licence_no
                && r.status == Status::Pending
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// 保存: checks the guards and records the request; it reaches the authority on the
    /// next sync (as a document this enterprise owns).
    pub fn request_licence_change(&self, kind: Kind, licence_no: &str) -> Result<(DocId, Record)> {
        self.prefill_licence_request(kind, licence_no)?;
        let now = self.clock.now_ms();
        let id = DocId(crate::random::bytes());
        let rec = Record {
            kind,
            licence_no: licence_no.trim().to_owned(),
            status: Status::Pending,
            created_ms: now,
            decided_ms: 0,
            reason: String::new(),
            owner: self.identity.enterprise_uscc.clone(),
        };
        let mut w = self.store.write()?;
        let d = w.create_doc(id, kind::OTHER)?;
        licence_req::write(
            d,
            &RequestDoc {
                kind,
                licence_no: rec.licence_no.clone(),
                created_ms: now,
            },
        )
        .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        w.txn()
            .open_table(LICENCE_REQS)?
            .insert(id.0, rec.encode().as_slice())?;
        w.commit()?;
        Ok((id, rec))
    }

    /// Every 删证/核销 request of this enterprise known here, newest first.
    pub fn licence_requests(&self) -> Result<Vec<(DocId, Record)>> {
        let t = self.store.read()?;
        let mut out = Vec::new();
        for e in t.open_table(LICENCE_REQS)?.iter()? {
            let (k, v) = e?;
            if let Some(r) = Record::decode(v.value()) {
                out.push((DocId(k.value()), r));
            }
        }
        out.sort_by_key(|(_, r)| std::cmp::Reverse(r.created_ms));
        Ok(out)
    }

    /// A request made on another device of this enterprise, arriving through sync.
    pub(super) fn note_request_doc(
        &self,
        w: &mut WriteBatch<'_>,
        id: DocId,
        r: RequestDoc,
    ) -> Result<()> {
        let mut t = w.txn().open_table(LICENCE_REQS)?;
        if t.get(id.0)?.is_none() {
            let rec = Record {
                kind: r.kind,
                licence_no: r.licence_no,
                status: Status::Pending,
                created_ms: r.created_ms,
                decided_ms: 0,
                reason: String::new(),
                owner: self.identity.enterprise_uscc.clone(),
            };
            t.insert(id.0, rec.encode().as_slice())?;
        }
        Ok(())
    }

    /// The authority's decisions on requests and the licence's standing, from its case.
    pub(super) fn apply_licence_decisions(
        &self,
        w: &mut WriteBatch<'_>,
        case: &Case,
    ) -> Result<()> {
        let now = self.clock.now_ms();
        {
            let mut t = w.txn().open_table(LICENCE_REQS)?;
            for (id, outcome, reason) in &case.requests {
                let Ok(id) = id.parse::<DocId>() else {
                    continue;
                };
                let Some(status) = Status::parse(outcome) else {
                    continue;
                };
                let current = t.get(id.0)?.and_then(|v| Record::decode(v.value()));
                let Some(mut rec) = current else {
                    continue;
                };
                if rec.status != status {
                    rec.status = status;
                    rec.reason = reason.clone();
                    rec.decided_ms = now;
                    t.insert(id.0, rec.encode().as_slice())?;
                }
            }
        }
        let standing = match case.licence_state.as_str() {
            "deleted" => Standing::Deleted,
            "written_off" => Standing::WrittenOff,
            _ => return Ok(()),
        };
        if !case.licence_no.is_empty() {
            w.txn()
                .open_table(LICENCE_STATE)?
                .insert(case.licence_no.as_str(), standing.tag())?;
        }
        Ok(())
    }
}
