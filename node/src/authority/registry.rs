//! The enterprise registry: enrolment invites (each a token carrying a number block and
//! the authority's addresses), enrolment of a device on first contact, and the 申请表号
//! blocks the office hands out (unique nationally: year, the agency's registry digits, a
//! serial), at enrolment and as top-ups over sync.

use std::sync::{Arc, Mutex};

use exlic_client::invite::Invite;
use exlic_client::protocol::{ErrorCode, Response};
use exlic_client::seal::sha256;

use super::command::{Op, Outcome};
use super::office::Office;
use super::{AuthorityError, Handled, META_NEXT_BLOCK};
use crate::domain::numbering::{office_block_start, office_next_block};
use crate::store::registry::{self, EnterpriseRow, InviteRow};
use crate::store::{StoreError, WriteBatch, feed, meta_get, meta_put};
/// Longest an invite stays valid, days.
pub const MAX_INVITE_DAYS: i64 = 365;

/// Most numbers one top-up grants.
pub const MAX_TOP_UP: u64 = 10_000;

/// Invites and enrolment.
#[derive(Debug, Clone)]
pub struct Registry {
    pub(super) office: Arc<Office>,
    pub(super) addrs: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    /// Sets the addresses written into invites (once the listener is bound).
    pub fn set_addrs(&self, addrs: Vec<String>) {
        *self.addrs.lock().unwrap_or_else(|p| p.into_inner()) = addrs;
    }

    /// Issues an enrolment token for one device of `uscc`, granting `numbers` 申请表号.
    pub fn invite(
        &self,
        uscc: &str,
        name: &str,
        numbers: u64,
        valid_days: i64,
    ) -> Result<String, AuthorityError> {
        exlic_client::uscc::validate(uscc)
            .map_err(|e| AuthorityError::bad_input("uscc", e.to_string()))?;
        if self
            .addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return Err(AuthorityError::wrong_state(
                "addrs",
                "the authority has no address to put in the token",
            ));
        }
        if name.trim().is_empty() {
            return Err(AuthorityError::bad_input("name", "is required"));
        }
        if numbers == 0 || numbers > 10_000_000 {
            return Err(AuthorityError::bad_input("numbers", "must be 1–10,000,000"));
        }
        if !(1..=MAX_INVITE_DAYS).contains(&valid_days) {
            return Err(AuthorityError::bad_input(
                "valid_days",
                format!("must be 1–{MAX_INVITE_DAYS}"),
            ));
        }
        // The secret is drawn here, by the replica that takes the request, and carried in
        // the command: every replica keeps the same invite.
        let secret: [u8; 32] = crate::random::bytes();
        let done = self.office.run(Op::Invite {
            uscc: uscc.into(),
            name: name.into(),
            numbers,
            valid_days,
            secret,
        })?;
        let Outcome::Invited { first, expires_ms } = done else {
            return Err(Outcome::unexpected(done));
        };
        let first: u128 = first
            .parse()
            .map_err(|_| StoreError::Record("invite block"))?;
        let invite = Invite {
            authority_key: self.office.root_key(),
            addrs: self.addrs.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            enterprise_uscc: uscc.into(),
            enterprise_name: name.into(),
            agency_code: self.office.info.agency_code.clone(),
            secret,
            block_first: first,
            block_len: numbers,
            expires_at_ms: expires_ms,
        };
        Ok(invite.to_token(&self.office.identity))
    }

    /// Grants an enrolled device the block to follow its block starting at `current`:
    /// the same block for the same `current` (a retry after a lost answer), at most
    /// [`MAX_TOP_UP`] numbers.
    pub(super) fn more_numbers(
        &self,
        peer: [u8; 32],
        current: u128,
        want: u64,
    ) -> Result<Handled, AuthorityError> {
        if want == 0 {
            return Ok(Handled::refuse(
                ErrorCode::BadRequest,
                "want: ask for at least one number",
            ));
        }
        self.office
            .run(Op::MoreNumbers {
                peer,
                current: current.to_string(),
                want,
            })?
            .into_handled()
    }

    pub(super) fn enrol(
        &self,
        peer: [u8; 32],
        secret: [u8; 32],
        master_key: [u8; 32],
    ) -> Result<Handled, AuthorityError> {
        self.office
            .run(Op::Enrol {
                peer,
                secret,
                master_key,
            })?
            .into_handled()
    }

    /// Enrolled enterprises: (USCC, name).
    pub fn enterprises(&self) -> Result<Vec<(String, String)>, AuthorityError> {
        let txn = self.office.store.read()?;
        Ok(registry::enterprises(&txn)?
            .into_iter()
            .map(|(uscc, e)| (uscc, e.name))
            .collect())
    }
}

/// Keeps the invite whose secret is `secret` and takes its block of `numbers`, stamped
/// `now` (see [`Registry::invite`]).
pub(super) fn apply_invite(
    w: &mut WriteBatch<'_>,
    office: &Office,
    now: i64,
    (uscc, name, numbers, valid_days, secret): (&str, &str, u64, i64, [u8; 32]),
) -> Result<Outcome, AuthorityError> {
    let first = allocate_block(office, w, now, numbers)?;
    let expires_ms = now + valid_days * 86_400_000;
    registry::put_invite(
        w,
        sha256(&secret),
        &InviteRow {
            uscc: uscc.into(),
            name: name.into(),
            expires_ms,
            used_by: None,
        },
    )?;
    Ok(Outcome::Invited {
        first: first.to_string(),
        expires_ms,
    })
}

