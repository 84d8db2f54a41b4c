//! The enterprise side of 手机证书授权: requests signed with the PIN-protected e-key and
//! queued for the authority, the device certificate and revocation list it sends back, and
//! the certificate check behind V04.

use ed25519_dalek::SigningKey;
use exlic_client::cert_request::{CertRequest, RequestKind, valid_mobile};
use exlic_client::certificate::{DeviceCertificate, RevocationList};
use redb::ReadableTable;

use super::{Enterprise, EnterpriseError, Result};
use crate::ekey;
use crate::store::tables::CERT_REQUESTS;
use crate::store::{StoreError, meta_get, meta_put};

const META_CERT: &str = "cert.device";
const META_CRL: &str = "cert.crl";

/// Status of a certificate request on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// 已提交: waiting for the authority.
    Submitted = 1,
    /// 证书已签发 / 已完成.
    Issued = 2,
    /// Refused by the authority.
    Refused = 3,
    /// 请求待提交: signed, waiting for the user's 提交/确认提交 before it is sent.
    PendingSubmit = 4,
}

/// One row of the request history (请求时间, 请求类型, 手机号码, 请求状态…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Position.
    pub seq: u64,
    /// Type.
    pub kind: RequestKind,
    /// The (new) number.
    pub mobile: String,
    /// The replaced number.
    pub old_mobile: String,
    /// When made, Unix ms.
    pub created_ms: i64,
    /// Where it stands.
    pub status: RequestStatus,
    /// The authority's answer, if refused.
    pub outcome: String,
    /// The signed request.
    pub signed: Vec<u8>,
}

fn kind_of(v: u8) -> RequestKind {
    match v {
        2 => RequestKind::NumberChange,
        3 => RequestKind::DeviceChange,
        4 => RequestKind::Renew,
        5 => RequestKind::Revoke,
        _ => RequestKind::New,
    }
}

fn status_of(v: u8) -> RequestStatus {
    match v {
        2 => RequestStatus::Issued,
        3 => RequestStatus::Refused,
        4 => RequestStatus::PendingSubmit,
        _ => RequestStatus::Submitted,
    }
}

/// Rewrites request `seq` with a new status (and outcome, when given) inside `w`.
fn put_status(
    w: &crate::store::WriteBatch<'_>,
    seq: u64,
    status: RequestStatus,
    outcome: Option<&str>,
) -> Result<()> {
    let mut t = w.txn().open_table(CERT_REQUESTS)?;
    let row = {
        let g = t.get(seq)?.ok_or(StoreError::Record("cert_requests"))?;
        let (k, m, o, c, _, s, out) = g.value();
        (k, m.to_owned(), o.to_owned(), c, s.to_vec(), out.to_owned())
    };
    let outcome = outcome.unwrap_or(&row.5);
    t.insert(
        seq,
        (
            row.0,
            row.1.as_str(),
            row.2.as_str(),
            row.3,
            status as u8,
            row.4.as_slice(),
            outcome,
        ),
    )?;
    Ok(())
}

impl Enterprise {
    /// Signs a certificate request with the e-key (PIN) and queues it for the authority.
    /// Wrong PINs count towards the e-key's lockout.
    pub fn request_certificate(
        &self,
        kind: RequestKind,
        mobile: &str,
        old_mobile: &str,
        pin: &str,
        device: Option<[u8; 32]>,
    ) -> Result<RequestRow> {
        let master = self.unlock_for_request(mobile, old_mobile, kind, pin)?;
        self.queue_request(kind, mobile, old_mobile, &master, device)
    }

