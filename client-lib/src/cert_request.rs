//! Device-certificate requests (手机证书授权): signed by the enterprise master e-key,
//! tag `exlic/cert-request/v1`. Submitted requests are immutable ("提交后信息将不能做更改").

use crate::encoding::{DecodeError, Reader, Writer};
use crate::signed::{self, SignedError};

/// Signature tag.
pub const TAG: &[u8] = b"exlic/cert-request/v1";

/// The manual's request types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// 新授权 (新办 in the app): a first certificate for a device.
    New = 1,
    /// 手机号码变更: the old number's certificate is revoked as the new one is issued.
    NumberChange = 2,
    /// 手机变更: adds a certificate for another device.
    DeviceChange = 3,
    /// 续签: a fresh validity period for the same device.
    Renew = 4,
    /// 注销: revoke the device's certificate.
    Revoke = 5,
}

impl RequestKind {
    /// The manual's name.
    pub fn zh(self) -> &'static str {
        match self {
            Self::New => "新授权",
            Self::NumberChange => "手机号码变更",
            Self::DeviceChange => "手机变更",
            Self::Renew => "续签",
            Self::Revoke => "注销",
        }
    }
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::New,
            2 => Self::NumberChange,
            3 => Self::DeviceChange,
            4 => Self::Renew,
            5 => Self::Revoke,
            _ => return None,
        })
    }
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// What is asked.
    pub kind: RequestKind,
    /// The enterprise.
    pub enterprise_uscc: String,
    /// The device the certificate is for.
    pub device_key: [u8; 32],
    /// The (new) authorised mobile number.
    pub mobile: String,
    /// The number being replaced (手机号码变更), else empty.
    pub old_mobile: String,
    /// The enterprise's clock (informational).
    pub requested_at_ms: i64,
    /// Random; a request is accepted once.
    pub nonce: [u8; 16],
}

impl CertRequest {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .u8(self.kind as u8)
            .str(&self.enterprise_uscc)
            .fixed(&self.device_key)
            .str(&self.mobile)
            .str(&self.old_mobile)
            .i64(self.requested_at_ms)
            .fixed(&self.nonce);
        w.finish()
    }
    /// Decodes.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let kind = RequestKind::from_u8(r.u8("kind")?).ok_or(DecodeError::Invalid {
            field: "kind",
            reason: "unknown",
        })?;
        let out = Self {
            kind,
            enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            device_key: r.fixed("device_key")?,
            mobile: r.str("mobile", 32)?.to_owned(),
            old_mobile: r.str("old_mobile", 32)?.to_owned(),
            requested_at_ms: r.i64("requested_at_ms")?,
            nonce: r.fixed("nonce")?,
        };
        r.end()?;
        Ok(out)
    }
    /// Signs with the master e-key.
    pub fn sign(&self, master: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(TAG, &self.encode(), master)
    }
    /// Checks a signed request against the master public key.
    pub fn open(carried: &[u8], master: &[u8; 32]) -> Result<Self, SignedError> {
        Ok(Self::decode(signed::open(TAG, carried, master)?)?)
    }
}

/// A Chinese mobile number: 11 digits starting with 1.
pub fn valid_mobile(m: &str) -> bool {
    m.len() == 11 && m.starts_with('1') && m.bytes().all(|b| b.is_ascii_digit())
}
