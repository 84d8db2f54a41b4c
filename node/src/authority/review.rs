//! Two-stage review (经办人 初审 → 处长 复审) and issuing, on the authority: each decision
//! is one transaction that updates the case row, the case document synced to the
//! enterprise, the audit trail and, on issue, the licence and its number.

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::certificate::key_id;
use exlic_client::licence::{Licence, LicenceLine};
use exlic_client::seal::SealedSubmission;
use exlic_client::status::ApplicationStatus;
use redb::ReadableTable;

use super::{Authority, AuthorityError};
use crate::clock::{china, china_date};
use crate::domain::{issuing, reference::Reference, rules, totals};
use crate::store::case_doc::{self, Case};
use crate::store::tables::*;
use crate::store::{BuiltDoc, StoreError, WriteBatch, meta_get, meta_put};

/// Which review stage decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// 初审 by the 经办人.
    Initial,
    /// 复审 by the 处长.
    Second,
}

impl Authority {
    /// Writes the case document for `app` (creating it on first use) and puts it in the
    /// enterprise's feed. Enterprises can read it but never write it.
    pub(super) fn put_case(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        case: &Case,
        event: &str,
    ) -> Result<(), StoreError> {
        self.put_case_with(w, owner, case, event, None)
    }

    /// A new case document built outside the writer (see [`Self::put_case_with`]).
    pub(super) fn build_case(&self, case: &Case, event: &str) -> Result<BuiltDoc, StoreError> {
        let id = case_doc::case_id(case.application);
        let event = format!("{}|{event}", self.clock.now_ms());
        self.store
            .build_doc(|d| case_doc::write(d, case, &event))
            .map_err(|e| StoreError::Document(id, e.to_string()))
    }

    /// [`Self::put_case`], using `built` (from [`Self::build_case`]) when the case
    /// document does not exist yet; an existing one is updated in place instead.
    pub(super) fn put_case_with(
        &self,
        w: &mut WriteBatch<'_>,
        owner: &str,
        case: &Case,
        event: &str,
        built: Option<BuiltDoc>,
    ) -> Result<(), StoreError> {
        let id = case_doc::case_id(case.application);
        if let Some(built) = built
            && crate::store::docs::kind(w.txn(), id)?.is_none()
        {
            w.insert_built_doc(id, kind::OTHER, built)?;
            w.txn().open_table(DOC_OWNER)?.insert(id.0, owner)?;
            w.txn().open_table(AUTHORITY_DOCS)?.insert(id.0, ())?;
            return Self::feed(w, owner, id, [0; 32]);
        }
        if w.doc(id)?.is_none() {
            w.create_doc(id, kind::OTHER)?;
            w.txn().open_table(DOC_OWNER)?.insert(id.0, owner)?;
            w.txn().open_table(AUTHORITY_DOCS)?.insert(id.0, ())?;
        }
        let now = self.clock.now_ms();
        let d = w.doc(id)?.expect("created");
        case_doc::write(d, case, &format!("{now}|{event}"))
            .map_err(|e| StoreError::Document(id, e.to_string()))?;
        d.commit();
        w.save_doc(id)?;
        Self::feed(w, owner, id, [0; 32])?;
        Ok(())
    }

