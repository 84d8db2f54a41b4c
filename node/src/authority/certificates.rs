//! Device certificates (手机证书授权): requests signed by the enterprise's master e-key are
//! carried out by the policy of `domain::certificates`; certificates and revocation lists
//! are signed by the current key.

use std::sync::Arc;

use exlic_client::cert_request::{CertRequest, RequestKind, valid_mobile};
use exlic_client::certificate::{DeviceCertificate, RevocationList, key_id};
use exlic_client::protocol::{ErrorCode, Response};
use exlic_client::translog::{EntryKind, Revocation};

use super::command::{Op, Outcome};
use super::office::Office;
use super::{
    AuthorityError, CERT_VALIDITY_MS, CRL_VALIDITY_MS, Handled, META_CRL_VERSION, META_NEXT_SERIAL,
};
use crate::domain::certificates;
use crate::store::registry;
use crate::store::{WriteBatch, certs, meta_get, meta_put};

/// Which issued certificates a reader asks for; the default asks for all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertFilter {
    /// The enterprise, or the start of its USCC.
    pub uscc: Option<String>,
    /// Where the certificate stands now.
    pub standing: Option<certs::CertStanding>,
}
/// Certificates and revocations.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub(super) office: Arc<Office>,
}

impl Certificates {
    /// The current signed revocation list (issued now, valid for [`CRL_VALIDITY_MS`]).
    pub fn revocations(&self) -> Result<Vec<u8>, AuthorityError> {
        let txn = self.office.store.read()?;
        let version = meta_get(&txn, META_CRL_VERSION)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        let revoked = certs::revoked(&txn)?;
        let (now, key) = self.office.signer();
        Ok(RevocationList {
            version,
            issued_at_ms: now,
            next_update_ms: now + CRL_VALIDITY_MS,
            revoked,
            key_id: key_id(&key.verifying_key().to_bytes()),
        }
        .sign(&key))
    }

    /// 制作证书: the newest certificate issued for `peer` (empty if none), with the list.
    pub(super) fn my_certificate(&self, peer: [u8; 32]) -> Result<Handled, AuthorityError> {
        let certificate = {
            let txn = self.office.store.read()?;
            match certs::newest_for(&txn, &peer)? {
                Some(s) => certs::signed(&txn, s)?.unwrap_or_default(),
                None => Vec::new(),
            }
        };
        Ok(Handled::ok(Response::Certified {
            certificate,
            revocations: self.revocations()?,
        }))
    }

    /// Carries out a device-certificate request signed by the enterprise's master e-key.
    pub(super) fn certify(&self, e: &str, carried: &[u8]) -> Result<Handled, AuthorityError> {
        let done = match self.office.run(Op::Certify {
            enterprise: e.to_owned(),
            request: carried.to_vec(),
        }) {
            Ok(done) => done,
            Err(AuthorityError::BadInput { message, .. }) => {
                return Ok(Handled::refuse(ErrorCode::BadCertRequest, message));
            }
            Err(err) => return Err(err),
        };
        let Outcome::Certified { certificate } = done else {
            return Err(Outcome::unexpected(done));
        };
        Ok(Handled::ok(Response::Certified {
            certificate,
            revocations: self.revocations()?,
        }))
    }

    /// One page of the issued device certificates `filter` asks for, newest first, and
    /// how many it asks for in all.
    pub fn page(
        &self,
        filter: &CertFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<certs::CertRow>, u64), AuthorityError> {
        let now = self.office.clock.now_ms();
        let uscc = filter.uscc.as_deref().map(str::to_uppercase);
        Ok(certs::newest_page(
            &self.office.store.read()?,
            |c| {
                uscc.as_deref().is_none_or(|u| c.uscc.starts_with(u))
                    && filter.standing.is_none_or(|s| c.standing_at(now) == s)
            },
            offset,
            limit,
        )?)
    }

    /// How many device certificates this office has issued.
    pub fn count(&self) -> Result<u64, AuthorityError> {
        Ok(certs::count(&self.office.store.read()?)?)
    }
}

