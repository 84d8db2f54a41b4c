//! Device certificates, revocation lists and authority key rollover, with offline
//! verification of a seal as the authority sees it at its own receipt time.
//!
//! * [`DeviceCertificate`] (`exlic/device-cert/v1`): the authority certifies that a device
//!   key seals for an enterprise between two instants.
//! * [`RevocationList`] (`exlic/revocations/v1`): versioned, with its own expiry.
//! * [`KeyRecord`] (`exlic/authority-key/v1`): a new authority key certified by the previous
//!   one, with the instant the previous one retires. A [`Trust`] is built from the first
//!   key and the chain of records, so objects signed before a rollover still verify and a
//!   retired key's signatures made after its retirement do not.
//!
//! Every object names the authority key that signed it by [`key_id`]. Verification takes
//! the *authority's* clock (the receipt time): a device's clock is never trusted.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::seal::{SealError, SealPayload, SealedSubmission, sha256};
use crate::signed::{self, SignedError};

/// Tag of device certificates.
pub const CERT_TAG: &[u8] = b"exlic/device-cert/v1";
/// Tag of revocation lists.
pub const CRL_TAG: &[u8] = b"exlic/revocations/v1";
/// Tag of authority key records.
pub const KEY_TAG: &[u8] = b"exlic/authority-key/v1";

/// The id of an authority key: the first 8 bytes of SHA-256 of the public key.
pub fn key_id(public: &[u8; 32]) -> [u8; 8] {
    let h = sha256(public);
    let mut id = [0u8; 8];
    id.copy_from_slice(&h[..8]);
    id
}

/// A device certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    /// Serial, unique per authority.
    pub serial: u64,
    /// The enterprise the device seals for.
    pub enterprise_uscc: String,
    /// The device's public key.
    pub device_key: [u8; 32],
    /// The authorised mobile number.
    pub mobile: String,
    /// Valid from (authority clock, Unix ms).
    pub not_before_ms: i64,
    /// Valid until, exclusive.
    pub not_after_ms: i64,
    /// The signing authority key.
    pub key_id: [u8; 8],
}

/// A revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// Increases with every list.
    pub version: u64,
    /// Issued at (authority clock).
    pub issued_at_ms: i64,
    /// Not to be relied on after this.
    pub next_update_ms: i64,
    /// Revoked serials with their revocation instants, ascending by serial.
    pub revoked: Vec<(u64, i64)>,
    /// The signing authority key.
    pub key_id: [u8; 8],
}

/// A new authority key certified by the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The new key.
    pub new_key: [u8; 32],
    /// When the new key starts and the previous one retires.
    pub effective_ms: i64,
    /// The previous key, which signs this record.
    pub key_id: [u8; 8],
}

/// Why a certificate, list or seal is not trusted. Each failure has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The seal itself does not verify.
    #[error("seal: {0}")]
    Seal(#[from] SealError),
    /// The certificate is malformed.
    #[error("certificate malformed: {0}")]
    CertMalformed(DecodeError),
    /// The certificate names an authority key that is not trusted.
    #[error("certificate signed by an unknown authority key")]
    CertUnknownKey,
    /// The certificate's signature does not verify.
    #[error("certificate signature does not verify")]
    CertSignature,
    /// The certificate was issued after its signing key retired.
    #[error("certificate signed by a retired authority key")]
    CertKeyRetired,
    /// Not yet valid at the receipt time.
    #[error("certificate not yet valid at receipt time")]
    CertNotYetValid,
    /// Expired at the receipt time.
    #[error("certificate expired at receipt time")]
    CertExpired,
    /// The certificate is for another device key than the seal's.
    #[error("certificate is for another device")]
    CertWrongDevice,
    /// The certificate is for another enterprise than the seal's.
    #[error("certificate is for another enterprise")]
    CertWrongEnterprise,
    /// The revocation list is malformed.
    #[error("revocation list malformed: {0}")]
    CrlMalformed(DecodeError),
    /// The revocation list names an unknown authority key.
    #[error("revocation list signed by an unknown authority key")]
    CrlUnknownKey,
    /// The revocation list's signature does not verify.
    #[error("revocation list signature does not verify")]
    CrlSignature,
    /// The revocation list is past its next update at the receipt time.
    #[error("revocation list expired at receipt time")]
    CrlExpired,
    /// The revocation list is older than one already seen.
    #[error("revocation list older than version {0} already seen")]
    CrlRolledBack(u64),
    /// The certificate was revoked at or before the receipt time.
    #[error("certificate {0} was revoked")]
    Revoked(u64),
    /// The seal names another certificate than the one it is checked under.
    #[error("the seal was made under certificate {sealed}, not {given}")]
    OtherCertificate {
        /// The serial the seal names.
        sealed: u64,
        /// The serial it was checked under.
        given: u64,
    },
    /// A key record does not verify against the chain.
    #[error("authority key record does not verify")]
    KeyRecord,
}

