//! The enterprise registry: enrolment invites (each a token carrying a number block and
//! the authority's addresses) and enrolment of a device on first contact.

use std::sync::{Arc, Mutex};

use exlic_client::invite::Invite;
use exlic_client::protocol::{ErrorCode, Response};
use exlic_client::seal::sha256;

use super::office::Office;
use super::{AuthorityError, Handled, META_NEXT_BLOCK};
use crate::store::registry::{self, EnterpriseRow, InviteRow};
use crate::store::{feed, meta_get, meta_put};
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
        let secret: [u8; 32] = crate::random::bytes();
        let w = self.office.store.write()?;
        let first = meta_get(&w, META_NEXT_BLOCK)?
            .and_then(|v| v.try_into().ok())
            .map(u128::from_be_bytes)
            .ok_or(AuthorityError::NotInitialised)?;
        meta_put(
            &w,
            META_NEXT_BLOCK,
            &(first + u128::from(numbers)).to_be_bytes(),
        )?;
        let expires = self.office.clock.now_ms() + valid_days * 86_400_000;
        registry::put_invite(
            &w,
            sha256(&secret),
            &InviteRow {
                uscc: uscc.into(),
                name: name.into(),
                expires_ms: expires,
                used_by: None,
            },
        )?;
        w.commit()?;
        let invite = Invite {
            authority_key: self.office.root_key(),
            addrs: self.addrs.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            enterprise_uscc: uscc.into(),
            enterprise_name: name.into(),
            agency_code: self.office.info.agency_code.clone(),
            secret,
            block_first: first,
            block_len: numbers,
            expires_at_ms: expires,
        };
        Ok(invite.to_token(&self.office.identity))
    }

    pub(super) fn enrol(
        &self,
        peer: [u8; 32],
        secret: [u8; 32],
        master_key: [u8; 32],
    ) -> Result<Handled, AuthorityError> {
        let w = self.office.store.write()?;
        let h = sha256(&secret);
        let Some(mut invite) = registry::invite(&w, h)? else {
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
        if self.office.clock.now_ms() > invite.expires_ms {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this invite has expired",
            ));
        }
        if let Some(other) = registry::enterprise_of(&w, &peer)?
            && other != invite.uscc
        {
            return Ok(Handled::refuse(
                ErrorCode::BadInvite,
                "this device is enrolled for another enterprise",
            ));
        }
        invite.used_by = Some(peer);
        registry::put_invite(&w, h, &invite)?;
        let uscc = invite.uscc;
        registry::add_device(&w, peer, &uscc)?;
        registry::add_enterprise(
            &w,
            &uscc,
            &EnterpriseRow {
                name: invite.name,
                master_key,
            },
        )?;
        // Every enterprise reads the directory and guides.
        let dir = crate::store::directory_doc::id();
        if crate::store::docs::kind(&w, dir)?.is_some() {
            feed::push(&w, &uscc, dir, feed::AUTHORITY_WRITER)?;
        }
        w.commit()?;
        tracing::info!(enterprise = %uscc, "device enrolled");
        Ok(Handled::ok(Response::Enrolled {
            enterprise_uscc: uscc,
        }))
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
