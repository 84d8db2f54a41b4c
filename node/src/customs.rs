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

    /// Where the next standing feed page starts.
    pub fn feed_cursor(&self) -> Result<u64, CustomsError> {
        Ok(meta_get(&self.store.read()?, META_FEED_CURSOR)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// When the office last told this node the standing of its licences (the newest feed
    /// page's time), Unix ms; `None` before the first.
    pub fn standing_as_of(&self) -> Result<Option<i64>, CustomsError> {
        Ok(meta_get(&self.store.read()?, META_FEED_AS_OF)?
            .and_then(|v| v.try_into().ok())
            .map(i64::from_be_bytes))
    }

    /// How many licences' standing this node holds.
    pub fn standing_count(&self) -> Result<u64, CustomsError> {
        Ok(usage::fed_count(&self.store.read()?)?)
    }

    /// Applies one standing feed page with the office's key records, in one transaction:
    /// the records first (a page may be signed by a key this node learns from them), then
    /// every entry. A page that does not verify, or does not start where the last ended,
    /// changes nothing.
    pub fn apply_standing(&self, page: &[u8], keys: &[Vec<u8>]) -> Result<u64, CustomsError> {
        let mut trust = Trust::new(self.invite.authority_key);
        trust.follow(keys);
        let p = FeedPage::verify_trusted(page, &trust).map_err(|e| {
            bad(
                "page",
                format!("the standing feed page does not verify: {e}"),
            )
        })?;
        let w = self.store.write()?;
        let cursor = meta_get(&w, META_FEED_CURSOR)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if p.from != cursor {
            return Err(bad(
                "page",
                format!("the page starts at {}, not at {cursor}", p.from),
            ));
        }
        if key_records::all(&w)?.len() < keys.len() {
            let have = key_records::all(&w)?.len();
            for k in &keys[have..] {
                key_records::append(&w, k)?;
            }
        }
        for e in &p.entries {
            usage::put_fed(&w, &e.licence_no, e.state, e.since_ms, p.as_of_ms)?;
        }
        meta_put(&w, META_FEED_CURSOR, &p.to.to_be_bytes())?;
        meta_put(&w, META_FEED_AS_OF, &p.as_of_ms.to_be_bytes())?;
        w.commit()?;
        self.floor_ms.fetch_max(p.as_of_ms, Ordering::Relaxed);
        *self.trust.write().unwrap_or_else(|p| p.into_inner()) = trust;
        Ok(p.to)
    }

    /// The ledger entries the office has not acknowledged, at most `max`.
    pub fn unreported(&self, max: usize) -> Result<Vec<Vec<u8>>, CustomsError> {
        let r = self.store.read()?;
        let acked = meta_get(&r, META_ACKED)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        Ok(usage::ledger_from(&r, acked + 1, max)?)
    }

    /// Records that the office holds the ledger through `seq`.
    pub fn set_reported(&self, seq: u64) -> Result<(), CustomsError> {
        let w = self.store.write()?;
        meta_put(&w, META_ACKED, &seq.to_be_bytes())?;
        w.commit()?;
        Ok(())
    }

    /// Entries of the ledger, and how many the office holds: (last, acknowledged).
    pub fn ledger_position(&self) -> Result<(u64, u64), CustomsError> {
        let r = self.store.read()?;
        let acked = meta_get(&r, META_ACKED)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        Ok((usage::ledger_last(&r)?, acked))
    }

    fn today(&self) -> String {
        china_date(self.now_ms()).strftime("%Y%m%d").to_string()
    }

    /// The standing of `l` as this node judges it: the office's last word (from the feed),
    /// else expired by this node's date, else valid; with when the office said so (0:
    /// the office has said nothing of this licence, or nothing at all yet).
    pub fn standing_of(&self, l: &Licence) -> Result<(State, i64), CustomsError> {
        let fed = usage::fed(&self.store.read()?, &l.licence_no)?;
        let as_of = match fed {
            Some((_, _, as_of)) => as_of,
            None => self.standing_as_of()?.unwrap_or(0),
        };
        Ok((judge(l, fed.map(|f| f.0), &self.today()), as_of))
    }

    /// Checks a declaration item and, when it passes and `check_only` is not set,
    /// reserves its quantity (预核扣). A refused check changes nothing; a passed one is
    /// durable before the answer. The same declaration item again is answered with its
    /// state and reserves nothing more.
    pub fn declare(&self, input: &DeclarationInput) -> Result<CheckOutcome, CustomsError> {
        if !valid_declaration_no(input.declaration_no.trim()) {
            return Err(bad("declaration_no", "must be the 18 digits of a 报关单号"));
        }
        if !(1..=999).contains(&input.item) {
            return Err(bad("item", "must be 1–999"));
        }
        let q = input.quantity.trim();
        if !valid_quantity(q) {
            return Err(bad(
                "quantity",
                "must be a plain decimal number, at most 6 decimals",
            ));
        }
        if input.exporter.trim().is_empty() {
            return Err(bad("exporter", "is required (USCC or customs code)"));
        }
        let code = input.commodity_code.trim();
        if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("commodity_code", "must be a 10-digit 商品编码"));
        }
        let (licence, file) = self.presented(input)?;
        let declared = Declared {
            exporter: input.exporter.trim().to_owned(),
            commodity_code: code.to_owned(),
            quantity: Decimal::from_str(q).map_err(|e| bad("quantity", e.to_string()))?,
        };
        let licence = match licence {
            Ok(l) => l,
            Err(reason) => return Ok(refused(&input.licence_no, vec![reason])),
        };
        let standing = self.standing_of(&licence)?;
        let job = Job::Reserve {
            declaration_no: input.declaration_no.trim().to_owned(),
            item: input.item,
            licence: Box::new(licence),
            file,
            declared,
            standing,
            check_only: input.check_only,
        };
        self.group.run(job, |jobs| self.apply(jobs))?
    }

    /// The licence a declaration presents: the file (as hexadecimal, or the text of its QR
    /// code), verified under the key chain; or the one this node already holds under its
    /// number or under the reference a QR code gives.
    #[allow(clippy::type_complexity)]
    fn presented(
        &self,
        input: &DeclarationInput,
    ) -> Result<(Result<Licence, Reason>, Vec<u8>), CustomsError> {
        let text = input.licence.trim();
        let mut no = input.licence_no.trim().to_owned();
        let qr = if text.starts_with("EXLIC-") {
            Some(QrPayload::parse(text).map_err(|e| bad("licence", e.to_string()))?)
        } else {
            None
        };
        let file = match &qr {
            Some(QrPayload::Full(f)) => Some(f.clone()),
            Some(QrPayload::Ref { licence_no, .. }) => {
                if no.is_empty() {
                    no.clone_from(licence_no);
                } else if no != *licence_no {
                    return Err(bad(
                        "licence_no",
                        format!("the QR code names licence {licence_no}, not {no}"),
                    ));
                }
                None
            }
            None if text.is_empty() => None,
            None => Some(
                hex::decode(text)
                    .map_err(|_| bad("licence", "must be the e-licence file as hexadecimal"))?,
            ),
        };
        let Some(file) = file else {
            if no.is_empty() {
                return Err(bad(
                    "licence",
                    "give the e-licence file, or the 许可证号 of one this node holds",
                ));
            }
            let held = licences::file(&self.store.read()?, &no)?
                .filter(|f| qr.as_ref().is_none_or(|r| r.matches(f)));
            return Ok(match held {
                Some(f) => (
                    Licence::verify(&f, &self.trust()).map_err(signature_reason),
                    Vec::new(),
                ),
                None => (
                    Err(Reason {
                        code: "unknown_licence".into(),
                        field: "licence_no".into(),
                        message: format!(
                            "this node holds no licence {no} (or not the copy the QR code \
                             names): present the e-licence file"
                        ),
                    }),
                    Vec::new(),
                ),
            });
        };
        let verified = Licence::verify(&file, &self.trust()).map_err(signature_reason);
        if let Ok(l) = &verified
            && !no.is_empty()
            && l.licence_no != no
        {
            return Err(bad(
                "licence_no",
                format!("the file is licence {}, not {no}", l.licence_no),
            ));
        }
        Ok((verified, file))
    }

    /// A later step of a reserved item: 实核注 (`Confirm`, with the released quantity or the
    /// reserved one), `Cancel`, or `Adjust` after clearance. Durable before the answer; a
    /// repeated step changes nothing.
    pub fn step(
        &self,
        declaration_no: &str,
        item: u32,
        step: Step,
        quantity: &str,
    ) -> Result<CheckOutcome, CustomsError> {
        if step == Step::Reserve {
            return Err(bad("step", "a reservation is made by the check"));
        }
        let q = quantity.trim();
        let quantity = if q.is_empty() {
            if step == Step::Adjust {
                return Err(bad("quantity", "an amendment gives the new quantity"));
            }
            None
        } else if valid_quantity(q) {
            Some(Decimal::from_str(q).map_err(|e| bad("quantity", e.to_string()))?)
        } else {
            return Err(bad(
                "quantity",
                "must be a plain decimal number, at most 6 decimals",
            ));
        };
        let job = Job::Later {
            declaration_no: declaration_no.trim().to_owned(),
            item,
            step,
            quantity,
        };
        self.group.run(job, |jobs| self.apply(jobs))?
    }

    /// Applies a batch of steps in one write transaction with one durable commit.
    fn apply(&self, jobs: Vec<Job>) -> Vec<JobResult> {
        let n = jobs.len();
        let run = || -> Result<Vec<JobResult>, StoreError> {
            let w = self.store.write()?;
            let mut next = usage::ledger_last(&w)? + 1;
            let mut out = Vec::with_capacity(n);
            let today = self.today();
            for job in jobs {
                match self.apply_one(&w, job, &mut next, &today) {
                    // A storage failure fails the batch: nothing of it is committed.
                    Err(CustomsError::Store(e)) => return Err(e),
                    r => out.push(r),
                }
            }
            w.commit()?;
            Ok(out)
        };
        match run() {
            Ok(out) => out,
            Err(e) => (0..n)
                .map(|_| Err(CustomsError::Store(StoreError::batch(&e))))
                .collect(),
        }
    }

    fn apply_one(&self, w: &WriteBatch<'_>, job: Job, next: &mut u64, today: &str) -> JobResult {
        match job {
            Job::Reserve {
                declaration_no,
                item,
                licence,
                file,
                declared,
                standing,
                check_only,
            } => {
                let l = &*licence;
                if let Some(prev) = usage::licence_of(w, &declaration_no, item)? {
                    if prev != l.licence_no {
                        return Err(CustomsError::WrongState {
                            field: "declaration_no".into(),
                            message: format!(
                                "item {item} of declaration {declaration_no} already uses licence {prev}"
                            ),
                        });
                    }
                    return self.outcome(w, l, standing, Vec::new(), &declaration_no, item);
                }
                let counted = usage::counted(w, &l.licence_no)?;
                let reasons = policy::check(
                    &policy::Facts {
                        licence: l,
                        standing: standing.0,
                        district: &self.invite.district,
                        today,
                        counted,
                        overfill_percent: self.overfill(l),
                    },
                    &declared,
                );
                if !reasons.is_empty() || check_only {
                    return Ok(self.outcome_with(l, standing, reasons, counted, ""));
                }
                if !file.is_empty() && licences::file(w, &l.licence_no)?.is_none() {
                    licences::put(w, &l.licence_no, &file)?;
                }
                let it = Item {
                    licence_no: l.licence_no.clone(),
                    state: ItemState::Reserved,
                    quantity: declared.quantity,
                    at_ms: self.now_ms(),
                };
                usage::put_licence_of(w, &declaration_no, item, &l.licence_no)?;
                self.record(w, &declaration_no, item, Step::Reserve, &it, next)?;
                let after = Counted {
                    uses: counted.uses + 1,
                    quantity: counted.quantity + it.quantity,
                };
                Ok(self.outcome_with(l, standing, Vec::new(), after, "reserved"))
            }
            Job::Later {
                declaration_no,
                item,
                step,
                quantity,
            } => {
                let no = usage::licence_of(w, &declaration_no, item)?.ok_or_else(|| {
                    CustomsError::NotFound {
                        field: "declaration_no".into(),
                        message: format!(
                            "no reservation for item {item} of declaration {declaration_no}"
                        ),
                    }
                })?;
                let l = licences::get(w, &no)?.ok_or(CustomsError::NotFound {
                    field: "licence_no".into(),
                    message: format!("licence {no} is not held here"),
                })?;
                let (_, mut it) =
                    usage::item(w, &no, &declaration_no, item)?.ok_or(CustomsError::NotFound {
                        field: "declaration_no".into(),
                        message: "the item is not recorded".into(),
                    })?;
                let ceiling = policy::ceiling(&l, self.overfill(&l));
                let room = policy::room_besides(ceiling, usage::counted(w, &no)?, &it);
                let wrong = |e: policy::StepError| match e {
                    policy::StepError::WrongState { .. } => CustomsError::WrongState {
                        field: "step".into(),
                        message: e.to_string(),
                    },
                    _ => bad("quantity", e.to_string()),
                };
                let q = quantity.unwrap_or(it.quantity);
                let (changed, state) = match step {
                    Step::Confirm => (
                        policy::confirm(&it, q, room).map_err(wrong)?,
                        ItemState::Confirmed,
                    ),
                    Step::Cancel => (policy::cancel(&it).map_err(wrong)?, ItemState::Cancelled),
                    Step::Adjust => (
                        policy::adjust(&it, q, room).map_err(wrong)?,
                        ItemState::Confirmed,
                    ),
                    Step::Reserve => unreachable!("refused in step()"),
                };
                if changed {
                    it.state = state;
                    if step != Step::Cancel {
                        it.quantity = q;
                    }
                    it.at_ms = self.now_ms();
                    self.record(w, &declaration_no, item, step, &it, next)?;
                }
                let standing = self.standing_in(w, &l, today)?;
                self.outcome(w, &l, standing, Vec::new(), &declaration_no, item)
            }
        }
    }

    fn standing_in(
        &self,
        w: &WriteBatch<'_>,
        l: &Licence,
        today: &str,
    ) -> Result<(State, i64), CustomsError> {
        let fed = usage::fed(w, &l.licence_no)?;
        Ok((judge(l, fed.map(|f| f.0), today), fed.map_or(0, |f| f.2)))
    }

    /// Stores the item and appends its signed ledger entry.
    fn record(
        &self,
        w: &WriteBatch<'_>,
        declaration_no: &str,
        item: u32,
        step: Step,
        it: &Item,
        next: &mut u64,
    ) -> Result<(), CustomsError> {
        usage::put_item(w, declaration_no, item, &self.invite.district, it)?;
        let entry = UsageEntry {
            customs_key: self.public_key(),
            district: self.invite.district.clone(),
            seq: *next,
            licence_no: it.licence_no.clone(),
            declaration_no: declaration_no.to_owned(),
            item,
            step,
            quantity: if step == Step::Cancel {
                "0".into()
            } else {
                it.quantity.normalize().to_string()
            },
            at_ms: it.at_ms,
        };
        usage::ledger_put(w, *next, &entry.sign(&self.key))?;
        self.floor_ms.fetch_max(it.at_ms, Ordering::Relaxed);
        *next += 1;
        Ok(())
    }

    fn overfill(&self, l: &Licence) -> u8 {
        self.reference.overfill(l.quota_year, &l.commodity[0])
    }

    fn outcome(
        &self,
        w: &WriteBatch<'_>,
        l: &Licence,
        standing: (State, i64),
        reasons: Vec<Reason>,
        declaration_no: &str,
        item: u32,
    ) -> JobResult {
        let counted: Counted = usage::counted(w, &l.licence_no)?;
        let state = usage::item(w, &l.licence_no, declaration_no, item)?
            .map(|(_, it)| it.state.code())
            .unwrap_or_default();
        Ok(self.outcome_with(l, standing, reasons, counted, state))
    }

    /// The answer to a step, from what the step knows: the licence's counted usage after
    /// it and the item's state (empty: nothing reserved).
    fn outcome_with(
        &self,
        l: &Licence,
        standing: (State, i64),
        reasons: Vec<Reason>,
        counted: Counted,
        state: &str,
    ) -> CheckOutcome {
        let ceiling = policy::ceiling(l, self.overfill(l));
        CheckOutcome {
            passed: reasons.is_empty(),
            reasons,
            licence_no: l.licence_no.clone(),
            standing: standing.0.code().into(),
            standing_as_of_ms: standing.1,
            state: state.to_owned(),
            uses: counted.uses,
            max_uses: policy::max_uses(l),
            used_quantity: counted.quantity.normalize().to_string(),
            remaining_quantity: (ceiling - counted.quantity)
                .max(Decimal::ZERO)
                .normalize()
                .to_string(),
            unit: l.lines.first().map(|x| x.unit.clone()).unwrap_or_default(),
        }
    }

    /// Licence `no`'s usage at this district, if this node holds the licence.
    pub fn usage_of(&self, no: &str) -> Result<Option<(Licence, UsageView)>, CustomsError> {
        let r = self.store.read()?;
        let Some(l) = licences::get(&r, no)? else {
            return Ok(None);
        };
        let items = usage::items_of(&r, no)?;
        let view = policy::view(&l, &items, self.overfill(&l));
        Ok(Some((l, view)))
    }

    /// What `exlic check` finds wrong: the ledger must be numbered 1, 2, … without gaps,
    /// every entry must verify under this node's key, and replaying it must give exactly
    /// the items stored (so no step was counted twice or lost).
    pub fn check_consistency(&self) -> Result<Vec<String>, CustomsError> {
        let r = self.store.read()?;
        let mut problems = Vec::new();
        let mut replayed: std::collections::BTreeMap<(String, String, u32), (ItemState, Decimal)> =
            std::collections::BTreeMap::new();
        let last = usage::ledger_last(&r)?;
        let entries = usage::ledger_from(&r, 1, usize::MAX)?;
        if entries.len() as u64 != last {
            problems.push(format!(
                "the usage ledger has {} entries but ends at {last}",
                entries.len()
            ));
        }
        for (i, signed) in entries.iter().enumerate() {
            let e = match UsageEntry::verify(signed, &self.public_key()) {
                Ok(e) => e,
                Err(err) => {
                    problems.push(format!("ledger entry {}: {err}", i + 1));
                    continue;
                }
            };
            if e.seq != i as u64 + 1 {
                problems.push(format!("ledger entry {} is numbered {}", i + 1, e.seq));
            }
            let q = Decimal::from_str(&e.quantity).unwrap_or_default();
            let key = (e.licence_no, e.declaration_no, e.item);
            let prev = replayed.get(&key).map(|p| p.1);
            let next = match e.step {
                Step::Reserve => (ItemState::Reserved, q),
                Step::Confirm | Step::Adjust => (ItemState::Confirmed, q),
                Step::Cancel => (ItemState::Cancelled, prev.unwrap_or(q)),
            };
            replayed.insert(key, next);
        }
        let mut stored = std::collections::BTreeMap::new();
        for l in licences::all(&r)? {
            for (d, i, _, it) in usage::items_of(&r, &l.0)? {
                stored.insert((l.0.clone(), d, i), (it.state, it.quantity));
            }
        }
        for (k, v) in &replayed {
            if stored.get(k) != Some(v) {
                problems.push(format!(
                    "item {}/{} of licence {}: the ledger says {:?}, the store {:?}",
                    k.1,
                    k.2,
                    k.0,
                    v,
                    stored.get(k)
                ));
            }
        }
        for k in stored.keys() {
            if !replayed.contains_key(k) {
                problems.push(format!(
                    "item {}/{} of licence {} is stored but not in the ledger",
                    k.1, k.2, k.0
                ));
            }
        }
        Ok(problems)
    }

    /// The licences this node holds, in number order.
    pub fn licences(&self) -> Result<Vec<Licence>, CustomsError> {
        let r = self.store.read()?;
        Ok(licences::all(&r)?
            .into_iter()
            .filter_map(|(_, f)| {
                exlic_client::signed::peek(&f)
                    .ok()
                    .and_then(|p| Licence::decode(p).ok())
            })
            .collect())
    }
}

fn signature_reason(e: LicenceError) -> Reason {
    Reason {
        code: "signature".into(),
        field: "licence".into(),
        message: format!("the e-licence does not verify under the office's keys: {e}"),
    }
}

/// The office's word on `l` unless it is valid, else expired by `today` (`YYYYMMDD`, this
/// node's China date), else valid.
fn judge(l: &Licence, fed: Option<State>, today: &str) -> State {
    match fed {
        Some(s) if s != State::Valid => s,
        _ if l.expiry.replace('-', "").as_str() < today => State::Expired,
        _ => State::Valid,
    }
}

fn refused(licence_no: &str, reasons: Vec<Reason>) -> CheckOutcome {
    CheckOutcome {
        passed: false,
        reasons,
        licence_no: licence_no.trim().to_owned(),
        standing: String::new(),
        standing_as_of_ms: 0,
        state: String::new(),
        uses: 0,
        max_uses: 0,
        used_quantity: String::new(),
        remaining_quantity: String::new(),
        unit: String::new(),
    }
}

pub mod session;
#[cfg(test)]
mod tests;