    pub(super) fn audit(
        w: &WriteBatch<'_>,
        at: i64,
        actor: &str,
        app: DocId,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut t = w.txn().open_table(AUDIT)?;
        let seq = t.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        t.insert(seq, (at, actor, app.0, action, detail))?;
        Ok(())
    }

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
            return Err(AuthorityError::Invalid(
                "reason: a refusal must give its reason".into(),
            ));
        }
        let mut w = self.store.write()?;
        let (owner, app_no, revision, status, seal_hash, received) = {
            let t = w.txn().open_table(CASES)?;
            let g = t.get(app.0)?.ok_or_else(|| {
                AuthorityError::Invalid(format!("application: no case for {app}"))
            })?;
            let (o, n, r, s, h, at) = g.value();
            (
                o.to_owned(),
                n.to_owned(),
                r,
                ApplicationStatus::from_tag(s).ok_or(StoreError::Record("cases"))?,
                h,
                at,
            )
        };
        let expected = match stage {
            Stage::Initial => ApplicationStatus::PendingInitial,
            Stage::Second => ApplicationStatus::PendingSecond,
        };
        if status != expected {
            return Err(AuthorityError::Invalid(format!(
                "status: the application is {} ({}), not {}",
                status.zh(),
                status.code(),
                expected.zh()
            )));
        }
        let next = match (stage, approve) {
            (Stage::Initial, true) => ApplicationStatus::PendingSecond,
            (Stage::Initial, false) => ApplicationStatus::Returned,
            (Stage::Second, true) => ApplicationStatus::Issued,
            (Stage::Second, false) => ApplicationStatus::Rejected,
        };
        let (now, key) = self.signer();
        let (licence_no, licence) = if next == ApplicationStatus::Issued {
            let (no, file) = self.issue(&w, app, &app_no, revision, now, &key)?;
            (no, file)
        } else {
            (String::new(), Vec::new())
        };
        w.txn().open_table(CASES)?.insert(
            app.0,
            (
                owner.as_str(),
                app_no.as_str(),
                revision,
                next.tag(),
                seal_hash,
                received,
            ),
        )?;
        let case = Case {
            application: app,
            status: next,
            revision,
            reason: reason.to_owned(),
            licence_no: licence_no.clone(),
            licence,
            licence_state: String::new(),
            requests: Vec::new(),
        };
        let action = match (stage, approve) {
            (Stage::Initial, true) => "初审通过",
            (Stage::Initial, false) => "初审不予通过",
            (Stage::Second, true) => "复审通过",
            (Stage::Second, false) => "复审不予通过",
        };
        self.put_case(&mut w, &owner, &case, &format!("{action}|{reason}"))?;
        Self::audit(
            &w,
            now,
            actor,
            app,
            action,
            if licence_no.is_empty() {
                reason
            } else {
                &licence_no
            },
        )?;
        w.commit()?;
        tracing::info!(%app_no, action, %actor, "review decision");
        Ok((next, (!licence_no.is_empty()).then_some(licence_no)))
    }

    /// Builds, numbers and signs the licence for the sealed revision under review.
    fn issue(
        &self,
        w: &WriteBatch<'_>,
        app: DocId,
        app_no: &str,
        revision: u32,
        now: i64,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<(String, Vec<u8>), AuthorityError> {
        let env = w
            .txn()
            .open_table(SEALS)?
            .get((app.0, revision))?
            .ok_or(StoreError::Record("seals"))?
            .value()
            .to_vec();
        let sub = SealedSubmission::decode(&env).map_err(|_| StoreError::Record("seals"))?;
        let form: ApplicationForm = serde_json::from_slice(&sub.content)
            .map_err(|_| StoreError::Record("sealed content"))?;
        let today = china_date(now);
        let quota_year = rules::parse_year(&form.quota_year)
            .ok_or_else(|| AuthorityError::Invalid("quota_year: not a year".into()))?;
        let expiry = issuing::expiry(today, quota_year as i16, 6)
            .map_err(|e| AuthorityError::Invalid(format!("expiry: {e}")))?;
        // Serial per office and year, in the same transaction: unique under concurrency
        // (redb serialises writers) and across restarts.
        let serial_key = format!("licence_serial.{}", today.year());
        let serial = meta_get(w.txn(), &serial_key)?
            .and_then(|v| v.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
            + 1;
        meta_put(w.txn(), &serial_key, &serial.to_be_bytes())?;
        let licence_no = issuing::licence_no(today, &self.info.agency_code, serial)
            .map_err(|e| AuthorityError::Invalid(format!("licence_no: {e}")))?;
        let reference = Reference::embedded();
        let t = totals::compute(&form, &reference);
        let name = reference
            .commodity(quota_year, &form.commodity_code)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let mut remarks = form.remarks.clone();
        if i32::from(quota_year) > i32::from(today.year()) && !remarks.contains("1月1日") {
            remarks.push_str(&format!(" 本证自{quota_year}年1月1日起有效"));
        }
        let licence = Licence {
            licence_no: licence_no.clone(),
            application_id: app,
            application_no: app_no.into(),
            exporter: [
                form.exporter_name.clone(),
                form.exporter_code.clone(),
                form.exporter_uscc.clone(),
            ],
            consignor: [
                form.consignor_name.clone(),
                form.consignor_code.clone(),
                form.consignor_uscc.clone(),
            ],
            expiry: expiry.strftime("%Y%m%d").to_string(),
            trade_mode: form.trade_mode.clone(),
            contract_no: form.contract_no.clone(),
            customs_district: form.customs_district.clone(),
            country: form.country.clone(),
            payment_mode: form.payment_mode.clone(),
            transport_mode: form.transport_mode.clone(),
            commodity: [form.commodity_code.clone(), name],
            currency: form.currency.clone(),
            lines: form
                .goods
                .iter()
                .enumerate()
                .map(|(i, g)| LicenceLine {
                    spec: g.spec.clone(),
                    unit: g.unit.clone(),
                    quantity: g.quantity.clone(),
                    unit_price: g.unit_price.clone(),
                    amount: t.line_amounts.get(i).cloned().unwrap_or_default(),
                    amount_usd: t.line_amounts_usd.get(i).cloned().unwrap_or_default(),
                })
                .collect(),
            total: [t.total.clone(), t.total_usd],
            remarks: remarks.trim().to_owned(),
            quota_year,
            max_uses: issuing::max_uses(&form.batch_mode),
            agency: [self.info.agency_code.clone(), self.info.name.clone()],
            issue_date: jiff::Timestamp::from_millisecond(now)
                .map(|t| t.to_zoned(china()).strftime("%Y%m%d").to_string())
                .unwrap_or_default(),
            issued_at_ms: now,
            key_id: key_id(&key.verifying_key().to_bytes()),
        };
        let file = licence.sign(key);
        w.txn()
            .open_table(LICENCES)?
            .insert(licence_no.as_str(), file.as_slice())?;
        Ok((licence_no, file))
    }

    /// A signed licence by number.
    pub fn licence(&self, no: &str) -> Result<Option<Vec<u8>>, AuthorityError> {
        let t = self.store.read()?;
        Ok(t.open_table(LICENCES)?.get(no)?.map(|v| v.value().to_vec()))
    }

    /// Cases by status (an inbox), oldest received first.
    pub fn inbox(
        &self,
        status: ApplicationStatus,
    ) -> Result<Vec<(DocId, String, u32, i64)>, AuthorityError> {
        let t = self.store.read()?;
        let mut out = Vec::new();
        for e in t.open_table(CASES)?.iter()? {
            let (k, v) = e?;
            let (_, no, rev, st, _, at) = v.value();
            if st == status.tag() {
                out.push((DocId(k.value()), no.to_owned(), rev, at));
            }
        }
        out.sort_by_key(|c| c.3);
        Ok(out)
    }
}
