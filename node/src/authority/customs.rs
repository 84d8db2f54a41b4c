//! The office's side of its customs nodes (海关): customs invites and enrolment, the
//! standing feed they follow, and the usage they report — folded into each licence's
//! usage, its standing (used up) and its case, and flagged when a licence was used after
//! the office deleted or wrote it off.

use std::sync::Arc;

use exlic_client::invite::CustomsInvite;
use exlic_client::protocol::{ErrorCode, Response};
use exlic_client::seal::sha256;
use exlic_client::standing::{FeedEntry, FeedPage, Standing as Statement, State};
use exlic_client::usage::{Step, UsageEntry, UsageView};
use rust_decimal::Decimal;

use super::command::{Op, Outcome};
use super::office::Office;
use super::{AuthorityError, Handled};
use crate::cluster::Bytes;
use crate::domain::customs::{self as policy, Item, ItemState};
use crate::domain::licence_request::Standing;
use crate::store::{StoreError, WriteBatch, case_doc, key_records, licences, usage};

/// Most licences on one standing feed page.
pub const FEED_PAGE: usize = 4096;
/// Longest a customs invite may stay open, days.
const MAX_INVITE_DAYS: i64 = 90;

/// Customs invites, enrolment, the standing feed and usage.
#[derive(Debug, Clone)]
pub struct CustomsLinks {
    pub(super) office: Arc<Office>,
    pub(super) addrs: Arc<std::sync::Mutex<Vec<String>>>,
}

impl CustomsLinks {
    /// Sets the addresses written into customs invites (the same as enterprise invites').
    pub fn set_addrs(&self, addrs: Vec<String>) {
        *self.addrs.lock().unwrap_or_else(|p| p.into_inner()) = addrs;
    }

    /// Issues an enrolment token for a customs node of `district`.
    pub fn invite(&self, district: &str, valid_days: i64) -> Result<String, AuthorityError> {
        let reference = self.office.reference();
        if !reference.is_district(district) {
            return Err(AuthorityError::bad_input(
                "district",
                format!("{district:?} is not a customs district code"),
            ));
        }
        if !(1..=MAX_INVITE_DAYS).contains(&valid_days) {
            return Err(AuthorityError::bad_input(
                "valid_days",
                format!("must be 1–{MAX_INVITE_DAYS}"),
            ));
        }
        let addrs = self.addrs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if addrs.is_empty() {
            return Err(AuthorityError::wrong_state(
                "addrs",
                "the authority has no address to put in the token",
            ));
        }
        let name = reference
            .data()
            .customs_districts
            .iter()
            .find(|d| d.code == district)
            .map(|d| d.name.clone())
            .unwrap_or_default();
        // The secret is drawn here, by the replica that takes the request, and carried in
        // the command: every replica keeps the same invite.
        let secret: [u8; 32] = crate::random::bytes();
        let done = self.office.run(Op::CustomsInvite {
            district: district.to_owned(),
            name: name.clone(),
            valid_days,
            secret,
        })?;
        let Outcome::Invited {
            expires_ms: expires,
            ..
        } = done
        else {
            return Err(Outcome::unexpected(done));
        };
        Ok(CustomsInvite {
            authority_key: self.office.root_key(),
            addrs,
            district: district.to_owned(),
            district_name: name,
            secret,
            expires_at_ms: expires,
            agency_code: self.office.info.agency_code.clone(),
        }
        .to_token(&self.office.identity))
    }

    /// Spends a customs invite for node `peer`.
    pub(super) fn enrol(
        &self,
        peer: [u8; 32],
        secret: [u8; 32],
    ) -> Result<Handled, AuthorityError> {
        self.office
            .run(Op::CustomsEnrol { peer, secret })?
            .into_handled()
    }

    /// Every enrolled customs node: (key, district).
    pub fn nodes(&self) -> Result<Vec<([u8; 32], String)>, AuthorityError> {
        Ok(usage::customs_nodes(&self.office.store.read()?)?)
    }

    /// One page of the standing feed from `cursor`, signed now, with the key chain.
    pub(super) fn standing(&self, cursor: u64) -> Result<Handled, AuthorityError> {
        let r = self.office.store.read()?;
        let (nos, to, more) = usage::feed_from(&r, cursor, FEED_PAGE)?;
        let mut entries = Vec::with_capacity(nos.len());
        for no in nos {
            let Some(signed) = licences::statement(&r, &no)? else {
                continue;
            };
            let s = exlic_client::signed::peek(&signed)
                .ok()
                .and_then(|p| Statement::decode(p).ok());
            if let Some(s) = s {
                entries.push(FeedEntry {
                    licence_no: no,
                    state: s.state,
                    since_ms: s.since_ms,
                });
            }
        }
        let keys = key_records::all(&r)?;
        drop(r);
        let (at, key) = self.office.signer();
        let page = FeedPage {
            authority_key: key.verifying_key().to_bytes(),
            from: cursor,
            to,
            as_of_ms: at,
            entries,
        }
        .sign(&key);
        Ok(Handled::ok(Response::Standing { page, keys, more }))
    }