    /// Checks the numbers and that nothing else waits, then unlocks the e-key with `pin`.
    fn unlock_for_request(
        &self,
        mobile: &str,
        old_mobile: &str,
        kind: RequestKind,
        pin: &str,
    ) -> Result<SigningKey> {
        if kind != RequestKind::Revoke && !valid_mobile(mobile) {
            return Err(EnterpriseError::BadInput {
                field: "mobile".into(),
                message: "must be 11 digits starting with 1".into(),
            });
        }
        if kind == RequestKind::NumberChange && !valid_mobile(old_mobile) {
            return Err(EnterpriseError::BadInput {
                field: "old_mobile".into(),
                message: "must be 11 digits starting with 1".into(),
            });
        }
        if self.certificate_requests()?.iter().any(|r| {
            matches!(
                r.status,
                RequestStatus::Submitted | RequestStatus::PendingSubmit
            )
        }) {
            return Err(EnterpriseError::BadInput {
                field: "kind".into(),
                message: "a request is already waiting for the issuing agency".into(),
            });
        }
        ekey::unlock(&self.store, pin).map_err(|e| EnterpriseError::BadInput {
            field: "pin".into(),
            message: e.to_string(),
        })
    }

    /// The manual's two steps: signs the request with the e-key (PIN) now and keeps it as
    /// 请求待提交 until [`Enterprise::submit_certificate_request`] (提交/确认提交).
    pub fn prepare_certificate_request(
        &self,
        kind: RequestKind,
        mobile: &str,
        old_mobile: &str,
        pin: &str,
    ) -> Result<RequestRow> {
        let master = self.unlock_for_request(mobile, old_mobile, kind, pin)?;
        self.queue_request_as(
            kind,
            mobile,
            old_mobile,
            &master,
            None,
            RequestStatus::PendingSubmit,
        )
    }

    /// 提交/确认提交: a 请求待提交 request goes out on the next sync.
    pub fn submit_certificate_request(&self, seq: u64) -> Result<()> {
        let current = self
            .certificate_requests()?
            .into_iter()
            .find(|r| r.seq == seq)
            .ok_or_else(|| EnterpriseError::BadInput {
                field: "seq".into(),
                message: format!("no certificate request {seq}"),
            })?;
        if current.status != RequestStatus::PendingSubmit {
            return Err(EnterpriseError::BadInput {
                field: "seq".into(),
                message: format!("request {seq} is not waiting to be submitted (请求待提交)"),
            });
        }
        self.set_request_status(seq, RequestStatus::Submitted)?;
        self.store.changed().notify_one();
        Ok(())
    }

    fn set_request_status(&self, seq: u64, status: RequestStatus) -> Result<()> {
        let w = self.store.write()?;
        put_status(&w, seq, status, None)?;
        w.commit()?;
        Ok(())
    }

    /// Queues a request signed by an already unlocked master key, for this device or (手机变更
    /// of another phone) for `device`.
    pub fn queue_request(
        &self,
        kind: RequestKind,
        mobile: &str,
        old_mobile: &str,
        master: &SigningKey,
        device: Option<[u8; 32]>,
    ) -> Result<RequestRow> {
        self.queue_request_as(
            kind,
            mobile,
            old_mobile,
            master,
            device,
            RequestStatus::Submitted,
        )
    }

    fn queue_request_as(
        &self,
        kind: RequestKind,
        mobile: &str,
        old_mobile: &str,
        master: &SigningKey,
        device: Option<[u8; 32]>,
        status: RequestStatus,
    ) -> Result<RequestRow> {
        let nonce = crate::random::bytes();
        let now = self.clock.now_ms();
        let req = CertRequest {
            kind,
            enterprise_uscc: self.identity.enterprise_uscc.clone(),
            device_key: device.unwrap_or_else(|| self.device_public_key()),
            mobile: mobile.into(),
            old_mobile: old_mobile.into(),
            requested_at_ms: now,
            nonce,
        };
        let signed = req.sign(master);
        let w = self.store.write()?;
        let seq = {
            let mut t = w.txn().open_table(CERT_REQUESTS)?;
            let seq = t.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
            t.insert(
                seq,
                (
                    kind as u8,
                    mobile,
                    old_mobile,
                    now,
                    status as u8,
                    signed.as_slice(),
                    "",
                ),
            )?;
            seq
        };
        w.commit()?;
        self.store.changed().notify_one();
        Ok(RequestRow {
            seq,
            kind,
            mobile: mobile.into(),
            old_mobile: old_mobile.into(),
            created_ms: now,
            status,
            outcome: String::new(),
            signed,
        })
    }

