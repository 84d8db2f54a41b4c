//! What every part of the authority shares: its store and clock, who it is, the reference
//! data licences are built from, and its keys — the identity key enrolment tokens carry
//! and the current signing key with the chain that certifies it.

use std::sync::{Arc, RwLock};

use ed25519_dalek::SigningKey;
use exlic_client::certificate::Trust;

use super::command::{self, Op, Outcome, Stamped};
use super::{AuthorityError, AuthorityInfo, META_SIGNING_KEY, key_seed};
use crate::clock::Clock;
use crate::domain::reference::{Current, Reference};
use crate::domain::rules;
use crate::store::{Store, StoreError, Txn, key_records, meta_get};

/// The authority's shared context.
#[derive(Debug)]
pub struct Office {
    pub(super) store: Arc<Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) info: AuthorityInfo,
    /// The identity key (see [`key_seed`]); signs enrolment tokens.
    pub(super) identity: SigningKey,
    /// The current signing key and the chain of keys from the identity key to it.
    pub(super) signing: RwLock<(SigningKey, Trust)>,
    /// The reference data in force: what sealed forms are re-checked against and licences
    /// are built from (its newest release, see `authority::reference`).
    pub(super) reference: Current,
    /// Set when the office is one of several replicas: its commands go through the log.
    pub(super) replicated: std::sync::OnceLock<super::replicated::Proposer>,
}

impl Office {
    /// Opens the context over an initialised store: the keys and the rollover chain.
    pub fn open(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
        reference: Arc<Reference>,
    ) -> Result<Self, AuthorityError> {
        let identity = SigningKey::from_bytes(&key_seed(&store)?);
        let signing = signing_state(&store.read()?, &identity)?;
        if crate::store::cases::needs_status_index(&store.read()?)? {
            let w = store.write()?;
            crate::store::cases::ensure_status_index(&w)?;
            w.commit()?;
        }
        if crate::store::feed::epoch(&store.read()?)? == 0 {
            let w = store.write()?;
            crate::store::feed::new_epoch(&w)?;
            w.commit()?;
        }
        // Every replica of an office writes its documents as the same Automerge actor, so
        // the changes a command makes are the same bytes on each of them.
        store.set_actor(office_actor(&identity.verifying_key().to_bytes()));
        Ok(Self {
            store,
            clock,
            info,
            identity,
            signing: RwLock::new(signing),
            reference: Current::new(reference),
            replicated: std::sync::OnceLock::new(),
        })
    }

    /// Makes write `op`: stamped with the time now, applied here at once by a lone office,
    /// or proposed to the replicas and applied from the log by each (see `command`).
    pub(super) fn run(&self, op: Op) -> Result<Outcome, AuthorityError> {
        let stamped = Stamped {
            at_ms: self.clock.now_ms(),
            op,
        };
        if let Some(p) = self.replicated.get() {
            return p.propose(&stamped);
        }
        let mut w = self.store.write()?;
        let out = command::apply(self, &mut w, &stamped);
        let committed = match out {
            Ok(out) => w.commit().map(|()| out).map_err(AuthorityError::from),
            Err(e) => Err(e),
        };
        if committed.is_err() {
            // An apply may have set a new signing key in memory (a rollover) that the
            // store did not keep: memory follows the store again.
            self.reload_signing(&self.store.read()?)?;
        }
        committed
    }

    /// Takes the signing key and its chain from `txn` again (after a rollover that was not
    /// kept, or a snapshot that replaced the office).
    pub(super) fn reload_signing(&self, txn: &impl Txn) -> Result<(), AuthorityError> {
        let state = signing_state(txn, &self.identity)?;
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = state;
        Ok(())
    }

    /// On a replicated office, waits until this replica has applied every write committed
    /// before the call (a read barrier) and says it did; a lone office is always current.
    pub(super) fn settle(&self) -> Result<bool, AuthorityError> {
        match self.replicated.get() {
            Some(p) => p.barrier().map(|()| true),
            None => Ok(false),
        }
    }

    /// The office's own check of a sealed form ([`rules::check_at_office`]): its reference
    /// data in force, its clock at `at_ms`, its agency, the enterprise the seal speaks for.
    pub fn findings(
        &self,
        enterprise: &str,
        form: &exlic_client::application::ApplicationForm,
        attachment_count: usize,
        at_ms: i64,
    ) -> Vec<exlic_client::error::FieldError> {
        let reference = self.reference();
        rules::check_at_office(
            form,
            &rules::Context {
                reference: &reference,
                today: crate::clock::china_date(at_ms),
                enterprise_uscc: enterprise,
                agency_code: &self.info.agency_code,
                limits: &rules::TextLimits::default(),
                uscc_allow_list: &[],
                attachment_count,
                has_device_key: true,
            },
        )
    }

    /// The reference data in force now.
    pub fn reference(&self) -> Arc<Reference> {
        self.reference.get()
    }

    /// What this authority's own verifications trust: its keys, from the identity key
    /// through every rollover to the current one.
    pub fn trust(&self) -> Trust {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// The time to put in an object and the key to sign it with, taken together, so an
    /// object is never signed by a key outside its span in the chain (a rollover takes the
    /// write side of the same lock).
    pub fn signer(&self) -> (i64, SigningKey) {
        self.signer_at(self.clock.now_ms())
    }

    /// [`Self::signer`] at `now_ms`, the time a command was stamped with.
    pub fn signer_at(&self, now_ms: i64) -> (i64, SigningKey) {
        let g = self.signing.read().unwrap_or_else(|p| p.into_inner());
        let from = g.1.keys().last().map(|k| k.from_ms).unwrap_or(i64::MIN);
        (now_ms.max(from), g.0.clone())
    }

    /// The origin of this office's transparency log (`exlic.office/<agency code>`).
    pub fn log_origin(&self) -> String {
        exlic_client::translog::origin(&self.info.agency_code)
    }

    /// The identity key: what enrolment tokens carry and enterprises root their trust in.
    pub fn root_key(&self) -> [u8; 32] {
        self.identity.verifying_key().to_bytes()
    }

    /// Its current signing key's public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .verifying_key()
            .to_bytes()
    }
}

/// The signing key and the chain that certifies it, as `txn` holds them: the identity key
/// until the first rollover.
pub(super) fn signing_state(
    txn: &impl Txn,
    identity: &SigningKey,
) -> Result<(SigningKey, Trust), AuthorityError> {
    let key = match meta_get(txn, META_SIGNING_KEY)? {
        Some(v) => SigningKey::from_bytes(
            &v.try_into()
                .map_err(|_| StoreError::Record("authority_signing_key"))?,
        ),
        None => identity.clone(),
    };
    let records = key_records::all(txn)?;
    let mut trust = Trust::new(identity.verifying_key().to_bytes());
    if trust.follow(&records) != records.len() || trust.current() != key.verifying_key().to_bytes()
    {
        return Err(StoreError::Record("key_records").into());
    }
    Ok((key, trust))
}

/// The Automerge actor an office writes its documents as, from its identity key: the same
/// on every replica and across restarts.
fn office_actor(root_key: &[u8; 32]) -> automerge::ActorId {
    let mut seed = b"exlic.office.actor/".to_vec();
    seed.extend_from_slice(root_key);
    automerge::ActorId::from(&exlic_client::seal::sha256(&seed)[..16])
}
