//! The enterprise side of 删证申请 and 核销申请: the read-only fields filled (offline)
//! from a licence this node holds, the guards, the request document that carries the
//! request to the authority, and the authority's decisions arriving in case documents.

use exlic_client::DocId;
use exlic_client::licence::Licence;

use super::{EnterpriseError, Result};
use crate::clock::china_date;
use crate::domain::licence_request::{self as policy, Filled, Kind, Standing};
use crate::store::case_doc::Case;
use crate::store::kind;
use crate::store::licence_request::{self as stored, Record, RequestDoc, Status};
use crate::store::{StoreError, WriteBatch, licences};

fn bad(message: impl Into<String>) -> EnterpriseError {
    EnterpriseError::BadInput {
        field: "licence_no".into(),
        message: message.into(),
    }
}

/// 删证 and 核销 requests of this enterprise.
#[derive(Debug, Clone)]
pub struct LicenceRequests {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl LicenceRequests {
    /// A licence this node holds, with its standing.
    pub fn held_licence(&self, licence_no: &str) -> Result<(Licence, Standing)> {
        let t = self.device.store.read()?;
        let file = licences::file(&t, licence_no.trim())?.ok_or_else(|| {
            bad(format!(
                "no licence {} on this node (it arrives with the case once issued)",
                licence_no.trim()
            ))
        })?;
        let l = exlic_client::signed::peek(&file)
            .ok()
            .and_then(|p| Licence::decode(p).ok())
            .ok_or(StoreError::Record("licences"))?;
        let standing = licences::standing(&t, licence_no.trim())?;
        Ok((l, standing))
    }

    /// The standing of every licence that is no longer valid (absent: valid), in one read.
    pub fn standings(&self) -> Result<std::collections::HashMap<String, Standing>> {
        Ok(licences::standings(&self.device.store.read()?)?
            .into_iter()
            .collect())
    }

    /// What this node holds of licence `no`'s standing: the office's newest signed
    /// statement and the standing recorded from its case.
    pub fn standing_evidence(
        &self,
        no: &str,
    ) -> Result<(Option<Vec<u8>>, exlic_client::standing::State)> {
        let txn = self.device.store.read()?;
        Ok((
            licences::statement(&txn, no)?,
            licences::standing(&txn, no)?.state(),
        ))
    }

    /// Licence `no`'s usage at customs as the office last told this node (none before
    /// any use was reported).
    pub fn usage(&self, no: &str) -> Result<Option<exlic_client::usage::UsageView>> {
        let txn = self.device.store.read()?;
        Ok(crate::store::usage::view(&txn, no)?.and_then(|j| serde_json::from_slice(&j).ok()))
    }

    /// The form's read-only fields for `licence_no`, or why a request cannot be made.
    pub fn prefill(&self, kind: Kind, licence_no: &str) -> Result<Filled> {
        let (l, standing) = self.held_licence(licence_no)?;
        let open = self.open_request_for(&l.licence_no)?;
        policy::check(
            kind,
            &l,
            &self.device.identity.enterprise_uscc,
            standing,
            open,
            &self.today_key(),
        )
        .and_then(|()| policy::check_usage(kind, &l, self.uses_of(&l.licence_no)))
        .map_err(|m| bad(m.trim_start_matches("licence_no: ").to_owned()))?;
        Ok(policy::fill(&l))
    }

    /// Uses of licence `no` at customs, as the office last told this node.
    fn uses_of(&self, no: &str) -> u32 {
        self.usage(no).ok().flatten().map_or(0, |v| v.uses)
    }

    fn today_key(&self) -> String {
        china_date(self.device.clock.now_ms())
            .strftime("%Y%m%d")
            .to_string()
    }

    fn open_request_for(&self, licence_no: &str) -> Result<bool> {
        Ok(stored::open_for(&self.device.store.read()?, licence_no)?)
    }

    /// 保存: checks the guards and records the request; it reaches the authority on the
    /// next sync (as a document this enterprise owns).
    pub fn request(&self, kind: Kind, licence_no: &str) -> Result<(DocId, Record)> {
        self.prefill(kind, licence_no)?;
        // The request goes to the office that issued the licence.
        let (licence, _) = self.held_licence(licence_no)?;
        let office = self.device.office_of_agency(&licence.agency[0]);
        let now = self.device.clock.now_ms();
        let id = DocId(crate::random::bytes());
        let rec = Record {
            kind,
            licence_no: licence_no.trim().to_owned(),
            status: Status::Pending,
            created_ms: now,
            decided_ms: 0,
            reason: String::new(),
            owner: self.device.identity.enterprise_uscc.clone(),
        };
        let mut w = self.device.store.write()?;
        let d = w.create_doc(id, kind::OTHER)?;
        stored::write(
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
        stored::put(&w, id, &rec)?;
        super::offices::record(&w, id, &office)?;
        w.commit()?;
        Ok((id, rec))
    }

    /// Every 删证/核销 request of this enterprise known here, newest first.
    pub fn list(&self) -> Result<Vec<(DocId, Record)>> {
        let mut out = stored::all(&self.device.store.read()?)?;
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
        if stored::get(w, id)?.is_none() {
            let rec = Record {
                kind: r.kind,
                licence_no: r.licence_no,
                status: Status::Pending,
                created_ms: r.created_ms,
                decided_ms: 0,
                reason: String::new(),
                owner: self.device.identity.enterprise_uscc.clone(),
            };
            stored::put(w, id, &rec)?;
        }
        Ok(())
    }

    /// The authority's decisions on requests and the licence's standing, from its case.
    pub(super) fn apply_licence_decisions(
        &self,
        w: &mut WriteBatch<'_>,
        case: &Case,
    ) -> Result<()> {
        let now = self.device.clock.now_ms();
        {
            for (id, outcome, reason) in &case.requests {
                let Ok(id) = id.parse::<DocId>() else {
                    continue;
                };
                let Some(status) = Status::parse(outcome) else {
                    continue;
                };
                let Some(mut rec) = stored::get(w, id)? else {
                    continue;
                };
                if rec.status != status {
                    rec.status = status;
                    rec.reason = reason.clone();
                    rec.decided_ms = now;
                    stored::put(w, id, &rec)?;
                }
            }
        }
        let standing = match case.licence_state.as_str() {
            "deleted" => Standing::Deleted,
            "written_off" => Standing::WrittenOff,
            _ => return Ok(()),
        };
        if !case.licence_no.is_empty() {
            licences::set_standing(w, &case.licence_no, standing)?;
        }
        Ok(())
    }
}