    /// The request history, oldest first.
    pub fn certificate_requests(&self) -> Result<Vec<RequestRow>> {
        let t = self.store.read()?;
        let mut out = Vec::new();
        for e in t.open_table(CERT_REQUESTS)?.iter()? {
            let (k, v) = e?;
            let (kind, mobile, old, created, status, signed, outcome) = v.value();
            out.push(RequestRow {
                seq: k.value(),
                kind: kind_of(kind),
                mobile: mobile.into(),
                old_mobile: old.into(),
                created_ms: created,
                status: status_of(status),
                outcome: outcome.into(),
                signed: signed.to_vec(),
            });
        }
        Ok(out)
    }

    /// Records the authority's answer to request `seq`: the certificate (制作证书: installed
    /// after it verifies under the authority key) and the revocation list, or a refusal.
    pub fn finish_request(
        &self,
        seq: u64,
        answer: std::result::Result<(Vec<u8>, Vec<u8>), String>,
        authority_key: &[u8; 32],
    ) -> Result<()> {
        let w = self.store.write()?;
        let (status, outcome) = match &answer {
            Ok((cert, crl)) => {
                // A certificate for another device (手机变更 of a phone) is that device's
                // to install; this node keeps only the revocation list.
                self.store_certificate(&w, cert, crl, authority_key, false)?;
                (RequestStatus::Issued, String::new())
            }
            Err(reason) => (RequestStatus::Refused, reason.clone()),
        };
        put_status(&w, seq, status, Some(&outcome))?;
        w.commit()?;
        Ok(())
    }

    /// 制作证书: installs this device's certificate as the authority sent it.
    pub fn install_certificate(
        &self,
        cert: &[u8],
        crl: &[u8],
        authority_key: &[u8; 32],
    ) -> Result<()> {
        let w = self.store.write()?;
        self.store_certificate(&w, cert, crl, authority_key, true)?;
        w.commit()?;
        Ok(())
    }

    /// Verifies and keeps a certificate (if it is this device's) and a revocation list.
    /// With `must_be_ours`, a certificate for another device is an error.
    fn store_certificate(
        &self,
        w: &crate::store::WriteBatch<'_>,
        cert: &[u8],
        crl: &[u8],
        authority_key: &[u8; 32],
        must_be_ours: bool,
    ) -> Result<()> {
        let now = self.clock.now_ms();
        let mut trust = self.authority_trust(authority_key)?;
        let bad = |field: &str, e: &dyn std::fmt::Display| EnterpriseError::BadInput {
            field: field.into(),
            message: e.to_string(),
        };
        if !cert.is_empty() {
            let c = trust
                .certificate(cert, now)
                .map_err(|e| bad("certificate", &e))?;
            if c.device_key == self.device_public_key() {
                meta_put(w.txn(), META_CERT, cert)?;
            } else if must_be_ours {
                return Err(bad("certificate", &"issued for another device"));
            }
        }
        trust
            .revocations(crl, now)
            .map_err(|e| bad("revocations", &e))?;
        meta_put(w.txn(), META_CRL, crl)?;
        Ok(())
    }

    /// This device's certificate (查看本机证书) and whether it is revoked per the newest list.
    pub fn device_certificate(&self) -> Result<Option<(DeviceCertificate, bool)>> {
        let t = self.store.read()?;
        let Some(bytes) = meta_get(&t, META_CERT)? else {
            return Ok(None);
        };
        let cert = exlic_client::signed::peek(&bytes)
            .ok()
            .and_then(|p| DeviceCertificate::decode(p).ok())
            .ok_or(StoreError::Record("certificate"))?;
        let revoked = meta_get(&t, META_CRL)?
            .and_then(|b| {
                exlic_client::signed::peek(&b)
                    .ok()
                    .and_then(|p| RevocationList::decode(p).ok())
            })
            .is_some_and(|l| l.revoked.iter().any(|r| r.0 == cert.serial));
        Ok(Some((cert, revoked)))
    }
}