    /// Takes usage entries from customs node `peer` of `district`: each must verify under
    /// its key and follow the last one held; folds them into the licences they use.
    pub(super) fn usage(
        &self,
        peer: [u8; 32],
        district: &str,
        entries: &[Vec<u8>],
    ) -> Result<Handled, AuthorityError> {
        // What needs no state is checked by the replica that takes the request: a bad
        // signature or another district's entry breaks the protocol, and drops the peer.
        for signed in entries {
            let e = match UsageEntry::verify(signed, &peer) {
                Ok(e) => e,
                Err(err) => return Ok(Handled::violation(format!("usage entry: {err}"))),
            };
            if e.district != district {
                return Ok(Handled::violation(format!(
                    "usage entry {}: district {} is not this node's {district}",
                    e.seq, e.district
                )));
            }
        }
        self.office
            .run(Op::Usage {
                peer,
                entries: entries.iter().cloned().map(Bytes).collect(),
            })?
            .into_handled()
    }

    /// Licence `no`'s usage as the office knows it, with its flags (报关单号, 项号, why).
    #[allow(clippy::type_complexity)]
    pub fn usage_of(
        &self,
        no: &str,
    ) -> Result<Option<(UsageView, Vec<(String, u32, String)>)>, AuthorityError> {
        let r = self.office.store.read()?;
        let Some(l) = licences::get(&r, no)? else {
            return Ok(None);
        };
        let items = usage::items_of(&r, no)?;
        Ok(Some((
            view_of(&self.office, &l, &items),
            usage::flags_of(&r, no)?,
        )))
    }

    /// Every flagged usage: (许可证号, 报关单号, 项号, why).
    pub fn flags(&self) -> Result<Vec<(String, String, u32, String)>, AuthorityError> {
        Ok(usage::flags(&self.office.store.read()?)?)
    }
}

/// What the office knows of licence `l`'s usage from its `items`.
fn view_of(
    office: &Office,
    l: &exlic_client::licence::Licence,
    items: &[usage::ItemRow],
) -> UsageView {
    let overfill = office.reference().overfill(l.quota_year, &l.commodity[0]);
    policy::view(l, items, overfill)
}

/// Keeps a customs invite for `district` (`name`) whose secret is `secret`, open for
/// `valid_days` from `now` (see [`CustomsLinks::invite`]).
pub(super) fn apply_invite(
    w: &mut WriteBatch<'_>,
    now: i64,
    (district, name, valid_days, secret): (&str, &str, i64, [u8; 32]),
) -> Result<Outcome, AuthorityError> {
    let expires = now + valid_days * 86_400_000;
    usage::put_customs_invite(
        w,
        &sha256(&secret),
        &(district.to_owned(), name.to_owned(), expires, [0; 32]),
    )?;
    Ok(Outcome::Invited {
        first: String::new(),
        expires_ms: expires,
    })
}

/// Spends the customs invite whose secret is `secret` for node `peer` at `now`; the
/// answer for the node.
pub(super) fn apply_enrol(
    w: &mut WriteBatch<'_>,
    now: i64,
    peer: [u8; 32],
    secret: [u8; 32],
) -> Result<Outcome, AuthorityError> {
    let answer = |r: Response| Ok(Outcome::Answered { answer: r.encode() });
    let h = sha256(&secret);
    let Some(mut row) = usage::customs_invite(w, &h)? else {
        return answer(Response::error(ErrorCode::BadInvite, "unknown invite"));
    };
    if row.3 == peer {
        return answer(Response::Enrolled {
            enterprise_uscc: row.0,
        });
    }
    if row.3 != [0; 32] {
        return answer(Response::error(
            ErrorCode::BadInvite,
            "this invite was used by another node",
        ));
    }
    if now > row.2 {
        return answer(Response::error(
            ErrorCode::BadInvite,
            "this invite has expired",
        ));
    }
    if crate::store::registry::enterprise_of(w, &peer)?.is_some() {
        return answer(Response::error(
            ErrorCode::BadInvite,
            "this key is enrolled as an enterprise device",
        ));
    }
    row.3 = peer;
    usage::put_customs_invite(w, &h, &row)?;
    usage::put_customs(w, &peer, &row.0)?;
    tracing::info!(district = %row.0, "customs node enrolled");
    answer(Response::Enrolled {
        enterprise_uscc: row.0,
    })
}

