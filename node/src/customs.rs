//! The customs role (海关): one node per customs district. It checks licences presented
//! with declarations — signature and key chain, standing, 一证一关, exporter, commodity,
//! validity by its own clock, uses and quantity with the overfill tolerance — and keeps
//! each licence's usage (预核扣 → 实核注, cancel, adjust) as a signed ledger it reports to the
//! office. It follows the office's standing feed over sync and keeps working offline on
//! the last standing it holds, showing its age.
//!
//! A district checks every office's licences, so a node follows each office it enrolled
//! with: its home office (`exlic init customs`) and any other (`exlic add-office`, with
//! that office's customs invite for the same district). Per office it keeps the key chain,
//! the standing feed's position, the log head and how much of the usage ledger the office
//! holds; a licence is checked against the office its agency code names. Every office is
//! sent the whole ledger (each folds the entries of its own licences and keeps the rest),
//! so the ledger stays one numbered sequence the offices can each check for gaps.
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
use crate::upstream::Link;

const META_SEED: &str = "customs_seed";
const META_INVITE: &str = "customs_invite";
const META_ENROLLED: &str = "customs_enrolled";
const META_FEED_CURSOR: &str = "customs_feed_cursor";
const META_FEED_AS_OF: &str = "customs_feed_as_of";
const META_ACKED: &str = "customs_usage_acked";
/// `META`: the agency codes of the other offices, comma-separated, in the order added.
const META_OFFICES: &str = "customs_offices";

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

/// Records another office this node follows, from that office's customs invite for the
/// same district (`exlic add-office` on a stopped node); returns its agency code. Refused,
/// naming `token` and changing nothing: another district's invite, one with no agency code
/// (issued before customs could follow several offices), and an office already followed.
pub fn add_office(store: &Store, token: &str) -> Result<String, CustomsError> {
    let invite = CustomsInvite::from_token(token).map_err(|e| bad("token", e.to_string()))?;
    let w = store.write()?;
    let home = meta_get(&w, META_INVITE)?
        .and_then(|t| CustomsInvite::from_token(&String::from_utf8_lossy(&t)).ok())
        .ok_or(CustomsError::NotInitialised("invite"))?;
    if invite.district != home.district {
        return Err(bad(
            "token",
            format!(
                "the invite is for district {}, this node is district {}",
                invite.district, home.district
            ),
        ));
    }
    let code = invite.agency_code.clone();
    if !crate::domain::issuing::valid_agency_code(&code) {
        return Err(bad(
            "token",
            "the invite names no office code (issued by an older office): ask for a new one",
        ));
    }
    let mut codes = other_offices(&w)?;
    if invite.authority_key == home.authority_key || code == home.agency_code {
        return Err(bad(
            "token",
            format!("office {code} is this node's home office already"),
        ));
    }
    if codes.contains(&code) {
        return Err(bad(
            "token",
            format!("this node follows office {code} already"),
        ));
    }
    meta_put(
        &w,
        &Link::Other(code.clone()).key(META_INVITE),
        token.trim().as_bytes(),
    )?;
    codes.push(code.clone());
    meta_put(&w, META_OFFICES, codes.join(",").as_bytes())?;
    w.commit()?;
    Ok(code)
}