fn decode_err(e: SignedError) -> DecodeError {
    match e {
        SignedError::Decode(d) => d,
        _ => DecodeError::Invalid {
            field: "signature",
            reason: "bad",
        },
    }
}

impl DeviceCertificate {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .u64(self.serial)
            .str(&self.enterprise_uscc)
            .fixed(&self.device_key)
            .str(&self.mobile)
            .i64(self.not_before_ms)
            .i64(self.not_after_ms)
            .fixed(&self.key_id);
        w.finish()
    }
    /// Decodes.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let c = Self {
            serial: r.u64("serial")?,
            enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            device_key: r.fixed("device_key")?,
            mobile: r.str("mobile", 32)?.to_owned(),
            not_before_ms: r.i64("not_before_ms")?,
            not_after_ms: r.i64("not_after_ms")?,
            key_id: r.fixed("key_id")?,
        };
        r.end()?;
        Ok(c)
    }
    /// Signs with the authority key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(CERT_TAG, &self.encode(), key)
    }
}

impl RevocationList {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .u64(self.version)
            .i64(self.issued_at_ms)
            .i64(self.next_update_ms)
            .count(self.revoked.len());
        for (s, at) in &self.revoked {
            w.u64(*s).i64(*at);
        }
        w.fixed(&self.key_id);
        w.finish()
    }
    /// Decodes (serials must ascend).
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let version = r.u64("version")?;
        let issued_at_ms = r.i64("issued_at_ms")?;
        let next_update_ms = r.i64("next_update_ms")?;
        let n = r.count("revoked", 1_000_000, 16)?;
        let mut revoked = Vec::with_capacity(n);
        for _ in 0..n {
            revoked.push((r.u64("revoked.serial")?, r.i64("revoked.at")?));
        }
        if !revoked.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(DecodeError::Invalid {
                field: "revoked",
                reason: "not sorted and unique",
            });
        }
        let key_id = r.fixed("key_id")?;
        r.end()?;
        Ok(Self {
            version,
            issued_at_ms,
            next_update_ms,
            revoked,
            key_id,
        })
    }
    /// Signs with the authority key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(CRL_TAG, &self.encode(), key)
    }
}

impl KeyRecord {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .fixed(&self.new_key)
            .i64(self.effective_ms)
            .fixed(&self.key_id);
        w.finish()
    }
    /// Decodes.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let k = Self {
            new_key: r.fixed("new_key")?,
            effective_ms: r.i64("effective_ms")?,
            key_id: r.fixed("key_id")?,
        };
        r.end()?;
        Ok(k)
    }
    /// Signs with the previous (retiring) key.
    pub fn sign(&self, previous: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(KEY_TAG, &self.encode(), previous)
    }
}

/// A trusted authority key and the time span it may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: [u8; 32],
    /// Valid from, Unix ms.
    pub from_ms: i64,
    /// Retired at (exclusive), Unix ms.
    pub until_ms: i64,
}

/// What a verifier trusts: the authority's keys over time, and the newest revocation list
/// version it has seen (anti-rollback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    keys: Vec<TrustedKey>,
    /// Highest revocation list version seen.
    pub crl_high_water: u64,
}

impl Trust {
    /// Trust in one authority key, valid from the beginning.
    pub fn new(root: [u8; 32]) -> Self {
        Self {
            keys: vec![TrustedKey {
                key: root,
                from_ms: i64::MIN,
                until_ms: i64::MAX,
            }],
            crl_high_water: 0,
        }
    }

    /// Follows a rollover record signed by the current newest key.
    pub fn roll_over(&mut self, record: &[u8]) -> Result<(), TrustError> {
        let last = self.keys.last().expect("at least the root").clone();
        let payload =
            signed::open(KEY_TAG, record, &last.key).map_err(|_| TrustError::KeyRecord)?;
        let r = KeyRecord::decode(payload).map_err(|_| TrustError::KeyRecord)?;
        if r.key_id != key_id(&last.key) || r.effective_ms <= last.from_ms {
            return Err(TrustError::KeyRecord);
        }
        self.keys.last_mut().expect("root").until_ms = r.effective_ms;
        self.keys.push(TrustedKey {
            key: r.new_key,
            from_ms: r.effective_ms,
            until_ms: i64::MAX,
        });
        Ok(())
    }

