//! The enterprise side of 手机证书授权: requests signed with the PIN-protected e-key and
//! queued for the authority, the device certificate and revocation list it sends back, and
//! the certificate check behind V04.

use ed25519_dalek::SigningKey;
use exlic_client::cert_request::{CertRequest, RequestKind, valid_mobile};
use exlic_client::certificate::{DeviceCertificate, RevocationList};

use super::{EnterpriseError, Result};
use crate::ekey;
use crate::store::cert_requests::{self, RequestRow, RequestStatus};
use crate::store::{StoreError, meta_get, meta_put};
use crate::upstream::Link;

const META_CERT: &str = "cert.device";
const META_CRL: &str = "cert.crl";

/// 手机证书授权 on this device: requests signed with the e-key, the answers, this device's certificate.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub(super) device: std::sync::Arc<super::device::Device>,
}

impl Certificates {
    /// Signs a certificate request with the e-key (PIN) and queues it for the authority.
    /// Wrong PINs count towards the e-key's lockout.
    pub fn request(
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
        if self.requests()?.iter().any(|r| {
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
        ekey::unlock(&self.device.store, pin).map_err(|e| EnterpriseError::BadInput {
            field: "pin".into(),
            message: e.to_string(),
        })
    }

    /// The manual's two steps: signs the request with the e-key (PIN) now and keeps it as
    /// 请求待提交 until [`Certificates::submit_request`] (提交/确认提交).
    pub fn prepare_request(
        &self,
        kind: RequestKind,
        mobile: &str,
        old_mobile: &str,
        pin: &str,
        device: Option<[u8; 32]>,
    ) -> Result<RequestRow> {
        let master = self.unlock_for_request(mobile, old_mobile, kind, pin)?;
        self.queue_request_as(
            kind,
            mobile,
            old_mobile,
            &master,
            device,
            RequestStatus::PendingSubmit,
        )
    }

    /// 提交/确认提交: a 请求待提交 request goes out on the next sync.
    pub fn submit_request(&self, seq: u64) -> Result<()> {
        let current = self
            .requests()?
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
        self.device.store.changed().notify_one();
        Ok(())
    }

    fn set_request_status(&self, seq: u64, status: RequestStatus) -> Result<()> {
        let w = self.device.store.write()?;
        cert_requests::set_status(&w, seq, status, None)?;
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
        let now = self.device.clock.now_ms();
        let req = CertRequest {
            kind,
            enterprise_uscc: self.device.identity.enterprise_uscc.clone(),
            device_key: device.unwrap_or_else(|| self.device.public_key()),
            mobile: mobile.into(),
            old_mobile: old_mobile.into(),
            requested_at_ms: now,
            nonce,
        };
        let signed = req.sign(master);
        let w = self.device.store.write()?;
        let row = cert_requests::append(
            &w,
            RequestRow {
                seq: 0,
                kind,
                mobile: mobile.into(),
                old_mobile: old_mobile.into(),
                created_ms: now,
                status,
                outcome: String::new(),
                signed,
            },
        )?;
        w.commit()?;
        self.device.store.changed().notify_one();
        Ok(row)
    }

    /// The request history, oldest first.
    pub fn requests(&self) -> Result<Vec<RequestRow>> {
        Ok(cert_requests::all(&self.device.store.read()?)?)
    }

    /// Records the authority's answer to request `seq`: the certificate (制作证书: installed
    /// after it verifies under the authority key) and the revocation list, or a refusal.
    pub fn finish_request(
        &self,
        seq: u64,
        answer: std::result::Result<(Vec<u8>, Vec<u8>), String>,
        authority_key: &[u8; 32],
    ) -> Result<()> {
        let w = self.device.store.write()?;
        let (status, outcome) = match &answer {
            Ok((cert, crl)) => {
                // A certificate for another device (手机变更 of a phone) is that device's
                // to install; this node keeps only the revocation list.
                self.store_certificate(&w, &Link::Home, cert, crl, authority_key, false)?;
                (RequestStatus::Issued, String::new())
            }
            Err(reason) => (RequestStatus::Refused, reason.clone()),
        };
        cert_requests::set_status(&w, seq, status, Some(&outcome))?;
        w.commit()?;
        Ok(())
    }

    /// The newest request the e-key signed for a certificate of this device that the home
    /// office carried out (新授权, 续签 or 手机变更), to show another office this
    /// enterprise enrolled with: the e-key's authority is the same, and each office
    /// carries a request out once.
    pub fn authorisation(&self) -> Result<Option<Vec<u8>>> {
        let mine = self.device.public_key();
        Ok(self
            .requests()?
            .into_iter()
            .rev()
            .filter(|r| r.status == RequestStatus::Issued)
            .find(|r| {
                exlic_client::signed::peek(&r.signed)
                    .ok()
                    .and_then(|p| CertRequest::decode(p).ok())
                    .is_some_and(|c| {
                        c.device_key == mine
                            && matches!(
                                c.kind,
                                RequestKind::New | RequestKind::Renew | RequestKind::DeviceChange
                            )
                    })
            })
            .map(|r| r.signed))
    }

    /// 制作证书: installs this device's certificate as office `link` sent it.
    pub fn install(
        &self,
        link: &Link,
        cert: &[u8],
        crl: &[u8],
        authority_key: &[u8; 32],
    ) -> Result<()> {
        let w = self.device.store.write()?;
        self.store_certificate(&w, link, cert, crl, authority_key, true)?;
        w.commit()?;
        Ok(())
    }

    /// Verifies and keeps a certificate (if it is this device's) and a revocation list.
    /// With `must_be_ours`, a certificate for another device is an error.
    fn store_certificate(
        &self,
        w: &crate::store::WriteBatch<'_>,
        link: &Link,
        cert: &[u8],
        crl: &[u8],
        authority_key: &[u8; 32],
        must_be_ours: bool,
    ) -> Result<()> {
        let now = self.device.clock.now_ms();
        let mut trust = self.device.authority_trust(authority_key)?;
        let bad = |field: &str, e: &dyn std::fmt::Display| EnterpriseError::BadInput {
            field: field.into(),
            message: e.to_string(),
        };
        if !cert.is_empty() {
            let c = trust
                .certificate(cert, now)
                .map_err(|e| bad("certificate", &e))?;
            if c.device_key == self.device.public_key() {
                meta_put(w, &link.key(META_CERT), cert)?;
            } else if must_be_ours {
                return Err(bad("certificate", &"issued for another device"));
            }
        }
        trust
            .revocations(crl, now)
            .map_err(|e| bad("revocations", &e))?;
        meta_put(w, &link.key(META_CRL), crl)?;
        Ok(())
    }

    /// This device's certificate (查看本机证书) and whether it is revoked per the newest list.
    /// This device's signed certificate and the newest signed revocation list it holds, as
    /// the office issued them (for a third party checking a seal to the office key).
    #[allow(clippy::type_complexity)] // two optional files, named in the doc line
    pub fn signed_files(&self) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>)> {
        let t = self.device.store.read()?;
        Ok((meta_get(&t, META_CERT)?, meta_get(&t, META_CRL)?))
    }

    pub fn device_certificate(&self) -> Result<Option<(DeviceCertificate, bool)>> {
        self.device_certificate_at(&Link::Home)
    }

    /// This device's certificate from office `link`, and whether that office revoked it.
    pub fn device_certificate_at(&self, link: &Link) -> Result<Option<(DeviceCertificate, bool)>> {
        let t = self.device.store.read()?;
        let Some(bytes) = meta_get(&t, &link.key(META_CERT))? else {
            return Ok(None);
        };
        let cert = exlic_client::signed::peek(&bytes)
            .ok()
            .and_then(|p| DeviceCertificate::decode(p).ok())
            .ok_or(StoreError::Record("certificate"))?;
        let revoked = meta_get(&t, &link.key(META_CRL))?
            .and_then(|b| {
                exlic_client::signed::peek(&b)
                    .ok()
                    .and_then(|p| RevocationList::decode(p).ok())
            })
            .is_some_and(|l| l.revoked.iter().any(|r| r.0 == cert.serial));
        Ok(Some((cert, revoked)))
    }
}
