//! What every part of the enterprise role shares: its store and clock, who the enterprise
//! is, the settings and reference data in force, and this device's seal key; with the
//! reads several parts make (an application's state, its list row, the authority's keys).

use std::sync::Arc;

use automerge::transaction::CommitOptions;
use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::application::{ApplicationForm, ApplicationSummary};

use crate::clock::{Clock, china_date};
use crate::domain::reference::{Current, Reference};
use crate::domain::rules::{self, Context};
use crate::domain::totals;
use crate::store::app_state::{self, AppState};
use crate::store::{Store, WriteBatch, docs, index};
use exlic_client::certificate::Trust;

use super::{EnterpriseError, Identity, Result, Settings};

/// The enterprise role's shared context.
#[derive(Debug)]
pub struct Device {
    pub(super) store: Arc<Store>,
    /// The reference data in force: the office's newest release once one has synced,
    /// else this node's own (`[reference] dir` or the built-in data).
    pub(super) reference: Current,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) identity: Identity,
    pub(super) settings: Settings,
    /// This device's seal key.
    pub(super) key: SigningKey,
}

impl Device {
    /// This device's public seal key.
    pub(super) fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The reference data in force now.
    pub(super) fn reference(&self) -> Arc<Reference> {
        self.reference.get()
    }

    /// What the rules need to know about this node and today, over `reference`.
    /// `agency`: the office the form goes to ([`Self::agency_for`]).
    pub(super) fn ctx<'a>(
        &'a self,
        reference: &'a Reference,
        agency: &'a str,
        attachment_count: usize,
    ) -> Context<'a> {
        Context {
            reference,
            today: china_date(self.clock.now_ms()),
            enterprise_uscc: &self.identity.enterprise_uscc,
            agency_code: agency,
            limits: &self.settings.limits,
            uscc_allow_list: &self.settings.uscc_allow_list,
            attachment_count,
            has_device_key: true,
        }
    }

    /// The 暂存 rules over a form.
    pub(super) fn check_draft(&self, form: &ApplicationForm) -> Result<()> {
        let agency = self.agency_for(form);
        let errs = rules::check_draft(form, &self.ctx(&self.reference(), &agency, 0));
        if errs.is_empty() {
            Ok(())
        } else {
            Err(EnterpriseError::Invalid(errs))
        }
    }

    /// The agency code of the office `form` goes to (see [`super::offices`]).
    pub(super) fn agency_for(&self, form: &ApplicationForm) -> String {
        let link = self.office_for(&form.quota_year, &form.commodity_code);
        self.agency(&link).to_owned()
    }

    /// The application's list row.
    pub(super) fn summary(
        &self,
        id: DocId,
        form: &ApplicationForm,
        state: &AppState,
    ) -> ApplicationSummary {
        let t = totals::compute(form, &self.reference());
        ApplicationSummary {
            id,
            status: state.status,
            application_no: state.application_no.clone(),
            application_date: state.application_date.to_string(),
            created_at_ms: state.created_at_ms,
            commodity_code: form.commodity_code.clone(),
            commodity_name: self.commodity_name(form).unwrap_or_default(),
            quantity: t.total_quantity,
            trade_mode: form.trade_mode.clone(),
            quota_year: form.quota_year.clone(),
            batch_mode: form.batch_mode.clone(),
            licence_no: state.licence_no.clone(),
            contract_no: form.contract_no.clone(),
        }
    }

    /// 商品名称 from the reference data (the quota year's catalogue, else any year's).
    pub(super) fn commodity_name(&self, form: &ApplicationForm) -> Option<String> {
        let r = self.reference();
        let entry = rules::parse_year(&form.quota_year)
            .and_then(|y| r.commodity(y, &form.commodity_code))
            .or_else(|| r.commodity_any_year(&form.commodity_code))?;
        Some(entry.name.clone())
    }

    /// An application's state, or not found.
    pub(super) fn state(txn: &impl crate::store::Txn, id: DocId) -> Result<AppState> {
        app_state::get(txn, id)?.ok_or(EnterpriseError::NotFound(id))
    }

    /// Writes an application's state.
    pub(super) fn put_state(w: &WriteBatch<'_>, id: DocId, s: &AppState) -> Result<()> {
        Ok(app_state::put(w, id, s)?)
    }

    /// Writes an application's state and its list row (from `form`), together.
    pub(super) fn put_state_and_row(
        &self,
        w: &WriteBatch<'_>,
        id: DocId,
        form: &ApplicationForm,
        state: &AppState,
    ) -> Result<()> {
        Self::put_state(w, id, state)?;
        index::put_summary(w, id, Some(&self.summary(id, form, state)))?;
        Ok(())
    }

    /// Automerge commit options stamped with this node's clock.
    pub(super) fn commit_opts(&self) -> CommitOptions {
        CommitOptions::default().with_time(self.clock.now_ms() / 1000)
    }

    /// What this node trusts of the authority: `root` (the key in its enrolment token)
    /// and every key rollover record synced in the public document that follows from it.
    pub(super) fn authority_trust(&self, root: &[u8; 32]) -> Result<Trust> {
        let mut trust = Trust::new(*root);
        trust.follow(&self.key_records(root)?);
        Ok(trust)
    }

    /// The key rollover records of the office whose root key is `root`, as synced in its
    /// public document, oldest first.
    pub(super) fn key_records(&self, root: &[u8; 32]) -> Result<Vec<Vec<u8>>> {
        // Read from the last commit without the document cache, so it may be called while
        // this thread holds a write batch.
        Ok(
            docs::load(&self.store.read()?, crate::store::directory_doc::id(root))?
                .map(|d| crate::store::directory_doc::read_keys(&d))
                .unwrap_or_default(),
        )
    }
}