    /// Every trusted key, oldest first.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Whether `key` was the authority's key at `at_ms` (within its span in the chain).
    pub fn valid_at(&self, key: &[u8; 32], at_ms: i64) -> bool {
        self.keys
            .iter()
            .any(|k| &k.key == key && k.from_ms <= at_ms && at_ms < k.until_ms)
    }

    /// Follows every record of a chain, oldest first, stopping at the first that does not
    /// follow from the keys so far; returns how many were followed. A verifier that learnt
    /// the chain from an untrusted carrier (a synced document) is safe: a record counts
    /// only if the newest trusted key signed it.
    pub fn follow(&mut self, records: &[Vec<u8>]) -> usize {
        records
            .iter()
            .take_while(|r| self.roll_over(r).is_ok())
            .count()
    }

    /// The newest trusted key.
    pub fn current(&self) -> [u8; 32] {
        self.keys.last().expect("at least the root").key
    }

    /// The trusted key with this id.
    pub fn key(&self, id: &[u8; 8]) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| key_id(&k.key) == *id)
    }

    /// Checks a signed certificate; `at_ms` is the authority's clock.
    pub fn certificate(&self, carried: &[u8], at_ms: i64) -> Result<DeviceCertificate, TrustError> {
        let claimed = DeviceCertificate::decode(
            signed::peek(carried).map_err(|e| TrustError::CertMalformed(decode_err(e)))?,
        )
        .map_err(TrustError::CertMalformed)?;
        let k = self
            .key(&claimed.key_id)
            .ok_or(TrustError::CertUnknownKey)?;
        signed::open(CERT_TAG, carried, &k.key).map_err(|_| TrustError::CertSignature)?;
        if claimed.not_before_ms < k.from_ms || claimed.not_before_ms >= k.until_ms {
            return Err(TrustError::CertKeyRetired);
        }
        if at_ms < claimed.not_before_ms {
            return Err(TrustError::CertNotYetValid);
        }
        if at_ms >= claimed.not_after_ms {
            return Err(TrustError::CertExpired);
        }
        Ok(claimed)
    }

    /// Checks a signed revocation list at `at_ms` and records its version.
    pub fn revocations(
        &mut self,
        carried: &[u8],
        at_ms: i64,
    ) -> Result<RevocationList, TrustError> {
        let claimed = RevocationList::decode(
            signed::peek(carried).map_err(|e| TrustError::CrlMalformed(decode_err(e)))?,
        )
        .map_err(TrustError::CrlMalformed)?;
        let k = self.key(&claimed.key_id).ok_or(TrustError::CrlUnknownKey)?;
        signed::open(CRL_TAG, carried, &k.key).map_err(|_| TrustError::CrlSignature)?;
        if claimed.issued_at_ms < k.from_ms || claimed.issued_at_ms >= k.until_ms {
            return Err(TrustError::CrlSignature);
        }
        if at_ms >= claimed.next_update_ms {
            return Err(TrustError::CrlExpired);
        }
        if claimed.version < self.crl_high_water {
            return Err(TrustError::CrlRolledBack(self.crl_high_water));
        }
        self.crl_high_water = claimed.version;
        Ok(claimed)
    }

    /// Verifies a seal as the authority does at `receipt_ms`: the seal under the certified
    /// device key, the certificate, and the revocation list.
    pub fn verify_seal(
        &mut self,
        submission: &SealedSubmission,
        certificate: &[u8],
        revocations: &[u8],
        receipt_ms: i64,
    ) -> Result<SealPayload, TrustError> {
        let cert = self.certificate(certificate, receipt_ms)?;
        let crl = self.revocations(revocations, receipt_ms)?;
        Self::seal_under(submission, &cert, receipt_ms, |serial| {
            crl.revoked
                .binary_search_by_key(&serial, |r| r.0)
                .ok()
                .map(|i| crl.revoked[i].1)
        })
    }

    /// Verifies a seal at `receipt_ms` where the revocation state comes from the
    /// verifier's own records (the authority's database) rather than a carried list:
    /// `revoked_at(serial)` is when that certificate was revoked, if it was.
    pub fn verify_seal_with(
        &self,
        submission: &SealedSubmission,
        certificate: &[u8],
        receipt_ms: i64,
        revoked_at: impl Fn(u64) -> Option<i64>,
    ) -> Result<SealPayload, TrustError> {
        let cert = self.certificate(certificate, receipt_ms)?;
        Self::seal_under(submission, &cert, receipt_ms, revoked_at)
    }

    fn seal_under(
        submission: &SealedSubmission,
        cert: &DeviceCertificate,
        receipt_ms: i64,
        revoked_at: impl Fn(u64) -> Option<i64>,
    ) -> Result<SealPayload, TrustError> {
        let payload = submission
            .verify_signature(&cert.device_key)
            .map_err(|e| match e {
                SealError::WrongKey => TrustError::CertWrongDevice,
                other => TrustError::Seal(other),
            })?;
        if payload.enterprise_uscc != cert.enterprise_uscc {
            return Err(TrustError::CertWrongEnterprise);
        }
        if let Some(sealed) = payload.certificate_serial
            && sealed != cert.serial
        {
            return Err(TrustError::OtherCertificate {
                sealed,
                given: cert.serial,
            });
        }
        if revoked_at(cert.serial).is_some_and(|at| at <= receipt_ms) {
            return Err(TrustError::Revoked(cert.serial));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod vectors {
    //! Committed test vectors for certificates, revocation lists, key records, receipts,
    //! refusals, reference releases, standing statements, e-licences, standing feed pages,
    //! usage entries, customs invites and the licence's QR texts
    //! (`vectors/signed-objects-v1.json`); they must stay
    //! byte-identical.
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::ids::DocId;

    #[test]
    fn signed_object_vectors_are_stable() {
        let authority = SigningKey::from_bytes(&[1; 32]);
        let next = SigningKey::from_bytes(&[2; 32]);
        let device = SigningKey::from_bytes(&[3; 32]);
        let kid = key_id(&authority.verifying_key().to_bytes());
        let cert = DeviceCertificate {
            serial: 1,
            enterprise_uscc: "913502000728319549".into(),
            device_key: device.verifying_key().to_bytes(),
            mobile: "13800138000".into(),
            not_before_ms: 1_764_000_000_000,
            not_after_ms: 1_795_536_000_000,
            key_id: kid,
        }
        .sign(&authority);
        let crl = RevocationList {
            version: 2,
            issued_at_ms: 1_764_000_000_000,
            next_update_ms: 1_764_604_800_000,
            revoked: vec![(7, 1_763_000_000_000)],
            key_id: kid,
        }
        .sign(&authority);
        let rollover = KeyRecord {
            new_key: next.verifying_key().to_bytes(),
            effective_ms: 1_770_000_000_000,
            key_id: kid,
        }
        .sign(&authority);
        let receipt = crate::receipt::Receipt {
            seal_hash: [9; 32],
            application_id: DocId([4; 16]),
            application_no: "269999400000560600000".into(),
            revision: 1,
            enterprise_uscc: "913502000728319549".into(),
            received_at_ms: 1_764_000_000_000,
            authority_key: authority.verifying_key().to_bytes(),
        }
        .sign(&authority);
        let refusal = crate::refusal::Refusal {
            seal_hash: [9; 32],
            application_id: DocId([4; 16]),
            application_no: "269999400000560600000".into(),
            revision: 1,
            enterprise_uscc: "913502000728319549".into(),
            refused_at_ms: 1_764_000_000_000,
            findings: vec![crate::error::FieldError {
                field: "commodity_code".into(),
                rule: "V11".into(),
                message: "2918140099 is not in the 2026 出口许可证管理货物目录".into(),
                severity: crate::error::Severity::Error,
            }],
            authority_key: authority.verifying_key().to_bytes(),
        }
        .sign(&authority);
        let reference = crate::reference_release::ReferenceRelease {
            number: 2,
            published_at_ms: 1_764_000_000_000,
            note: "2027 目录".into(),
            files: vec![
                (
                    "catalogue-2027.json".into(),
                    r#"{"year":2027,"source":"公告","entries":[]}"#.into(),
                ),
                ("codes.json".into(), "{}".into()),
            ],
            authority_key: authority.verifying_key().to_bytes(),
        }
        .sign(&authority);
        let standing = crate::standing::Standing {
            licence_no: "26AA000001".into(),
            state: crate::standing::State::Deleted,
            since_ms: 1_764_000_000_000,
            as_of_ms: 1_764_000_000_000,
            authority_key: authority.verifying_key().to_bytes(),
        }
        .sign(&authority);
        let licence = {
            let mut l = crate::sample::licence(); // issued 2026-11-27
            l.issued_at_ms = 1_795_760_000_000;
            l.key_id = kid;
            l.sign(&authority)
        };
        let standing_feed = crate::standing::FeedPage {
            authority_key: authority.verifying_key().to_bytes(),
            from: 0,
            to: 2,
            as_of_ms: 1_764_000_000_000,
            entries: vec![
                crate::standing::FeedEntry {
                    licence_no: "26AA000001".into(),
                    state: crate::standing::State::UsedUp,
                    since_ms: 1_763_999_000_000,
                },
                crate::standing::FeedEntry {
                    licence_no: "26AA000002".into(),
                    state: crate::standing::State::Valid,
                    since_ms: 1_763_000_000_000,
                },
            ],
        }
        .sign(&authority);
        let usage_entry = crate::usage::UsageEntry {
            customs_key: device.verifying_key().to_bytes(),
            district: "3700".into(),
            seq: 1,
            licence_no: "26AA000001".into(),
            declaration_no: "370020261000000001".into(),
            item: 1,
            step: crate::usage::Step::Reserve,
            quantity: "24.5".into(),
            at_ms: 1_764_000_000_000,
        }
        .sign(&device);
        let customs_invite = crate::invite::CustomsInvite {
            authority_key: authority.verifying_key().to_bytes(),
            addrs: vec!["/ip4/127.0.0.1/tcp/7300".into()],
            district: "3700".into(),
            district_name: "厦门关区".into(),
            secret: [5; 32],
            expires_at_ms: 1_765_000_000_000,
            agency_code: "AA".into(),
        }
        .to_token(&authority);
        let qr = {
            let root = Trust::new(authority.verifying_key().to_bytes());
            let l = crate::licence::Licence::verify(&licence, &root).unwrap();
            (
                crate::licence_qr::full_text(&licence),
                crate::licence_qr::ref_text(&l, &licence),
            )
        };
        let json = serde_json::json!({
            "description": "ed25519 seeds: authority 0x01*32, next authority 0x02*32, device 0x03*32; carried form = u32 len || payload || 64-byte signature over TAG || 0x00 || payload",
            "authority_public_key": hex::encode(authority.verifying_key().to_bytes()),
            "authority_key_id": hex::encode(kid),
            "device_certificate": hex::encode(&cert),
            "revocation_list": hex::encode(&crl),
            "key_rollover": hex::encode(&rollover),
            "receipt": hex::encode(&receipt),
            "refusal": hex::encode(&refusal),
            "reference_release": hex::encode(&reference),
            "standing": hex::encode(&standing),
            "licence": hex::encode(&licence),
            "standing_feed": hex::encode(&standing_feed),
            "usage_entry (signed by the device seed 0x03*32 as a customs node)": hex::encode(&usage_entry),
            "customs_invite": customs_invite,
            "licence_qr_full (the QR text of `licence`, whole)": qr.0,
            "licence_qr_ref (the QR text of `licence`, by reference)": qr.1,
        });
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/vectors/signed-objects-v1.json"
        );
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        if std::env::var_os("EXLIC_WRITE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(path)
            .expect("vectors/signed-objects-v1.json (EXLIC_WRITE_VECTORS=1 writes it)");
        assert_eq!(
            committed, text,
            "a signed format changed; that breaks every verifier"
        );
        // And they verify as documented.
        let mut t = Trust::new(authority.verifying_key().to_bytes());
        assert_eq!(t.certificate(&cert, 1_765_000_000_000).unwrap().serial, 1);
        assert_eq!(t.revocations(&crl, 1_764_000_000_001).unwrap().version, 2);
        t.roll_over(&rollover).unwrap();
        crate::receipt::Receipt::verify(&receipt, &authority.verifying_key().to_bytes()).unwrap();
        let root = Trust::new(authority.verifying_key().to_bytes());
        crate::refusal::Refusal::verify_trusted(&refusal, &root).unwrap();
        let r =
            crate::reference_release::ReferenceRelease::verify_trusted(&reference, &root).unwrap();
        assert_eq!(r.number, 2);
        let st = crate::standing::Standing::verify_trusted(&standing, &root).unwrap();
        assert_eq!(st.state, crate::standing::State::Deleted);
        let l = crate::licence::Licence::verify(&licence, &root).unwrap();
        assert_eq!(l.licence_no, "26AA000001");
        use crate::licence_qr::QrPayload;
        assert_eq!(
            QrPayload::parse(&qr.0),
            Ok(QrPayload::Full(licence.clone()))
        );
        assert!(QrPayload::parse(&qr.1).unwrap().matches(&licence));
        let p = crate::standing::FeedPage::verify_trusted(&standing_feed, &root).unwrap();
        assert_eq!(p.entries.len(), 2);
        let u = crate::usage::UsageEntry::verify(&usage_entry, &device.verifying_key().to_bytes())
            .unwrap();
        assert_eq!(u.step, crate::usage::Step::Reserve);
        let i = crate::invite::CustomsInvite::from_token(&customs_invite).unwrap();
        assert_eq!(i.district, "3700");
    }
}