/// Takes the usage entries of customs node `peer` (each verified by the replica that took
/// them) at `now`: the chain is checked first, so a gap refuses the whole request with
/// nothing written; then each new entry is kept and folded into its licence, whose
/// standing and case follow, and the log's head is signed.
pub(super) fn apply_usage(
    office: &Office,
    w: &mut WriteBatch<'_>,
    now: i64,
    peer: [u8; 32],
    entries: &[Bytes],
) -> Result<Outcome, AuthorityError> {
    let answer = |r: Response| Ok(Outcome::Answered { answer: r.encode() });
    let mut last = usage::received_last(w, &peer)?;
    let mut fresh = Vec::new();
    for signed in entries {
        let e = UsageEntry::verify(&signed.0, &peer)
            .map_err(|err| AuthorityError::bad_input("entries", err.to_string()))?;
        if e.seq <= last {
            continue; // held already: a retry
        }
        if e.seq != last + 1 {
            return answer(Response::error(
                ErrorCode::BadRequest,
                format!("usage entry {} does not follow {last}", e.seq),
            ));
        }
        last = e.seq;
        fresh.push((e, &signed.0));
    }
    let mut touched = std::collections::BTreeSet::new();
    for (e, signed) in fresh {
        usage::put_received(w, &peer, e.seq, signed)?;
        if licences::get(w, &e.licence_no)?.is_none() {
            continue; // another office's licence: kept, nothing to fold
        }
        fold(w, &e)?;
        touched.insert(e.licence_no.clone());
    }
    for no in touched {
        settle(office, w, now, &no)?;
    }
    super::translog::sign_head(office, w, now)?;
    answer(Response::UsageStored { seq: last })
}

/// Applies one entry to its item, flagging a use the office did not expect.
fn fold(w: &WriteBatch<'_>, e: &UsageEntry) -> Result<(), StoreError> {
    let quantity = e.quantity.parse::<Decimal>().unwrap_or_default();
    let prev = usage::item(w, &e.licence_no, &e.declaration_no, e.item)?;
    let (state, quantity) = match e.step {
        Step::Reserve => (ItemState::Reserved, quantity),
        Step::Confirm | Step::Adjust => (ItemState::Confirmed, quantity),
        Step::Cancel => (
            ItemState::Cancelled,
            prev.as_ref().map_or(quantity, |(_, it)| it.quantity),
        ),
    };
    usage::put_item(
        w,
        &e.declaration_no,
        e.item,
        &e.district,
        &Item {
            licence_no: e.licence_no.clone(),
            state,
            quantity,
            at_ms: e.at_ms,
        },
    )?;
    if matches!(e.step, Step::Reserve | Step::Confirm) {
        let standing = licences::standing(w, &e.licence_no)?;
        let since = licences::statement(w, &e.licence_no)?
            .and_then(|s| {
                exlic_client::signed::peek(&s)
                    .ok()
                    .and_then(|p| Statement::decode(p).ok())
            })
            .map_or(0, |s| s.since_ms);
        let why = match standing {
            Standing::Deleted => Some("deleted"),
            Standing::WrittenOff if e.at_ms > since => Some("written_off"),
            _ => None,
        };
        if let Some(why) = why {
            usage::put_flag(
                w,
                &e.licence_no,
                &e.declaration_no,
                e.item,
                &format!("{why}|{since}|{}|{}", e.district, e.at_ms),
            )?;
        }
    }
    Ok(())
}

/// After new usage of licence `no`: its standing (used up, or valid again after an
/// amendment) and its case, which carries the usage to the enterprise, at `now`.
fn settle(office: &Office, w: &mut WriteBatch<'_>, now: i64, no: &str) -> Result<(), StoreError> {
    let Some(l) = licences::get(w, no)? else {
        return Ok(());
    };
    let items = usage::items_of(w, no)?;
    let view = view_of(office, &l, &items);
    let mut statement = Vec::new();
    if licences::standing(w, no)? == Standing::Valid {
        let now_state = licences::statement(w, no)?
            .and_then(|s| {
                exlic_client::signed::peek(&s)
                    .ok()
                    .and_then(|p| Statement::decode(p).ok())
            })
            .map(|s| s.state);
        let want = if policy::used_up(&l, &items) {
            State::UsedUp
        } else {
            State::Valid
        };
        if now_state != Some(want) {
            let (at, key) = office.signer_at(now);
            let since = if want == State::UsedUp {
                at
            } else {
                l.issued_at_ms.min(at)
            };
            statement = super::licence_request::put_statement(w, no, want, since, at, &key)?;
        }
    }
    let json = serde_json::to_vec(&view).unwrap_or_default();
    usage::put_view(w, no, &json)?;
    let cid = case_doc::case_id(l.application_id);
    let Some(mut case) = w.doc(cid)?.and_then(|d| case_doc::read(d)) else {
        return Ok(());
    };
    let Some(owner) = crate::store::feed::owner(w, l.application_id)? else {
        return Ok(());
    };
    case.licence = Vec::new();
    case.licence_proof = Vec::new();
    case.requests = Vec::new();
    case.standing = statement;
    case.usage = String::from_utf8(json).unwrap_or_default();
    super::case_docs::put(
        w,
        &owner,
        &case,
        &format!("usage||uses={};used={}", view.uses, view.used_quantity),
        now,
    )
}
