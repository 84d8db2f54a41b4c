//! The customs role (海关): one node per customs district. It checks licences presented
//! with declarations — signature and key chain, standing, 一证一关, exporter, commodity,
//! validity by its own clock, uses and quantity with the overfill tolerance — and keeps
//! each licence's usage (预核扣 → 实核注, cancel, adjust) as a signed ledger it reports to the
//! office. It follows the office's standing feed over sync and keeps working offline on
//! the last standing it holds, showing its age.
//!
//! Because of 一证一关 every deduction from a licence happens at one district: each step is
//! a local transaction. Steps go through a group commit, so many declarations share one
//! durable commit, and each is answered only after the commit that holds it. A step is
//! keyed by declaration number and item: a retry is answered with the state the first
//! made and counts nothing twice.
//!
//! Here: the node, its identity and enrolment; in `declare` the checks and steps of a
//! declaration; in `standing` the standing feed, the ledger's report position and the
//! consistency check; in `log_head` the office's log as this node follows it; in
//! `session` the sans-IO session with the office.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use ed25519_dalek::SigningKey;
use exlic_client::certificate::Trust;
use exlic_client::invite::CustomsInvite;
use exlic_client::licence::{Licence, LicenceError};
use exlic_client::licence_qr::QrPayload;
use exlic_client::standing::{FeedPage, State};
use exlic_client::usage::{
    CheckOutcome, DeclarationInput, Reason, Step, UsageEntry, UsageView, valid_declaration_no,
    valid_quantity,
};
use rust_decimal::Decimal;

use crate::accounts::Accounts;
use crate::clock::{Clock, china_date};
use crate::domain::customs::{self as policy, Counted, Declared, Item, ItemState};
use crate::domain::reference::Reference;
use crate::store::group::GroupCommit;
use crate::store::{
    Store, StoreError, WriteBatch, key_records, licences, meta_get, meta_put, usage,
};

const META_SEED: &str = "customs_seed";
const META_INVITE: &str = "customs_invite";
const META_ENROLLED: &str = "customs_enrolled";
const META_FEED_CURSOR: &str = "customs_feed_cursor";
const META_FEED_AS_OF: &str = "customs_feed_as_of";
const META_ACKED: &str = "customs_usage_acked";