/// The agency codes of the offices other than home, in the order added.
fn other_offices(txn: &impl crate::store::Txn) -> Result<Vec<String>, StoreError> {
    Ok(meta_get(txn, META_OFFICES)?
        .map(|v| {
            String::from_utf8_lossy(&v)
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// One office this node follows.
#[derive(Debug)]
struct Office {
    link: Link,
    invite: CustomsInvite,
    /// Its key chain as this node knows it.
    trust: RwLock<Trust>,
}

/// Where an office is, for the sync loop that follows it.
#[derive(Debug, Clone)]
pub struct OfficeLink {
    /// Which office.
    pub link: Link,
    /// Its agency code (empty: a home office enrolled with a version-1 invite).
    pub agency_code: String,
    /// Its root key.
    pub authority_key: [u8; 32],
    /// Where it listens.
    pub addrs: Vec<String>,
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
    /// Every office followed; the first is home.
    offices: Vec<Office>,
    reference: Arc<Reference>,
    group: GroupCommit<Job, JobResult>,
    /// Officer accounts, sign-in, the audit trail.
    pub staff: Accounts,
}

impl std::fmt::Debug for Customs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customs")
            .field("district", &self.district())
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
        let mut offices = Vec::new();
        let links =
            std::iter::once(Link::Home).chain(other_offices(&r)?.into_iter().map(Link::Other));
        let mut fed_as_of = 0;
        for link in links {
            let token = meta_get(&r, &link.key(META_INVITE))?
                .ok_or(CustomsError::NotInitialised("invite"))?;
            let invite = CustomsInvite::from_token(&String::from_utf8_lossy(&token))
                .map_err(|_| CustomsError::NotInitialised("invite"))?;
            let mut trust = Trust::new(invite.authority_key);
            trust.follow(&key_records::all_of(&r, link.other())?);
            fed_as_of = meta_get(&r, &link.key(META_FEED_AS_OF))?
                .and_then(|v| v.try_into().ok())
                .map_or(0, i64::from_be_bytes)
                .max(fed_as_of);
            offices.push(Office {
                link,
                invite,
                trust: RwLock::new(trust),
            });
        }
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
            offices,
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
        &self.home().invite.district
    }

    /// The district's name.
    pub fn district_name(&self) -> &str {
        &self.home().invite.district_name
    }

    /// The home office's root key.
    pub fn authority_key(&self) -> [u8; 32] {
        self.home().invite.authority_key
    }

    /// Every office this node follows, home first.
    pub fn offices(&self) -> Vec<OfficeLink> {
        self.offices
            .iter()
            .map(|o| OfficeLink {
                link: o.link.clone(),
                agency_code: o.invite.agency_code.clone(),
                authority_key: o.invite.authority_key,
                addrs: o.invite.addrs.clone(),
            })
            .collect()
    }

    fn home(&self) -> &Office {
        &self.offices[0]
    }

    /// The office of `link` (home for one this node does not follow).
    fn office(&self, link: &Link) -> &Office {
        self.offices
            .iter()
            .find(|o| &o.link == link)
            .unwrap_or(self.home())
    }

    /// The office whose licences carry agency code `code`: another office followed with
    /// that code, else home (whose key then decides whether the licence verifies).
    pub fn office_of_agency(&self, code: &str) -> Link {
        self.offices[1..]
            .iter()
            .find(|o| o.invite.agency_code == code)
            .map_or(Link::Home, |o| o.link.clone())
    }

    /// The office a licence file says issued it (its box 20 agency code), read before
    /// the signature is checked so it can be checked under that office's key chain.
    fn office_of_file(&self, file: &[u8]) -> Link {
        exlic_client::signed::peek(file)
            .ok()
            .and_then(|p| Licence::decode(p).ok())
            .map_or(Link::Home, |l| self.office_of_agency(&l.agency[0]))
    }

    /// The node key's seed (its libp2p identity).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The node key's public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The invite secret of the office of `link`, until that office has enrolled this
    /// node.
    pub fn invite_secret(&self, link: &Link) -> Result<Option<[u8; 32]>, CustomsError> {
        let enrolled = meta_get(&self.store.read()?, &link.key(META_ENROLLED))?.is_some();
        Ok((!enrolled).then_some(self.office(link).invite.secret))
    }

    /// Records that the office of `link` enrolled this node.
    pub fn set_enrolled(&self, link: &Link) -> Result<(), CustomsError> {
        let w = self.store.write()?;
        meta_put(&w, &link.key(META_ENROLLED), &[1])?;
        w.commit()?;
        Ok(())
    }

    /// The key chain of the office of `link` as this node knows it.
    pub fn trust(&self, link: &Link) -> Trust {
        self.office(link)
            .trust
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The key chain a licence file is checked against: that of the office it names.
    pub fn trust_for(&self, file: &[u8]) -> Trust {
        self.trust(&self.office_of_file(file))
    }

    fn today(&self) -> String {
        china_date(self.now_ms()).strftime("%Y%m%d").to_string()
    }
}

mod declare;
pub mod log_head;
pub mod session;
mod standing;

pub use standing::{Links, OfficeState};

#[cfg(test)]
mod tests;