/// Carries out certificate request `carried` from enterprise `e`, stamped `now` (see
/// [`Certificates::certify`]). A request refused is `BadInput` naming `cert_request`, and
/// writes nothing (its nonce is not spent).
pub(super) fn apply_certify(
    office: &Office,
    w: &mut WriteBatch<'_>,
    now: i64,
    e: &str,
    carried: &[u8],
) -> Result<Outcome, AuthorityError> {
    let bad = |m: &str| Err(AuthorityError::bad_input("cert_request", m));
    let master = match registry::enterprise(w, e)? {
        Some(row) => row.master_key,
        None => return bad("enterprise not registered"),
    };
    let req = match CertRequest::open(carried, &master) {
        Ok(r) => r,
        Err(err) => return bad(&format!("not signed by this enterprise's e-key: {err}")),
    };
    if req.enterprise_uscc != e {
        return bad("the request names another enterprise");
    }
    if !certs::spend_nonce(w, req.nonce)? {
        return bad("this request was already carried out (replay)");
    }
    if req.kind != RequestKind::Revoke && !valid_mobile(&req.mobile) {
        return bad("mobile: must be 11 digits starting with 1");
    }
    let (now, key) = office.signer_at(now);
    let all = certs::of_enterprise(w, e)?;
    let active: Vec<certificates::Active> = all
        .iter()
        .filter(|c| c.active_at(now))
        .map(|c| certificates::Active {
            serial: c.serial,
            device_key: c.device_key,
            mobile: c.mobile.clone(),
        })
        .collect();
    // The device's newest certificate, expired but never revoked: 续签 renews it.
    let lapsed = all
        .iter()
        .filter(|c| c.device_key == req.device_key)
        .max_by_key(|c| c.serial)
        .is_some_and(|c| c.revoked_ms.is_none() && c.not_after_ms <= now);
    let outcome =
        match certificates::decide(req.kind, &req.device_key, &req.old_mobile, &active, lapsed) {
            Ok(o) => o,
            Err(reason) => return bad(&reason),
        };
    let revoke = &outcome.revoke;
    for c in all.iter().filter(|c| revoke.contains(&c.serial)) {
        certs::put(
            w,
            &certs::CertRow {
                revoked_ms: Some(now),
                ..c.clone()
            },
        )?;
        let r = Revocation {
            serial: c.serial,
            enterprise_uscc: c.uscc.clone(),
            revoked_at_ms: now,
        };
        super::translog::append(w, EntryKind::Revocation, &r.encode(), &c.serial.to_string())?;
    }
    if !revoke.is_empty() {
        let v = meta_get(w, META_CRL_VERSION)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        meta_put(w, META_CRL_VERSION, &(v + 1).to_be_bytes())?;
    }
    let mut certificate = Vec::new();
    if outcome.issue {
        let serial = meta_get(w, META_NEXT_SERIAL)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        meta_put(w, META_NEXT_SERIAL, &(serial + 1).to_be_bytes())?;
        let cert = DeviceCertificate {
            serial,
            enterprise_uscc: e.into(),
            device_key: req.device_key,
            mobile: req.mobile.clone(),
            not_before_ms: now,
            not_after_ms: now + CERT_VALIDITY_MS,
            key_id: key_id(&key.verifying_key().to_bytes()),
        };
        certificate = cert.sign(&key);
        certs::issue(
            w,
            &certs::CertRow {
                serial,
                uscc: e.into(),
                device_key: req.device_key,
                mobile: req.mobile.clone(),
                not_before_ms: now,
                not_after_ms: now + CERT_VALIDITY_MS,
                revoked_ms: None,
            },
            &certificate,
        )?;
        super::translog::append(w, EntryKind::Certificate, &certificate, &serial.to_string())?;
    }
    super::translog::sign_head(office, w, now)?;
    tracing::info!(enterprise = %e, kind = req.kind.zh(), revoked = revoke.len(), "certificate request carried out");
    Ok(Outcome::Certified { certificate })
}