/// Enrols device `peer` with invite `secret` and the enterprise's `master_key`, stamped
/// `now` (see [`Registry::enrol`]); the answer for the device.
pub(super) fn apply_enrol(
    w: &mut WriteBatch<'_>,
    office: &Office,
    now: i64,
    peer: [u8; 32],
    secret: [u8; 32],
    master_key: [u8; 32],
) -> Result<Handled, AuthorityError> {
    let h = sha256(&secret);
    let Some(mut invite) = registry::invite(w, h)? else {
        return Ok(Handled::refuse(ErrorCode::BadInvite, "unknown invite"));
    };
    if invite.used_by == Some(peer) {
        return Ok(Handled::ok(Response::Enrolled {
            enterprise_uscc: invite.uscc,
        }));
    }
    if invite.used_by.is_some() {
        return Ok(Handled::refuse(
            ErrorCode::BadInvite,
            "this invite was used by another device",
        ));
    }
    if now > invite.expires_ms {
        return Ok(Handled::refuse(
            ErrorCode::BadInvite,
            "this invite has expired",
        ));
    }
    if let Some(other) = registry::enterprise_of(w, &peer)?
        && other != invite.uscc
    {
        return Ok(Handled::refuse(
            ErrorCode::BadInvite,
            "this device is enrolled for another enterprise",
        ));
    }
    if master_key == exlic_client::protocol::NO_EKEY
        && registry::enterprise(w, &invite.uscc)?.is_none()
    {
        return Ok(Handled::refuse(
            ErrorCode::BadInvite,
            "the first device of an enterprise holds its e-key: initialise it with --pin, not --join",
        ));
    }
    invite.used_by = Some(peer);
    registry::put_invite(w, h, &invite)?;
    let uscc = invite.uscc;
    registry::add_device(w, peer, &uscc)?;
    registry::add_enterprise(
        w,
        &uscc,
        &EnterpriseRow {
            name: invite.name,
            master_key,
        },
    )?;
    // Every enterprise reads the directory and guides.
    let dir = crate::store::directory_doc::id(&office.root_key());
    if crate::store::docs::kind(w, dir)?.is_some() {
        feed::push(w, &uscc, dir, feed::AUTHORITY_WRITER)?;
    }
    tracing::info!(enterprise = %uscc, "device enrolled");
    Ok(Handled::ok(Response::Enrolled {
        enterprise_uscc: uscc,
    }))
}

/// Grants device `peer` the block after its block starting at `current`, stamped `now`
/// (see [`Registry::more_numbers`]); the answer for the device.
pub(super) fn apply_more_numbers(
    w: &mut WriteBatch<'_>,
    office: &Office,
    now: i64,
    peer: [u8; 32],
    current: u128,
    want: u64,
) -> Result<Handled, AuthorityError> {
    let key = format!("number_grant.{}.{current:021}", hex::encode(peer));
    if let Some(v) = meta_get(w, &key)?
        && let Ok(b) = <[u8; 24]>::try_from(v.as_slice())
    {
        let first = u128::from_be_bytes(b[..16].try_into().expect("16 bytes"));
        let len = u64::from_be_bytes(b[16..].try_into().expect("8 bytes"));
        return Ok(Handled::ok(Response::Numbers { first, len }));
    }
    let len = want.min(MAX_TOP_UP);
    let first = allocate_block(office, w, now, len)?;
    let mut v = first.to_be_bytes().to_vec();
    v.extend_from_slice(&len.to_be_bytes());
    meta_put(w, &key, &v)?;
    tracing::info!(device = %hex::encode(&peer[..8]), first = %format!("{first:021}"), len, "number block granted");
    Ok(Handled::ok(Response::Numbers { first, len }))
}

/// Takes the next `numbers` 申请表号 of this office and of the year at `now`, in `w`.
pub(super) fn allocate_block(
    office: &Office,
    w: &WriteBatch<'_>,
    now: i64,
    numbers: u64,
) -> Result<u128, AuthorityError> {
    let agency = &office.info.agency_code;
    let block = office.reference().agency_block(agency).ok_or_else(|| {
        AuthorityError::wrong_state(
            "agency_code",
            format!(
                "agency {agency} is not in the agency registry (codes.json agencies), so its 申请表号 could collide with another office's; publish reference data that lists it"
            ),
        )
    })?;
    let today = crate::clock::china_date(now);
    let stopped = meta_get(w, META_NEXT_BLOCK)?
        .and_then(|v| v.try_into().ok())
        .map(u128::from_be_bytes);
    let first = office_next_block(stopped, today, block);
    let end = first + u128::from(numbers);
    if end > office_block_start(today, block) + 10u128.pow(17) {
        return Err(AuthorityError::wrong_state(
            "numbers",
            "this office's 申请表号 for the year are used up",
        ));
    }
    meta_put(w, META_NEXT_BLOCK, &end.to_be_bytes())?;
    Ok(first)
}