/// Why a customs action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomsError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input that cannot be used, naming its field.
    #[error("{field}: {message}")]
    BadInput {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// What the request names does not exist.
    #[error("{field}: {message}")]
    NotFound {
        /// The field.
        field: String,
        /// What was not found.
        message: String,
    },
    /// Not allowed in the item's state.
    #[error("{field}: {message}")]
    WrongState {
        /// The field.
        field: String,
        /// Why.
        message: String,
    },
    /// Not initialised.
    #[error("customs node is not initialised: {0}")]
    NotInitialised(&'static str),
    /// The write batch was abandoned; nothing of it was committed.
    #[error(transparent)]
    Abandoned(#[from] crate::store::group::Abandoned),
}

crate::store::errors_via_store!(
    CustomsError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

fn bad(field: &str, message: impl Into<String>) -> CustomsError {
    CustomsError::BadInput {
        field: field.into(),
        message: message.into(),
    }
}

/// Stores what a customs node needs from its invite: a fresh node key, the token (spent at
/// the first sync) and the district. Kept if already initialised with the same district.
pub fn initialise(store: &Store, token: &str) -> Result<CustomsInvite, CustomsError> {
    let invite = CustomsInvite::from_token(token).map_err(|e| bad("token", e.to_string()))?;
    let w = store.write()?;
    if meta_get(&w, META_SEED)?.is_none() {
        meta_put(&w, META_SEED, &crate::random::bytes::<32>())?;
    }
    meta_put(&w, META_INVITE, token.trim().as_bytes())?;
    w.commit()?;
    Ok(invite)
}

/// A declaration step waiting for the group commit.
#[derive(Debug)]
enum Job {
    Reserve {
        declaration_no: String,
        item: u32,
        licence: Box<Licence>,
        file: Vec<u8>,
        declared: Declared,
        standing: (State, i64),
        check_only: bool,
    },
    Later {
        declaration_no: String,
        item: u32,
        step: Step,
        quantity: Option<Decimal>,
    },
}

type JobResult = Result<CheckOutcome, CustomsError>;

/// The customs role over one store.
pub struct Customs {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    /// The latest time this node trusts it has seen (Unix ms): the office's signed as-of
    /// time on the standing feed, and this node's own ledger entries. A clock set back
    /// below it is not believed, so an expired licence cannot be made valid again.
    floor_ms: AtomicI64,
    key: SigningKey,
    invite: CustomsInvite,
    trust: RwLock<Trust>,
    reference: Arc<Reference>,
    group: GroupCommit<Job, JobResult>,
    /// Officer accounts, sign-in, the audit trail.
    pub staff: Accounts,
}

impl std::fmt::Debug for Customs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customs")
            .field("district", &self.invite.district)
            .finish_non_exhaustive()
    }
}

impl Customs {
    /// Opens the role over an initialised store.
    pub fn open(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        reference: Arc<Reference>,
    ) -> Result<Self, CustomsError> {
        let r = store.read()?;
        let seed: [u8; 32] = meta_get(&r, META_SEED)?
            .and_then(|v| v.try_into().ok())
            .ok_or(CustomsError::NotInitialised("key"))?;
        let token = meta_get(&r, META_INVITE)?.ok_or(CustomsError::NotInitialised("invite"))?;
        let invite = CustomsInvite::from_token(&String::from_utf8_lossy(&token))
            .map_err(|_| CustomsError::NotInitialised("invite"))?;
        let mut trust = Trust::new(invite.authority_key);
        trust.follow(&key_records::all(&r)?);
        let fed_as_of = meta_get(&r, META_FEED_AS_OF)?
            .and_then(|v| v.try_into().ok())
            .map_or(0, i64::from_be_bytes);
        let last_entry = usage::ledger_from(&r, usage::ledger_last(&r)?, 1)?
            .first()
            .and_then(|e| UsageEntry::decode(exlic_client::signed::peek(e).ok()?).ok())
            .map_or(0, |e| e.at_ms);
        drop(r);
        Ok(Self {
            staff: Accounts::new(store.clone(), clock.clone()),
            store,
            clock,
            floor_ms: AtomicI64::new(fed_as_of.max(last_entry)),
            key: SigningKey::from_bytes(&seed),
            invite,
            trust: RwLock::new(trust),
            reference,
            group: GroupCommit::default(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The reference data it decides with (the overfill tolerance per commodity).
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Now, Unix ms: this node's clock, or the latest time it trusts having seen when the
    /// clock is behind that.
    pub fn now_ms(&self) -> i64 {
        self.clock
            .now_ms()
            .max(self.floor_ms.load(Ordering::Relaxed))
    }

    /// How far this node's clock is behind the latest time it trusts (Unix ms), when by
    /// more than a minute: the checks then go by that time, and the officer is told.
    pub fn clock_behind_ms(&self) -> Option<i64> {
        let behind = self.floor_ms.load(Ordering::Relaxed) - self.clock.now_ms();
        (behind > 60_000).then_some(behind)
    }

    /// The district (关区) code.
    pub fn district(&self) -> &str {
        &self.invite.district
    }

    /// The district's name.
    pub fn district_name(&self) -> &str {
        &self.invite.district_name
    }

    /// The office's root key.
    pub fn authority_key(&self) -> [u8; 32] {
        self.invite.authority_key
    }

    /// Where the office listens.
    pub fn authority_addrs(&self) -> &[String] {
        &self.invite.addrs
    }

    /// The node key's seed (its libp2p identity).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The node key's public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The invite secret, until the office has enrolled this node.
    pub fn invite_secret(&self) -> Result<Option<[u8; 32]>, CustomsError> {
        let enrolled = meta_get(&self.store.read()?, META_ENROLLED)?.is_some();
        Ok((!enrolled).then_some(self.invite.secret))
    }

    /// Records that the office enrolled this node.
    pub fn set_enrolled(&self) -> Result<(), CustomsError> {
        let w = self.store.write()?;
        meta_put(&w, META_ENROLLED, &[1])?;
        w.commit()?;
        Ok(())
    }

    /// The office's key chain as this node knows it.
    pub fn trust(&self) -> Trust {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn today(&self) -> String {
        china_date(self.now_ms()).strftime("%Y%m%d").to_string()
    }
}

mod declare;
pub mod log_head;
pub mod session;
mod standing;

#[cfg(test)]
mod tests;
